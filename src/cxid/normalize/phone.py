"""Phone numbers to E.164 (``+33612345678``) with :mod:`phonenumbers`.

``06 12 34 56 78``, ``+33 (0)6 12 34 56 78``, ``0033612345678`` and ``612345678`` are
one number; only a canonical form makes them one identifier value. Cheap cleaning
(separators, ``(0)``, ``00`` prefix, extensions) is vectorised; ``phonenumbers`` then
parses each distinct cleaned value once. Placeholders (``0000000000``,
``0123456789``, ``0612345678``) are junk: they would link thousands of people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers

from cxid.normalize.names import (
    Kernel,
    Normalized,
    blank,
    broadcast,
    distinct,
    on_distinct,
    status_array,
    values_where_ok,
)

__all__ = [
    "FRENCH_OVERSEAS_CODES",
    "JUNK_NATIONAL_NUMBERS",
    "clean_phone",
    "normalize_phone",
    "normalize_phone_with_status",
]

#: Last nine digits that mark a made-up number (checked after cleaning).
JUNK_NATIONAL_NUMBERS: frozenset[str] = frozenset({
    "123456789", "987654321", "612345678", "712345678", "102030405", "601020304",
})

_SEPARATOR = r"\s*[;|]\s*|\s+/\s+|\s+(?:ou|or|et)\s+|,\s*"
_EXTENSION = r"(?i)\s*(?:poste|ext\.?|extension|x|#)\s*\d{1,6}\s*$"


def clean_phone(series: pd.Series) -> pd.Series:
    """Vectorised pre-cleaning: keep the first of several numbers, drop extensions and
    ``(0)``, turn a ``00`` international prefix into ``+``, keep digits (and a leading
    ``+``). Text without digits becomes the empty string."""
    s = series.str.strip().str.split(_SEPARATOR, n=1, regex=True).str[0]
    s = s.str.replace(r"^(\+?\d+)\.0$", r"\1", regex=True)  # a number read as a float
    s = s.str.replace(_EXTENSION, "", regex=True).str.replace(r"\(\s*0\s*\)", "", regex=True)
    plus = s.str.contains(r"^\s*(?:\+|00)", regex=True).fillna(False)
    digits = s.str.replace(r"\D+", "", regex=True)
    digits = digits.where(~(s.str.contains(r"^\s*00", regex=True).fillna(False)), digits.str[2:])
    return digits.where(~plus, "+" + digits)


def _junk_digits(cleaned: pd.Series) -> np.ndarray:
    digits = cleaned.str.lstrip("+")
    last9 = digits.str[-9:]
    return (
        (digits == "")
        | digits.str.fullmatch(r"(\d)\1*")
        | last9.str.fullmatch(r"(\d)\1{8}")
        | last9.str.fullmatch(r"[67](\d)\1{7}")
        | last9.isin(JUNK_NATIONAL_NUMBERS)
    ).fillna(True).to_numpy(bool)


#: French overseas departments dial like mainland France (``0692…``, even ``+33 692…``)
#: but have their own country codes: Réunion/Mayotte, Guadeloupe, Guyane, Martinique.
FRENCH_OVERSEAS_CODES: tuple[int, ...] = (262, 590, 594, 596)


def _e164(value: str, region: str) -> str | None:
    """Parse one cleaned number; None when phonenumbers finds it invalid."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        if number.country_code != 33:
            return None
        # A French overseas number written the mainland way: same national number
        # under the department's own country code (no second parse needed).
        for code in FRENCH_OVERSEAS_CODES:
            overseas = phonenumbers.PhoneNumber(
                country_code=code, national_number=number.national_number)
            if phonenumbers.is_valid_number(overseas):
                number = overseas
                break
        else:
            return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_kernel(region: str) -> Kernel:
    def kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
        missing = blank(u)
        cleaned = clean_phone(u)
        junk = _junk_digits(cleaned)
        # Parse each distinct cleaned value once (several raw spellings share one).
        parse = ~junk & ~missing
        codes, uniques = distinct(cleaned[parse])
        table = {v: _e164(v, region) for v in uniques.tolist()}
        parsed = pd.Series(pd.NA, index=u.index, dtype="string")
        parsed[parse] = broadcast(uniques.map(table), codes, cleaned[parse].index)
        invalid = parsed.isna().to_numpy(bool) & parse
        status = status_array(len(u), invalid=invalid, junk=junk, missing=missing)
        return values_where_ok(parsed, status), status

    return kernel


def normalize_phone_with_status(series: pd.Series, *, default_region: str = "FR") -> Normalized:
    """:func:`normalize_phone` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _phone_kernel(default_region.upper()))


def normalize_phone(series: pd.Series, *, default_region: str = "FR") -> pd.Series:
    """Normalise phone numbers to E.164; numbers without a country code are read in
    ``default_region``. French overseas numbers written the mainland way (``0692…``,
    ``+33 692…``) get their department's code (``+262692…``). Invalid numbers and placeholders (all one digit,
    ``0123456789``, ``0612345678``) → null."""
    return normalize_phone_with_status(series, default_region=default_region).values
