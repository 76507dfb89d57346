"""Web events: a Segment-spec event stream as JSON Lines (``.jsonl`` or ``.jsonl.gz``).

Each identify/track/page/screen call is one touchpoint: the anonymous cookie id, the
account id once the visitor logged in, and whatever traits the call carried. Traits
sent at the top level win over ``context.traits``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from cxid.ingest._common import (
    ColumnMapping,
    as_utf8,
    finish,
    flag,
    flag_timestamps,
    json_paths,
    new_reasons,
    read_bytes,
    read_json_lines,
)
from cxid.schema import ReadResult

log = logging.getLogger(__name__)

#: Segment call types that describe a visitor.
EVENT_TYPES = ("identify", "track", "page", "screen")


def _traits(field: str) -> tuple[str, ...]:
    return (f"traits.{field}", f"context.traits.{field}")


#: Canonical column -> dotted paths tried in order (first non-empty wins).
DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "record_id": ("messageId",),
    "_type": ("type",),
    "cookie_id": ("anonymousId",),
    "account_id": ("userId",),
    "observed_at": ("timestamp", "originalTimestamp", "receivedAt"),
    "email": _traits("email"),
    "first_name": _traits("firstName"),
    "last_name": _traits("lastName"),
    "full_name": _traits("name"),
    "phone": _traits("phone"),
    "birth_date": _traits("birthday"),
    "street": _traits("address.street"),
    "city": _traits("address.city"),
    "postcode": _traits("address.postalCode"),
    "country": _traits("address.country"),
    "ip": ("context.ip",),
    "user_agent": ("context.userAgent",),
    "device_id": ("context.device.advertisingId",),
}


def check(
    path: Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> None:
    """Validate the mapping (canonical column -> dotted path) before reading."""
    json_paths(DEFAULT_PATHS, kind="web", source=source, mapping=mapping, id_column=id_column)


def read(
    path: str | Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> ReadResult:
    """Read a Segment JSON Lines file into touchpoints; bad lines go to rejected."""
    path = Path(path)
    file = str(path)
    paths = json_paths(
        DEFAULT_PATHS, kind="web", source=source, mapping=mapping, id_column=id_column
    )
    data = as_utf8(read_bytes(path, source=source), source=source, file=file)
    frame, early, lines = read_json_lines(data, paths, source=source, file=file)

    reasons = new_reasons(len(frame))
    event_type = frame.pop("_type")
    flag(reasons, event_type.isna(), "missing event type")
    flag(
        reasons,
        ~event_type.str.lower().isin(EVENT_TYPES).fillna(False),
        "unsupported event type",
        quoted=event_type,
    )
    flag(reasons, frame["record_id"].isna(), "missing messageId")
    flag(reasons, frame["cookie_id"].isna() & frame["account_id"].isna(),
         "missing anonymousId and userId")
    flag_timestamps(frame, reasons)

    line_of = frame["line"].to_numpy()

    def raw_of(positions: np.ndarray) -> list[str | None]:
        return [lines[line_of[p] - 1].decode("utf-8", "replace") for p in positions]

    return finish(frame, reasons, raw_of, source=source, file=file, early=early)


__all__ = ["DEFAULT_PATHS", "EVENT_TYPES", "check", "read"]
