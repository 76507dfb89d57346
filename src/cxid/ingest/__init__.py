"""Source readers: one per source kind, each turning a file in its native format into
a Touchpoints frame and a Rejected frame (see :mod:`cxid.schema`).

``check_source`` validates a source before any work (file, kind, mapping, header) so
a bad configuration stops a run at once; ``read_source`` reads it. Record-level
problems never raise: they go to ``rejected`` with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cxid.errors import ConfigError, IngestError
from cxid.ingest import beacon, crm, email, esp, tabular, touchpoints, twitter, web
from cxid.ingest._common import ColumnMapping
from cxid.schema import ReadResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderSpec:
    """One source kind: its reader, its pre-flight check and the formats it takes."""

    kind: str
    read: Callable[..., ReadResult]
    check: Callable[..., None]
    formats: str
    mapping: str


READERS: dict[str, ReaderSpec] = {
    "web": ReaderSpec(
        "web", web.read, web.check, "Segment-spec JSON Lines (.jsonl, .jsonl.gz)",
        "canonical column -> dotted JSON path",
    ),
    "beacon": ReaderSpec(
        "beacon", beacon.read, beacon.check, "beacon sightings CSV",
        "expected header name or canonical column -> file column",
    ),
    "twitter": ReaderSpec(
        "twitter", twitter.read, twitter.check,
        'Twitter API v2 users: {"data": [...]} JSON or JSON Lines',
        "canonical column -> dotted JSON path",
    ),
    "email": ReaderSpec(
        "email", email.read, email.check, "mbox of customer e-mails (.mbox, .gz)", "none",
    ),
    "esp": ReaderSpec(
        "esp", esp.read, esp.check, "ESP audience export CSV (Mailchimp headers)",
        "expected header name or canonical column -> file column",
    ),
    "crm": ReaderSpec(
        "crm", crm.read, crm.check, "CRM customers, CSV or parquet",
        "expected header name or canonical column -> file column",
    ),
    "tabular": ReaderSpec(
        "tabular", tabular.read, tabular.check, "any CSV or parquet with a mapping",
        "canonical column or x_ extra -> file column(s) (required)",
    ),
    "touchpoints": ReaderSpec(
        "touchpoints", touchpoints.read, touchpoints.check,
        "cxid's normalised touchpoints: a parquet file or a folder of them", "none",
    ),
}

#: Kinds whose reader yields normalised touchpoints already: never normalised again.
NORMALISED_KINDS = ("touchpoints",)
#: Kinds that also take a folder (of parquet files) as their path.
FOLDER_KINDS = ("touchpoints",)


def check_source(
    kind: str,
    path: str | Path,
    *,
    source: str | None = None,
    mapping: Mapping[str, str | list[str]] | None = None,
    id_column: str | None = None,
) -> None:
    """Validate a source before any work: the kind is known (:class:`ConfigError`), the
    file exists and is readable (:class:`IngestError`), and the mapping and header
    fit the reader (one :class:`ConfigError` listing every unknown column)."""
    name = source or kind
    if kind not in READERS:
        raise ConfigError(
            f"source {name!r}: unknown kind {kind!r}; expected one of {', '.join(READERS)}"
        )
    file = Path(path)
    if not file.exists():
        raise IngestError("file not found", source=name, file=str(file))
    folder = file.is_dir() and kind in FOLDER_KINDS
    if not file.is_file() and not folder:
        raise IngestError("not a regular file", source=name, file=str(file))
    try:
        if not folder:
            with open(file, "rb"):
                pass
    except OSError as exc:
        raise IngestError(f"file is not readable: {exc.strerror}", source=name,
                          file=str(file)) from exc
    READERS[kind].check(file, source=name, mapping=mapping, id_column=id_column)


def read_source(
    kind: str,
    path: str | Path,
    *,
    source: str | None = None,
    mapping: Mapping[str, str | list[str]] | None = None,
    id_column: str | None = None,
) -> ReadResult:
    """Read one source file of ``kind`` into touchpoints and rejected records.

    ``source`` names the source in the output (default: the kind); ``mapping`` and
    ``id_column`` adapt the reader to the file (see each reader's module).
    """
    check_source(kind, path, source=source, mapping=mapping, id_column=id_column)
    name = source or kind
    log.info("%s: reading %s as %s", name, path, kind)
    return READERS[kind].read(Path(path), source=name, mapping=mapping, id_column=id_column)


__all__ = ["FOLDER_KINDS", "NORMALISED_KINDS", "READERS", "ColumnMapping", "ReaderSpec",
           "check_source", "read_source"]
