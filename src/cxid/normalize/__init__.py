"""Normalisation: add the ``*_norm`` columns of :data:`cxid.schema.NORM_COLUMNS`.

Every normaliser is a pure, vectorised function of one column (see the submodules);
:func:`normalize_touchpoints` applies them all to a Touchpoints frame and returns a
:class:`NormalizationReport` of counts for the run manifest. Work is done once per
distinct value and broadcast back, so a ten-million-row column with a million
distinct values costs a million normalisations, not ten million.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxid.normalize.address import (
    normalize_address,
    normalize_address_with_status,
    normalize_city,
    normalize_country,
    normalize_postcode,
    normalize_street,
    parse_address,
)
from cxid.normalize.dates import normalize_date, normalize_date_with_status
from cxid.normalize.email import (
    email_local_part,
    email_local_part_with_status,
    normalize_email,
    normalize_email_with_status,
)
from cxid.normalize.identifiers import (
    normalize_device,
    normalize_device_with_status,
    normalize_handle,
    normalize_handle_with_status,
    normalize_id,
    normalize_id_with_status,
    normalize_ip,
    normalize_ip_with_status,
    normalize_loyalty,
    normalize_loyalty_with_status,
    normalize_twitter_id,
    normalize_twitter_id_with_status,
)
from cxid.normalize.names import (
    Normalized,
    Status,
    blank,
    blank_rows,
    fold_ascii,
    normalize_name,
    normalize_name_with_status,
    on_distinct,
    split_full_name,
    split_full_name_with_status,
    status_array,
    strip_symbols,
    values_where_ok,
)
from cxid.normalize.phone import normalize_phone, normalize_phone_with_status
from cxid.progress import Progress, as_progress
from cxid.schema import ARROW_STRING, EXTRA_PREFIX, NORM_COLUMNS, null_strings

__all__ = [
    "COUNT_KEYS",
    "NormalizationReport",
    "Normalized",
    "Status",
    "email_local_part",
    "fold_ascii",
    "normalize_address",
    "normalize_city",
    "normalize_country",
    "normalize_date",
    "normalize_device",
    "normalize_email",
    "normalize_extra",
    "normalize_handle",
    "normalize_id",
    "normalize_ip",
    "normalize_loyalty",
    "normalize_name",
    "normalize_phone",
    "normalize_postcode",
    "normalize_street",
    "normalize_touchpoints",
    "normalize_twitter_id",
    "parse_address",
    "split_full_name",
]

logger = logging.getLogger(__name__)

#: Keys of each column's counts. ``present`` = normalised + invalid + junk: rows that
#: carried a value, directly or derived (full_name split, free-text address, a
#: country inferred from a French postcode).
COUNT_KEYS: tuple[str, ...] = ("present", "normalised", "invalid", "junk")


@dataclass(frozen=True)
class NormalizationReport:
    """Per-output-column counts of one normalisation run (never values)."""

    rows: int
    columns: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def from_status(cls, rows: int, status: dict[str, np.ndarray]) -> NormalizationReport:
        """Count :class:`~cxid.normalize.names.Status` codes per column."""
        columns = {}
        for name, codes in status.items():
            tally = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(Status))
            columns[name] = {
                "present": int(tally[Status.OK] + tally[Status.INVALID] + tally[Status.JUNK]),
                "normalised": int(tally[Status.OK]),
                "invalid": int(tally[Status.INVALID]),
                "junk": int(tally[Status.JUNK]),
            }
        return cls(rows=rows, columns=columns)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict for the run manifest."""
        return {"rows": self.rows, "columns": {k: dict(v) for k, v in self.columns.items()}}


def _extra_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = strip_symbols(fold_ascii(u)).str.lower().str.replace(r"\s+", " ", regex=True).str.strip()
    status = status_array(len(u), missing=missing | (s == "").to_numpy(bool))
    return values_where_ok(s, status), status


def normalize_extra(series: pd.Series) -> pd.Series:
    """Normalise an ``x_*`` extra attribute: ASCII lower case, trimmed, spaces collapsed."""
    return on_distinct(series, _extra_kernel).values


def _fill_names(
    first: Normalized, last: Normalized, full_name: pd.Series
) -> tuple[Normalized, Normalized]:
    """Where both names are null and ``full_name`` is present, split ``full_name``."""
    need = first.values.isna().to_numpy(bool) & last.values.isna().to_numpy(bool)
    if need.any():
        need &= ~blank_rows(full_name)
    if not need.any():
        return first, last
    split, split_status = split_full_name_with_status(full_name[need])
    rows = np.flatnonzero(need)
    out = []
    for current, column in ((first, "first_name_norm"), (last, "last_name_norm")):
        values = current.values.copy()
        status = current.status.copy()
        part = split[column]
        values.iloc[rows] = part.array
        got = part.notna().to_numpy(bool)
        filled = np.where(got, Status.OK, np.where(split_status == Status.OK,
                                                   status[need], split_status))
        status[need] = filled
        out.append(Normalized(values, status.astype(np.int8)))
    return out[0], out[1]


def normalize_touchpoints(
    touchpoints: pd.DataFrame,
    *,
    default_region: str = "FR",
    progress: Progress | bool | None = None,
) -> tuple[pd.DataFrame, NormalizationReport]:
    """Return a copy of ``touchpoints`` with every ``*_norm`` column added.

    Columns missing from the input are treated as null. Each ``x_*`` extra gets an
    ``x_*_norm`` companion (:func:`normalize_extra`). ``default_region`` (ISO
    alpha-2) reads phone numbers without a country code and decides whether a
    French-looking postcode implies the country. Output columns are nullable
    Arrow-backed ``string``; null means missing, invalid or junk, as counted in the report.
    """
    bar = as_progress(progress)
    index = touchpoints.index

    def col(name: str) -> pd.Series:
        if name in touchpoints.columns:
            return touchpoints[name]
        return null_strings(index, name)

    results: dict[str, Normalized] = {}
    steps: list[tuple[str, Callable[[], None]]] = []

    def single(out: str, source: str, func: Callable[[pd.Series], Normalized]) -> None:
        steps.append((out, lambda: results.__setitem__(out, func(col(source)))))

    single("account_norm", "account_id", normalize_id_with_status)
    single("loyalty_norm", "loyalty_id", normalize_loyalty_with_status)
    single("email_norm", "email", normalize_email_with_status)
    single("reply_to_norm", "reply_to", normalize_email_with_status)
    steps.append(("email_local_norm", lambda: results.__setitem__(
        "email_local_norm", email_local_part_with_status(results["email_norm"].values))))
    single("phone_norm", "phone",
           lambda s: normalize_phone_with_status(s, default_region=default_region))
    single("device_norm", "device_id", normalize_device_with_status)
    single("cookie_norm", "cookie_id", normalize_id_with_status)
    single("ip_norm", "ip", normalize_ip_with_status)
    single("twitter_norm", "twitter_id", normalize_twitter_id_with_status)
    single("handle_norm", "twitter_handle", normalize_handle_with_status)

    def names() -> None:
        first = normalize_name_with_status(col("first_name"))
        last = normalize_name_with_status(col("last_name"))
        results["first_name_norm"], results["last_name_norm"] = _fill_names(
            first, last, col("full_name"))

    steps.append(("names", names))
    single("birth_date_norm", "birth_date", normalize_date_with_status)

    def address() -> None:
        frame, status = normalize_address_with_status(
            col("street"), col("postcode"), col("city"), col("country"), col("address"),
            default_country=default_region,
        )
        for name in frame.columns:
            results[name] = Normalized(frame[name], status[name])

    steps.append(("address", address))
    extras = [c for c in touchpoints.columns
              if str(c).startswith(EXTRA_PREFIX) and not str(c).endswith("_norm")]
    for name in extras:
        steps.append((f"{name}_norm", lambda name=name: results.__setitem__(
            f"{name}_norm", on_distinct(touchpoints[name], _extra_kernel))))

    for done, (label, run) in enumerate(steps):
        bar.update("normalise", done, len(steps), "columns")
        logger.debug("normalising %s", label)
        run()
    bar.update("normalise", len(steps), len(steps), "columns")

    out = touchpoints.copy(deep=False)
    order = [*NORM_COLUMNS, *(f"{name}_norm" for name in extras)]
    for name in order:
        out[name] = results[name].values.astype(ARROW_STRING).array
    report = NormalizationReport.from_status(len(touchpoints),
                                             {name: results[name].status for name in order})
    for name, counts in report.columns.items():
        logger.debug("%s: %s", name, ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    totals = {k: sum(c[k] for c in report.columns.values()) for k in COUNT_KEYS}
    logger.info("normalised %s rows: %s", f"{len(touchpoints):,}",
                ", ".join(f"{k}={v:,}" for k, v in totals.items()))
    return out, report
