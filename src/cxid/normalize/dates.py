"""Birth dates to ISO ``YYYY-MM-DD`` (or ``--MM-DD`` when the year is unknown).

Sources write dates every way: ``07/03/1985`` (French, day first), ``1985-03-07``,
``19850307``, ``7 mars 1985``, ISO timestamps, and Mailchimp's month-first ``03/07``
birthday without a year. Values are classified by regex and parsed per format, all
vectorised over the distinct values. Impossible dates (31/02, future, before 1900)
are invalid; default dates that systems write when nobody knows (``1900-01-01``,
``1970-01-01``, ``0000-00-00``) are junk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxid.normalize.names import (
    Kernel,
    Normalized,
    Status,
    blank,
    fold_ascii,
    on_distinct,
    status_array,
)

__all__ = ["JUNK_DATES", "MONTHS", "normalize_date", "normalize_date_with_status"]

#: Dates systems write when the real one is unknown.
JUNK_DATES: frozenset[str] = frozenset({"1900-01-01", "1970-01-01"})

#: Month names and abbreviations (French and English, ASCII-folded, lower case).
MONTHS: dict[str, int] = {
    "janvier": 1, "janv": 1, "jan": 1, "january": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "feb": 2, "february": 2,
    "mars": 3, "mar": 3, "march": 3,
    "avril": 4, "avr": 4, "apr": 4, "april": 4,
    "mai": 5, "may": 5,
    "juin": 6, "jun": 6, "june": 6,
    "juillet": 7, "juil": 7, "jul": 7, "july": 7,
    "aout": 8, "aou": 8, "aug": 8, "august": 8,
    "septembre": 9, "sept": 9, "sep": 9, "september": 9,
    "octobre": 10, "oct": 10, "october": 10,
    "novembre": 11, "nov": 11, "november": 11,
    "decembre": 12, "dec": 12, "december": 12,
}

_TIME_SUFFIX = r"(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|utc|[+-]\d{2}:?\d{2})?)$"

#: (regex, names of its groups in order) — first match wins.
_FORMATS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$", ("y", "m", "d")),
    (r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$", ("a", "b", "y")),  # day-first by default
    (r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2})$", ("a", "b", "yy")),
    (r"^(\d{4})(\d{2})(\d{2})$", ("y", "m", "d")),
    (r"^(\d{1,2})(?:er)?[\s-]+([a-z]+)\.?[\s-]+(\d{4})$", ("d", "month", "y")),
    (r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$", ("month", "d", "y")),
    (r"^(\d{1,2})/(\d{1,2})$", ("m", "d")),  # Mailchimp birthday: MM/DD, no year
    (r"^--(\d{2})-(\d{2})$", ("m", "d")),
)


def _parts(s: pd.Series, dayfirst: bool, today: pd.Timestamp) -> pd.DataFrame:
    """Year/month/day as floats (NaN unknown) for every value that matches a format."""
    n = len(s)
    y, m, d = (np.full(n, np.nan) for _ in range(3))
    matched = np.zeros(n, dtype=bool)
    for pattern, names in _FORMATS:
        todo = ~matched
        if not todo.any():
            break
        found = s[todo].str.extract(pattern)
        hit = found[0].notna().to_numpy(bool)
        if not hit.any():
            continue
        rows = np.flatnonzero(todo)[hit]
        g = {name: found.loc[hit, i] for i, name in enumerate(names)}
        num = {k: pd.to_numeric(v, errors="coerce").to_numpy(float) for k, v in g.items()
               if k != "month"}
        if "month" in g:
            num["m"] = g["month"].map(MONTHS).to_numpy(float)
        if "yy" in num:
            yy = num.pop("yy")
            num["y"] = np.where(2000 + yy <= today.year, 2000 + yy, 1900 + yy)
        if "a" in num:
            a, b = num.pop("a"), num.pop("b")
            first_day = ((a > 12) | (b <= 12)) if dayfirst else ((a > 12) & (b <= 12))
            num["d"] = np.where(first_day, a, b)
            num["m"] = np.where(first_day, b, a)
        y[rows] = num.get("y", np.nan)
        m[rows] = num["m"]
        d[rows] = num["d"]
        matched[rows] = True
    return pd.DataFrame({"y": y, "m": m, "d": d, "matched": matched})


def _date_kernel(dayfirst: bool, today: pd.Timestamp) -> Kernel:
    def kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
        missing = blank(u)
        s = fold_ascii(u.str.strip()).str.lower().str.replace(r"\s+", " ", regex=True)
        s = s.str.replace(_TIME_SUFFIX, "", regex=True).str.strip()
        zeros = s.str.fullmatch(r"0+(?:[-/. ]0+)*").fillna(False).to_numpy(bool)
        p = _parts(s, dayfirst, today)
        y, m, d = p["y"].to_numpy(), p["m"].to_numpy(), p["d"].to_numpy()
        has_year = ~np.isnan(y)
        # Validate month/day against a leap year so --02-29 stays valid.
        probe = pd.DataFrame({"year": np.where(has_year, y, 2000), "month": m, "day": d})
        ok_parts = p["matched"].to_numpy() & ~np.isnan(m) & ~np.isnan(d)
        probe = probe.where(pd.Series(ok_parts, index=probe.index), other=np.nan)
        stamp = pd.to_datetime(probe.fillna({"year": 2000, "month": 1, "day": 1}).astype(int),
                               errors="coerce")
        valid = ok_parts & stamp.notna().to_numpy(bool)
        valid &= ~has_year | ((y >= 1900) & (stamp <= today).to_numpy(bool))
        iso = stamp.dt.strftime("%Y-%m-%d").astype("string")
        partial = "--" + stamp.dt.strftime("%m-%d").astype("string")
        text = iso.where(has_year, partial)
        junk = zeros | (text.isin(JUNK_DATES).to_numpy(bool) & valid)
        status = status_array(len(u), invalid=~valid, junk=junk, missing=missing)
        return text.where(status == Status.OK), status

    return kernel


def normalize_date_with_status(
    series: pd.Series, *, dayfirst: bool = True, today: pd.Timestamp | None = None
) -> Normalized:
    """:func:`normalize_date` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    today = pd.Timestamp.now() if today is None else pd.Timestamp(today)
    if today.tzinfo is not None:
        today = today.tz_localize(None)
    today = today.normalize()
    return on_distinct(series, _date_kernel(dayfirst, today))


def normalize_date(
    series: pd.Series, *, dayfirst: bool = True, today: pd.Timestamp | None = None
) -> pd.Series:
    """Normalise dates of birth to ISO ``YYYY-MM-DD``.

    ``dd/mm/yyyy`` (also ``-`` and ``.``) is read day first unless ``dayfirst`` is
    False or only the month-first reading is possible (``03/25/1985``); ``yyyy-mm-dd``,
    ``yyyymmdd``, ``7 mars 1985``, ``March 7, 1985`` and ISO timestamps are accepted.
    A Mailchimp ``MM/DD`` birthday becomes ``--MM-DD``. Impossible, future or pre-1900
    dates and default dates (``1900-01-01``, ``1970-01-01``) → null. ``today`` fixes
    the reference date (tests, reproducible reruns).
    """
    return normalize_date_with_status(series, dayfirst=dayfirst, today=today).values
