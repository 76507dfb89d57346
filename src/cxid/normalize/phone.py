"""Phone numbers to E.164 (``+33612345678``) with :mod:`phonenumbers`.

``06 12 34 56 78``, ``+33 (0)6 12 34 56 78``, ``0033612345678`` and ``612345678`` are
one number; only a canonical form makes them one identifier value. Cheap cleaning
(separators, ``(0)``, ``00`` prefix, extensions) is vectorised; ``phonenumbers`` then
parses each distinct cleaned value once. Placeholders (``0000000000``,
``0123456789``, ``0612345678``) are junk: they would link thousands of people.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import phonenumbers

from cxid.normalize.names import (
    Kernel,
    Normalized,
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


_SEPARATOR_RE = re.compile(_SEPARATOR)
_FLOAT_RE = re.compile(r"^(\+?\d+)\.0$")  # a number read as a float
_EXTENSION_RE = re.compile(_EXTENSION)
_TRUNK_ZERO_RE = re.compile(r"\(\s*0\s*\)")
_INTERNATIONAL_RE = re.compile(r"^\s*(?:\+|00)")
_DOUBLE_ZERO_RE = re.compile(r"^\s*00")
_NON_DIGITS_RE = re.compile(r"\D+")
_SAME_DIGIT_RE = re.compile(r"(\d)\1*")
_NINE_SAME_RE = re.compile(r"(\d)\1{8}")
_MOBILE_SAME_RE = re.compile(r"[67](\d)\1{7}")


def _clean_number(text: str) -> str:
    """:func:`clean_phone` for one value."""
    s = _SEPARATOR_RE.split(text.strip(), maxsplit=1)[0]
    s = _FLOAT_RE.sub(r"\1", s)
    s = _TRUNK_ZERO_RE.sub("", _EXTENSION_RE.sub("", s))
    digits = _NON_DIGITS_RE.sub("", s)
    if _DOUBLE_ZERO_RE.search(s):
        digits = digits[2:]
    return "+" + digits if _INTERNATIONAL_RE.search(s) else digits


def clean_phone(series: pd.Series) -> pd.Series:
    """Pre-cleaning, once per value: keep the first of several numbers, drop extensions
    and ``(0)``, turn a ``00`` international prefix into ``+``, keep digits (and a
    leading ``+``). Text without digits becomes the empty string; nulls stay null."""
    return series.map(_clean_number, na_action="ignore")


def _junk_number(cleaned: str) -> bool:
    """Placeholder: no digits, one digit repeated, or a made-up national number."""
    digits = cleaned.lstrip("+")
    last9 = digits[-9:]
    return bool(
        digits == ""
        or _SAME_DIGIT_RE.fullmatch(digits)
        or _NINE_SAME_RE.fullmatch(last9)
        or _MOBILE_SAME_RE.fullmatch(last9)
        or last9 in JUNK_NATIONAL_NUMBERS
    )


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


#: Number types that make a national number valid (phonenumbers' ``_number_type_helper``
#: returns something other than UNKNOWN when the general pattern and one of these match).
_NUMBER_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
                 "pager", "uan", "voicemail", "fixed_line", "mobile")

#: Cleaned French numbers the fast path handles: ``+33`` or (in region FR) a trunk
#: ``0``, then nine ASCII digits not starting with 0.
_FR_SHAPE = r"^(?:\+33|0)([1-9][0-9]{8})$"
_FR_SHAPE_INTERNATIONAL = r"^\+33([1-9][0-9]{8})$"


def _desc_pattern(desc: object, length: int) -> str | None:
    """Regex of a phonenumbers ``PhoneNumberDesc`` for numbers of ``length`` digits, or
    None when the description cannot match them (same rules as ``_is_number_matching_desc``)."""
    if desc is None:
        return None
    pattern = desc.national_number_pattern
    if not pattern or (desc.possible_length and length not in desc.possible_length):
        return None
    return pattern


@functools.cache
def _valid_national(region: str, length: int) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """(general pattern, any-type pattern) deciding ``is_valid_number`` for national
    numbers of ``length`` digits in ``region``, read from phonenumbers' own metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    general = _desc_pattern(metadata.general_desc, length)
    types = [p for name in _NUMBER_TYPES
             if (p := _desc_pattern(getattr(metadata, name), length)) is not None]
    if general is None or not types:
        return None
    return (re.compile(rf"(?:{general})"),
            re.compile("|".join(f"(?:{p})" for p in types)))


def _valid_for_code(national: pd.Series, country_code: int) -> np.ndarray | None:
    """Per value: is ``national`` (nine ASCII digits, no leading 0) a valid number under
    ``country_code``? None when the metadata needs phonenumbers itself (a region with
    ``leading_digits``, or no pattern for nine digits)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    valid = np.zeros(len(national), dtype=bool)
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        patterns = _valid_national(region, 9)
        if metadata is None or metadata.leading_digits is not None or patterns is None:
            return None
        general, any_type = patterns
        valid |= (national.str.fullmatch(general.pattern)
                  & national.str.fullmatch(any_type.pattern)).to_numpy(bool)
    return valid if regions else None


def _fast_french(cleaned: pd.Series, region: str) -> tuple[pd.Series, np.ndarray]:
    """E.164 for the common case, without a parse per value: a French number written
    ``0XXXXXXXXX`` (region FR) or ``+33XXXXXXXXX``, valid in France or, like
    :func:`_e164`, in a French overseas department. Returns the values and a mask of
    the values decided here (the others go through :func:`_e164`)."""
    values = pd.Series(pd.NA, index=cleaned.index, dtype="string")
    decided = np.zeros(len(cleaned), dtype=bool)
    if len(cleaned) == 0:
        return values, decided
    shape = _FR_SHAPE if region == "FR" else _FR_SHAPE_INTERNATIONAL
    national = cleaned.str.extract(shape, expand=False)
    rows = np.flatnonzero(national.notna().to_numpy(bool))
    national = national.iloc[rows]
    out = pd.Series(pd.NA, index=national.index, dtype="string")
    todo = np.ones(len(national), dtype=bool)
    for code in (33, *FRENCH_OVERSEAS_CODES):
        rest = np.flatnonzero(todo)
        if len(rest) == 0:
            break
        valid = _valid_for_code(national.iloc[rest], code)
        if valid is None:  # phonenumbers decides the rest
            todo[:] = False
            break
        hit = rest[valid]
        out.iloc[hit] = (f"+{code}" + national.iloc[hit]).array
        todo[hit] = False
    # Shapes valid nowhere are invalid, as in _e164; undecided ones are left to it.
    decided[rows] = out.notna().to_numpy(bool) | todo
    values.iloc[rows] = out.array
    return values, decided


def _phone_kernel(region: str) -> Kernel:
    def kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
        raw = u.tolist()
        missing = np.fromiter((not v.strip() for v in raw), dtype=bool, count=len(raw))
        numbers = [_clean_number(v) for v in raw]
        junk = np.fromiter((_junk_number(c) for c in numbers), dtype=bool, count=len(raw))
        cleaned = pd.Series(numbers, index=u.index, dtype=u.dtype)
        parse = ~junk & ~missing
        parsed = pd.Series(pd.NA, index=u.index, dtype="string")
        fast, decided = _fast_french(cleaned[parse], region)
        parsed[parse] = fast.array
        # Parse each remaining distinct cleaned value once (several raw spellings share one).
        slow = parse.copy()
        slow[parse] = ~decided
        if slow.any():
            codes, uniques = distinct(cleaned[slow])
            table = {v: _e164(v, region) for v in uniques.tolist()}
            parsed[slow] = broadcast(uniques.map(table), codes, cleaned[slow].index).array
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
