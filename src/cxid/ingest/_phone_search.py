"""The first phone number in a text, exactly as ``phonenumbers.PhoneNumberMatcher(text,
"FR", leniency=Leniency.VALID)`` finds it, without parsing most candidates.

The matcher scans the text with its candidate pattern and parses the candidates one by
one (~40 µs each), stopping at the first valid number. Its verdict on one candidate
(``PhoneNumberMatcher._extract_match``) depends only on the candidate, the character
before it and the three after it, so :func:`first_phone` walks the candidates the way
the matcher does and asks for each verdict:

* a candidate of ASCII digits and separators, without a plus sign, holds no valid
  number when it has fewer than 8 digits, or 8 without ``00`` in them: a French
  national number has 9 digits, one dialled with the ``00`` prefix at least 2 + 6
  (country code and the shortest national number; ``tests`` check this metadata);
* ``0X XX XX XX XX``, ``+33 X XX XX XX XX`` and ``0033XXXXXXXXX`` (any one of ``" .-"``
  or none as separator) between plain ASCII characters are matched whole exactly when
  their national number is valid, which is decided as ``is_valid_number`` does it (the
  number matches France's general pattern and one of its number types) with France's
  metadata patterns, without building a number object;
* any other candidate gets the matcher's own verdict, computed on a short text holding
  just the candidate and its context, and cached.

The candidate pattern is slow to search for (it opens with optional groups), so each
search starts near the next digit. A text with so many candidates that the matcher
could run out of tries (65535) is handed to the matcher itself; so is every text if
phonenumbers lacks the internals used here or builds its candidate pattern
differently. ``tests/test_ingest_email.py`` compares the results with the matcher's.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Any

from phonenumbers import Leniency, PhoneMetadata, PhoneNumberMatcher

try:
    from phonenumbers.phonenumbermatcher import (
        _DIGIT_SEQUENCE,
        _LEAD_CLASS,
        _LEAD_LIMIT,
        _PATTERN,
        _PUNCTUATION,
    )
    from phonenumbers.phonenumberutil import _SECOND_NUMBER_START_PATTERN

    # A candidate opens with at most _LEAD_LIMIT groups of a lead character ("+", "(")
    # and up to _PUNCTUATION's limit of punctuation, then a digit: it starts at most
    # _LEAD_SPAN characters before its first digit.
    _groups = re.fullmatch(r"\{0,(\d+)\}", _LEAD_LIMIT)
    _punctuation = re.search(r"\{0,(\d+)\}$", _PUNCTUATION)
    _OPENING = f"(?:{_LEAD_CLASS}{_PUNCTUATION}){_LEAD_LIMIT}{_DIGIT_SEQUENCE}"
    _SHORTCUTS = (
        callable(getattr(PhoneNumberMatcher, "_extract_match", None))
        and _PATTERN.pattern.startswith(_OPENING)
        and _groups is not None and _punctuation is not None
    )
    _LEAD_SPAN = int(_groups[1]) * (1 + int(_punctuation[1])) if _SHORTCUTS else 0
except ImportError:  # another phonenumbers layout: use the matcher as is
    _SHORTCUTS, _LEAD_SPAN = False, 0

REGION = "FR"
_MAX_TRIES = 65535  # PhoneNumberMatcher's default max_tries
_DIGIT = re.compile(r"\d")
_PLAIN_CANDIDATE = re.compile(r"[0-9 ./()\-]+")
_NON_DIGITS = re.compile(r"[^0-9]+")
_NATIONAL = re.compile(r"0([1-9])([ .-]?)([0-9]{2})\2([0-9]{2})\2([0-9]{2})\2([0-9]{2})")
_PLUS_33 = re.compile(r"\+33([ .-]?)([1-9])\1([0-9]{2})\1([0-9]{2})\1([0-9]{2})\1([0-9]{2})")
_IDD_33 = re.compile(r"0033([1-9][0-9]{8})")
#: Characters next to a candidate that the matcher accepts (neither a Latin letter, nor
#: a currency sign or ``%``); "" is the start or the end of the text
_PLAIN_CONTEXT = frozenset(string.digits + string.punctuation + " \t\n\r\x0b\x0c") - {"$", "%"}
_PLAIN_CONTEXT |= {""}


def matcher_phones(text: str) -> list[str]:
    """Every phone number the matcher finds in ``text`` (the reference behaviour)."""
    return [m.raw_string
            for m in PhoneNumberMatcher(text, REGION, leniency=Leniency.VALID)]


def _matcher_first(text: str) -> str | None:
    match = next(iter(PhoneNumberMatcher(text, REGION, leniency=Leniency.VALID)), None)
    return None if match is None else match.raw_string


def first_phone(text: str) -> str | None:
    """The first phone number ``PhoneNumberMatcher(text, "FR", leniency=VALID)`` finds
    in ``text`` (its raw spelling), or None."""
    if not _SHORTCUTS:
        return _matcher_first(text)
    index = spent = 0
    while (digit := _DIGIT.search(text, index)) is not None:
        found = _PATTERN.search(text, max(index, digit.start() - _LEAD_SPAN))
        if found is None:
            return None
        start = found.start()
        candidate = found.group()
        cut = _SECOND_NUMBER_START_PATTERN.search(candidate)
        if cut is not None:
            candidate = candidate[: cut.start()]
        # the matcher spends at most 1 + 6 * (len + 1) tries on one candidate
        spent += 7 + 6 * len(candidate)
        if not candidate or spent >= _MAX_TRIES:
            return _matcher_first(text)
        end = start + len(candidate)
        phone = _verdict(text[start - 1] if start else "", candidate, text[end:end + 3])
        if phone is not None:
            return phone
        index = end
    return None


def _verdict(before: str, candidate: str, after: str) -> str | None:
    """The number the matcher takes from ``candidate`` (preceded by ``before``, followed
    by ``after``: both "" at the ends of the text), or None."""
    if _PLAIN_CANDIDATE.fullmatch(candidate):
        digits = _NON_DIGITS.sub("", candidate)
        if len(digits) < 8 or (len(digits) == 8 and "00" not in digits):
            return None
    if after[:1] in _PLAIN_CONTEXT:
        national = None
        if before in _PLAIN_CONTEXT and (shape := _NATIONAL.fullmatch(candidate)):
            national = shape[1] + shape[3] + shape[4] + shape[5] + shape[6]
        elif shape := _PLUS_33.fullmatch(candidate):  # the matcher ignores what precedes "+"
            national = shape[2] + shape[3] + shape[4] + shape[5] + shape[6]
        elif before in _PLAIN_CONTEXT and (shape := _IDD_33.fullmatch(candidate)):
            national = shape[1]
        if national is not None:
            return candidate if _valid_french(national) else None
    return _matcher_verdict(before, candidate, after)


def _french_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """France's general pattern and the union of its number types' patterns, for
    9-digit national numbers (``phonenumberutil._number_type_helper``)."""
    meta = PhoneMetadata.metadata_for_region(REGION)
    types = [meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip,
             meta.personal_number, meta.pager, meta.uan, meta.voicemail, meta.fixed_line]
    if not meta.same_mobile_and_fixed_line_pattern:
        types.append(meta.mobile)

    def fits(desc: Any) -> bool:
        return (desc is not None and bool(desc.national_number_pattern)
                and (not desc.possible_length or 9 in desc.possible_length))

    union = "|".join(f"(?:{d.national_number_pattern})" for d in types if fits(d))
    general = meta.general_desc.national_number_pattern if fits(meta.general_desc) else "(?!)"
    return re.compile(general), re.compile(union or "(?!)")


_FRENCH_GENERAL, _FRENCH_TYPES = _french_patterns()


def _valid_french(national: str) -> bool:
    """``phonenumbers.is_valid_number`` of the French national number ``national``
    (9 digits, the first not 0)."""
    return (_FRENCH_GENERAL.fullmatch(national) is not None
            and _FRENCH_TYPES.fullmatch(national) is not None)


@functools.lru_cache(maxsize=1 << 16)
def _matcher_verdict(before: str, candidate: str, after: str) -> str | None:
    """The matcher's own verdict on ``candidate`` in its context."""
    matcher = PhoneNumberMatcher(before + candidate + after, REGION, leniency=Leniency.VALID)
    match = matcher._extract_match(candidate, len(before))
    return None if match is None else match.raw_string
