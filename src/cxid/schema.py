"""Canonical frames that move between stages, and helpers that enforce them.

Every reader returns a *Touchpoints* frame (one row per input record) and a *Rejected*
frame (one row per input record that could not be used, with a reason). Normalisation
adds the ``*_norm`` columns listed in :data:`NORM_COLUMNS`. Later stages rely only on
the columns documented here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd
import pyarrow as pa

from cxid.errors import SchemaError

#: Arrow-backed pandas strings: the storage of touchpoint text columns (half the
#: memory of Python strings; hashing, comparisons and joins run in Arrow).
ARROW_STRING = pd.StringDtype("pyarrow")

#: Touchpoint columns produced by readers. All are nullable strings except
#: ``observed_at`` (UTC timestamp) and ``line`` (1-based line or data-row number).
TOUCHPOINT_COLUMNS: dict[str, str] = {
    "source": "name of the source the record came from (e.g. 'web', 'crm')",
    "record_id": "id of the record, unique within its source",
    "file": "path of the file the record was read from",
    "line": "1-based line (JSONL), message index (mbox) or data-row number (CSV)",
    "observed_at": "when the record was produced, UTC",
    # identifiers (deterministic evidence, see cxid.link.identifiers)
    "account_id": "brand account id: CRM customer_id, web userId, beacon app_user_id",
    "loyalty_id": "loyalty card number",
    "email": "e-mail address as found",
    "reply_to": "second e-mail address of the record (mbox Reply-To when it differs)",
    "phone": "phone number as found",
    "device_id": "mobile advertising id (IDFA/GAID)",
    "cookie_id": "web anonymous id (first-party cookie)",
    "ip": "IP address (weak evidence only, never a deterministic link)",
    "twitter_id": "Twitter user id",
    "twitter_handle": "Twitter @username",
    # people-level attributes (probabilistic evidence)
    "first_name": "given name as found",
    "last_name": "family name as found",
    "full_name": "name in one field when first/last are not separate",
    "birth_date": "date of birth as found (any common format)",
    "street": "street line of a postal address",
    "postcode": "postal code",
    "city": "city",
    "country": "country name or code",
    "address": "free-text address when not split into fields",
    "user_agent": "browser or app user agent",
    "store_id": "store where a beacon sighting happened",
}

#: Columns added by :func:`cxid.normalize.normalize_touchpoints`. Null means missing,
#: invalid or junk (``test@test.com``, ``0000000000``, the all-zeros advertising id).
NORM_COLUMNS: dict[str, str] = {
    "account_norm": "account id, trimmed",
    "loyalty_norm": "loyalty id, trimmed, upper case, no spaces",
    "email_norm": "e-mail lower case; gmail dots and +tags removed; junk to null",
    "reply_to_norm": "reply_to, same rules as email_norm",
    "email_local_norm": "local part of email_norm, letters and digits only",
    "phone_norm": "phone in E.164 (default region FR); junk to null",
    "device_norm": "advertising id lower case; all-zeros to null",
    "cookie_norm": "cookie id, trimmed",
    "ip_norm": "IP address, trimmed",
    "twitter_norm": "Twitter user id, trimmed",
    "handle_norm": "Twitter handle lower case, no '@'",
    "first_name_norm": "given name: lower case ASCII, titles removed, hyphens to spaces",
    "last_name_norm": "family name, same rules",
    "birth_date_norm": "date of birth as ISO YYYY-MM-DD",
    "street_norm": "street line, lower case ASCII, abbreviations expanded",
    "postcode_norm": "postal code, digits only for FR",
    "city_norm": "city, lower case ASCII, 'st' -> 'saint', arrondissements removed",
    "country_norm": "ISO 3166 alpha-2 country code",
}

#: Identifier kinds used for deterministic linking, mapped to their normalised columns.
IDENTIFIER_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("account_norm",),
    "loyalty": ("loyalty_norm",),
    "email": ("email_norm", "reply_to_norm"),
    "phone": ("phone_norm",),
    "device": ("device_norm",),
    "cookie": ("cookie_norm",),
    "twitter": ("twitter_norm",),
}

#: Prefix of extra attribute columns a tabular source may carry (e.g. ``x_soc_sec_id``);
#: they survive :func:`conform_touchpoints` and can be compared like any attribute.
EXTRA_PREFIX = "x_"

REJECTED_COLUMNS: dict[str, str] = {
    "source": "source name",
    "file": "file path",
    "line": "1-based line or data-row number (null when not applicable)",
    "record_id": "record id when it could be read",
    "reason": "why the record was rejected",
    "raw": "the raw record, truncated to 500 characters",
}

IDENTITIES_COLUMNS: dict[str, str] = {
    "source": "source name",
    "record_id": "record id within the source",
    "customer_id": "stable opaque customer id",
}

_INT_COLUMNS = {"line"}
_TIME_COLUMNS = {"observed_at"}


class ReadResult(NamedTuple):
    """What a reader returns: usable records and rejected ones."""

    touchpoints: pd.DataFrame
    rejected: pd.DataFrame


def null_strings(index: pd.Index, name: str | None = None) -> pd.Series:
    """An all-null Arrow-backed ``string`` Series over ``index``: no Python object per
    row, and nothing to convert when it joins Arrow-backed columns."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(index), pa.string())),
                     index=index, name=name)


def _empty_column(name: str, n: int, arrow: bool = False) -> pd.Series:
    index = pd.RangeIndex(n)
    if name in _INT_COLUMNS:
        return pd.Series(pd.NA, index=index, dtype="Int64")
    if name in _TIME_COLUMNS:
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    if arrow:
        return null_strings(index)
    return pd.Series(pd.NA, index=index, dtype="string")


def _cast(name: str, col: pd.Series) -> pd.Series:
    if name in _INT_COLUMNS:
        return pd.to_numeric(col, errors="coerce").astype("Int64")
    if name in _TIME_COLUMNS:
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            return col.dt.tz_convert("UTC")
        return pd.to_datetime(col, utc=True, errors="coerce", format="mixed")
    if isinstance(col.dtype, pd.StringDtype):  # Python or Arrow storage: both kept
        return col
    return col.astype("string")


def conform(frame: pd.DataFrame, columns: Iterable[str], *,
            arrow_nulls: bool = False) -> pd.DataFrame:
    """Return ``frame`` with exactly ``columns`` (missing ones added as null, as Arrow
    strings with ``arrow_nulls``), cast to the canonical dtypes and with a fresh
    RangeIndex."""
    columns = list(columns)
    n = len(frame)
    out = {}
    for name in columns:
        if name in frame.columns:
            out[name] = _cast(name, frame[name].reset_index(drop=True))
        else:
            out[name] = _empty_column(name, n, arrow_nulls)
    return pd.DataFrame(out, columns=columns)


def conform_touchpoints(frame: pd.DataFrame) -> pd.DataFrame:
    """Conform a reader's output: canonical columns first, then any ``x_`` extras."""
    extras = [c for c in frame.columns if str(c).startswith(EXTRA_PREFIX)]
    # a reader leaves most canonical columns empty: Arrow nulls cost nothing to keep
    out = conform(frame, TOUCHPOINT_COLUMNS, arrow_nulls=True)
    for name in extras:
        col = frame[name].reset_index(drop=True)
        out[name] = col if isinstance(col.dtype, pd.StringDtype) else col.astype("string")
    return out


def empty_touchpoints() -> pd.DataFrame:
    """A Touchpoints frame with no rows."""
    return conform(pd.DataFrame(), TOUCHPOINT_COLUMNS)


def empty_rejected() -> pd.DataFrame:
    """A Rejected frame with no rows."""
    return conform(pd.DataFrame(), REJECTED_COLUMNS)


def require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`SchemaError` naming every column of ``columns`` missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} lacks column(s) {', '.join(missing)}")
