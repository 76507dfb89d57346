"""Person names, plus the text helpers every normaliser shares.

Names become lower-case ASCII with titles removed and hyphens/apostrophes turned into
spaces, so ``Mme Marie-Hélène D'Artagnan`` and ``marie helene d artagnan`` compare
equal. ``full_name`` is split into first/last following French conventions
(``DUPONT Marie``, ``Dupont, Marie``) and Twitter display names (``Marie D. 🌸``).

Shared helpers live here because names are the most text-heavy normaliser:
:func:`on_distinct` (run a vectorised kernel once per distinct value and broadcast the
result, which is what makes ten-million-row columns cheap), :func:`fold_ascii`
(unidecode once per distinct non-ASCII value) and the :class:`Status` codes used in
the normalisation report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

from cxid._frames import dictionary_codes
from cxid.schema import null_strings

__all__ = [
    "JUNK_NAMES",
    "NAME_PARTICLES",
    "Kernel",
    "Normalized",
    "Status",
    "ValueRule",
    "arrow_ascii_lower_isin",
    "arrow_fullmatch",
    "as_text",
    "blank",
    "blank_rows",
    "broadcast",
    "broadcast_status",
    "distinct",
    "fold_ascii",
    "map_values",
    "normalize_name",
    "normalize_name_with_status",
    "on_distinct",
    "split_full_name",
    "split_full_name_with_status",
    "status_array",
    "strip_symbols",
    "values_where_ok",
]

# --------------------------------------------------------------------------- shared


class Status(IntEnum):
    """Outcome of normalising one value; the report counts them per column."""

    MISSING = 0  #: null or blank input
    OK = 1  #: normalised value produced
    INVALID = 2  #: present but unparseable (bad shape, impossible date, ...)
    JUNK = 3  #: present, well-formed, but a placeholder (``test@test.com``, ``N/A``)


class Normalized(NamedTuple):
    """A normalised column and the per-row :class:`Status` codes (``int8`` array)."""

    values: pd.Series
    status: np.ndarray


#: Python-backed strings inside kernels: same regex engine (``re``) on pandas 2 and 3,
#: where the default string storage may be pyarrow (RE2, no back-references).
_PY_STRING = pd.StringDtype("python")

_SYMBOLS_RE = (
    "[\u00a9\u00ae\u2122\u2190-\u2bff\u2e00-\u2e7f\u3000-\u303f\ufe00-\ufe0f"
    "\u200b-\u200d\u2060\U0001f000-\U0001faff\U000e0000-\U000e007f]"
)


def as_text(series: pd.Series) -> pd.Series:
    """Return ``series`` as a nullable string column (datetimes as ``YYYY-MM-DD``)."""
    if isinstance(series.dtype, pd.StringDtype):
        return series
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.dt.strftime("%Y-%m-%d").astype("string")
    return series.astype("string")


def distinct(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Factorise ``series``: per-row codes (-1 for null) and the distinct values as a
    python-backed string Series with a RangeIndex.

    Arrow's dictionary encoding hashes the UTF-8 bytes in C; pandas would first compute
    a Python hash for every row's string. An all-null column costs one null count.
    """
    text = as_text(series)
    try:
        array = pa.array(text.array, type=pa.large_string())
    except (pa.ArrowException, UnicodeError, TypeError):  # e.g. lone surrogates
        codes, uniques = pd.factorize(text)
        return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=_PY_STRING)
    if array.null_count == len(array):
        return np.full(len(array), -1, dtype=np.intp), pd.Series([], dtype=_PY_STRING)
    codes, dictionary = dictionary_codes(array)
    values = pd.Series(dictionary.to_pylist(), dtype=_PY_STRING)
    return codes.astype(np.intp, copy=False), values


def blank_rows(series: pd.Series) -> np.ndarray:
    """:func:`blank` per row, with the string work done once per distinct value."""
    codes, uniques = distinct(series)
    return np.append(blank(uniques), True)[codes]


def broadcast(values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Expand per-distinct ``values`` back to rows (code -1 → null), as Arrow-backed
    ``string`` (the take runs in Arrow: no Python string per row)."""
    table = pa.array(np.asarray(values.astype(object), dtype=object), type=pa.large_string(),
                     from_pandas=True)
    idx = pa.array(codes, mask=np.asarray(codes) < 0, type=pa.int64())
    taken = pc.cast(table.take(idx), pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=index)


def broadcast_status(status: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Expand per-distinct status codes back to rows (code -1 → MISSING)."""
    table = np.append(np.asarray(status, dtype=np.int8), np.int8(Status.MISSING))
    return table[codes]


Kernel = Callable[[pd.Series], tuple[pd.Series, np.ndarray]]


def on_distinct(series: pd.Series, kernel: Kernel) -> Normalized:
    """Run ``kernel`` on the distinct non-null values of ``series`` and broadcast.

    ``kernel`` receives a python-backed string Series and returns the normalised
    values (null where rejected) and a :class:`Status` array, both aligned with it.
    """
    codes, uniques = distinct(series)
    if len(uniques) == 0:  # all null: nothing to normalise
        values = null_strings(series.index, series.name)
        return Normalized(values, np.full(len(series), Status.MISSING, dtype=np.int8))
    values, status = kernel(uniques)
    return Normalized(
        broadcast(values, codes, series.index).rename(series.name),
        broadcast_status(status, codes),
    )


#: Per-value rule of a kernel written as plain Python: text → (normalised text or
#: None, :class:`Status`).
ValueRule = Callable[[str], tuple[str | None, int]]


def map_values(
    u: pd.Series, rule: ValueRule, *, fast: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[pd.Series, np.ndarray]:
    """Apply ``rule`` to each (distinct, non-null) value of ``u`` in one pass.

    For kernels whose steps are cheap string methods: one Python call per distinct
    value costs less than a dozen pandas ``.str`` passes, each with its own null
    handling and array rebuild. ``fast`` = (mask, status) settles values already decided
    in bulk (see :func:`arrow_fullmatch`): they keep their text when their status is OK
    and skip ``rule``.
    """
    text = np.asarray(u.array, dtype=object)
    if fast is None:
        todo = np.arange(len(text))
        values = np.empty(len(text), dtype=object)
        status = np.empty(len(text), dtype=np.int8)
    else:
        mask, fast_status = fast
        todo = np.flatnonzero(~mask)
        values = text.copy()
        status = np.asarray(fast_status, dtype=np.int8).copy()
    results = [rule(v) for v in text[todo].tolist()]
    if results:
        values[todo] = np.array([r[0] for r in results], dtype=object)
        status[todo] = np.fromiter((r[1] for r in results), dtype=np.int8, count=len(results))
    values[status != Status.OK] = None
    return pd.Series(values, index=u.index, dtype=_PY_STRING), status


def _arrow(u: pd.Series | pa.Array) -> pa.Array:
    if isinstance(u, pa.Array):
        return u
    return pa.array(np.asarray(u.array, dtype=object), type=pa.large_string(), from_pandas=True)


def arrow_fullmatch(u: pd.Series | pa.Array, pattern: str) -> np.ndarray:
    """Per value: does ``pattern`` match it entirely? Evaluated by Arrow (RE2) without a
    Python call per value, so only for plain ASCII patterns whose meaning is the same in
    RE2 and :mod:`re` (no ``\\d``/``\\w``/``\\s``, no back-references)."""
    found = pc.match_substring_regex(_arrow(u), f"^(?:{pattern})$")
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def arrow_ascii_lower_isin(u: pd.Series | pa.Array, values: Iterable[str]) -> np.ndarray:
    """Per value: is its ASCII lower case in ``values``? Equal to ``str.lower()`` for
    ASCII text only: callers use it on values known to be ASCII."""
    lower = pc.ascii_lower(_arrow(u))
    found = pc.is_in(lower, value_set=pa.array(sorted(values), type=pa.large_string()))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def blank(series: pd.Series) -> np.ndarray:
    """Boolean array: value is null or whitespace only."""
    return series.isna().to_numpy() | (series.str.strip() == "").fillna(True).to_numpy(bool)


def status_array(n: int, *, invalid: np.ndarray | None = None,
                 junk: np.ndarray | None = None, missing: np.ndarray | None = None) -> np.ndarray:
    """Combine masks into status codes; missing wins over junk, junk over invalid."""
    status = np.full(n, Status.OK, dtype=np.int8)
    for mask, code in ((invalid, Status.INVALID), (junk, Status.JUNK), (missing, Status.MISSING)):
        if mask is not None:
            status[np.asarray(mask, dtype=bool)] = code
    return status


def values_where_ok(values: pd.Series, status: np.ndarray) -> pd.Series:
    """Null out every value whose status is not OK."""
    return values.where(status == Status.OK)


def strip_symbols(series: pd.Series) -> pd.Series:
    """Remove emoji, pictographs, variation selectors and ©®™ (vectorised regex)."""
    return series.str.replace(_SYMBOLS_RE, " ", regex=True)


def fold_ascii(series: pd.Series) -> pd.Series:
    """Transliterate to ASCII (``Hélène`` → ``Helene``, ``Łódź`` → ``Lodz``).

    ``unidecode`` is called once per distinct non-ASCII value; ASCII values pass
    through untouched. Emoji and symbols are dropped first (unidecode would turn some
    of them into text such as ``(c)``).
    """
    s = series.astype(_PY_STRING) if not _is_py_string(series) else series
    non_ascii = s.str.contains(r"[^\x00-\x7f]", regex=True).fillna(False).to_numpy(bool)
    if not non_ascii.any():
        return s
    todo = strip_symbols(s[non_ascii])
    table = {v: unidecode(v) for v in todo.unique() if v is not pd.NA}
    values = s.to_numpy(dtype=object, na_value=pd.NA, copy=True)  # never write into the input
    values[non_ascii] = todo.map(table).to_numpy(dtype=object)
    return pd.Series(values, index=series.index, dtype=_PY_STRING, name=series.name)


def _is_py_string(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "python"


# --------------------------------------------------------------------------- names

_TITLE = (
    r"(?:m|mr|mme|mmes|mlle|mlles|mrs|ms|miss|dr|pr|me|monsieur|madame|mademoiselle|"
    r"docteur|professeur|maitre)"
)
_TITLE_PREFIX = rf"(?i)^{_TITLE}(?:\.\s*|\s+)"

#: Placeholder values that mean "no name" (compared after folding and cleaning).
JUNK_NAMES: frozenset[str] = frozenset({
    "n a", "na", "nc", "n c", "nr", "null", "none", "nil", "nan", "test", "tests", "xxx", "xx",
    "x", "inconnu", "inconnue", "unknown", "client", "cliente", "clients", "anonyme",
    "anonymous", "nom", "prenom", "name", "aucun", "aucune", "sans", "neant", "rien",
    "undefined", "asdf", "azerty", "qwerty", "abc", "default",
})

#: Lower-case particles that belong to the family name (``de la Fontaine``).
NAME_PARTICLES: tuple[str, ...] = (
    "de", "du", "des", "le", "la", "les", "van", "von", "der", "den", "di", "da", "del",
    "della", "dos", "d'",
)


def _clean_name(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Kernel on folded, title-free text: lower, punctuation → spaces, junk mask."""
    low = s.str.lower().str.replace("_", " ", regex=False)
    core = low.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    junk = (
        core.isin(JUNK_NAMES)
        | core.str.fullmatch(r"[\d ]*")
        | core.str.fullmatch(r"([a-z])\1{2,}")
        | core.str.fullmatch(r"(?:test|xxx|inconnu|n a)(?: (?:test|xxx|inconnu|n a))+")
    ).fillna(True).to_numpy(bool)
    out = low.str.replace(r"[^a-z]+", " ", regex=True).str.strip()
    return out, junk


def _name_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = fold_ascii(u.str.strip())
    s = strip_symbols(s).str.strip()
    title_only = s.str.fullmatch(rf"(?i){_TITLE}\.?").fillna(False).to_numpy(bool)
    s = s.str.replace(_TITLE_PREFIX, "", regex=True)
    out, junk = _clean_name(s)
    status = status_array(len(u), junk=junk | title_only, missing=missing)
    return values_where_ok(out, status), status


def normalize_name_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_name` plus per-row :class:`Status` codes."""
    return on_distinct(series, _name_kernel)


def normalize_name(series: pd.Series) -> pd.Series:
    """Normalise a first or last name column.

    Trim, transliterate to ASCII, lower case, drop a leading title (M., Mme, Dr...),
    hyphens/apostrophes/punctuation → spaces, collapse spaces; particles are kept
    (``de la fontaine``). Placeholders (``N/A``, ``test``, ``-``, digits only) → null.
    """
    return normalize_name_with_status(series).values


_CAP = r"[A-Z][A-Z'\-]+"
_LOWER_TOKEN = r"\S*[a-z]\S*"
_CAPS_FIRST = rf"^((?:{_CAP}\s+)*{_CAP})\s+({_LOWER_TOKEN}(?:\s+{_LOWER_TOKEN})*)$"
_CAPS_LAST = rf"^({_LOWER_TOKEN}(?:\s+{_LOWER_TOKEN})*)\s+((?:{_CAP}\s+)*{_CAP})$"
_PARTICLES_RE = "|".join(re.escape(p) for p in NAME_PARTICLES)
_LAST_TOKEN = rf"(?i)^(.+?)\s+((?:(?:{_PARTICLES_RE})\s+)*\S+)$"


def _split_kernel(u: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    missing = blank(u)
    s = fold_ascii(u)
    s = strip_symbols(s).str.replace("_", " ", regex=False)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    titled = s.str.contains(_TITLE_PREFIX, regex=True).fillna(False).to_numpy(bool)
    s = s.str.replace(_TITLE_PREFIX, "", regex=True)
    whole_junk = _clean_name(s)[1]
    title_only = s.str.fullmatch(rf"(?i){_TITLE}\.?").fillna(False).to_numpy(bool)
    junk = whole_junk | title_only

    first = pd.Series(pd.NA, index=u.index, dtype=_PY_STRING)
    last = pd.Series(pd.NA, index=u.index, dtype=_PY_STRING)
    todo = np.ones(len(u), dtype=bool)

    def take(pattern: str, first_col: int, last_col: int) -> None:
        """First matching pattern wins: try ``pattern`` on the values still unsplit."""
        rows = np.flatnonzero(todo)
        if len(rows) == 0:
            return
        parts = s.iloc[rows].str.extract(pattern)
        got = parts[0].notna().to_numpy(bool)
        hit = rows[got]
        first.iloc[hit] = parts[first_col].array[got]
        last.iloc[hit] = parts[last_col].array[got]
        todo[hit] = False

    take(r"^([^,]+?)\s*,\s*([^,]+)$", 1, 0)  # Dupont, Marie
    take(_CAPS_FIRST, 1, 0)  # DUPONT Marie
    take(_CAPS_LAST, 0, 1)  # Marie DUPONT
    take(_LAST_TOKEN, 0, 1)  # Marie de la Fontaine
    # One token left: a first name, unless a title preceded it (``Mme Dupont``).
    one = todo & titled
    last[one] = s[one]
    first[todo & ~titled] = s[todo & ~titled]

    first_out, first_junk = _clean_name(first.fillna(""))
    last_out, last_junk = _clean_name(last.fillna(""))
    first_out = first_out.where(~first_junk & first.notna().to_numpy(bool))
    last_out = last_out.where(~last_junk & last.notna().to_numpy(bool))
    status = status_array(len(u), junk=junk, missing=missing)
    both_null = first_out.isna().to_numpy(bool) & last_out.isna().to_numpy(bool)
    status[(status == Status.OK) & both_null] = Status.JUNK
    ok = status == Status.OK
    frame = pd.DataFrame({
        "first_name_norm": first_out.where(ok),
        "last_name_norm": last_out.where(ok),
    })
    return frame, status


def split_full_name_with_status(series: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`split_full_name` plus per-row :class:`Status` codes."""
    codes, uniques = distinct(series)
    frame, status = _split_kernel(uniques)
    out = pd.DataFrame(
        {c: broadcast(frame[c], codes, series.index).array for c in frame.columns},
        index=series.index,
    )
    return out, broadcast_status(status, codes)


def split_full_name(series: pd.Series) -> pd.DataFrame:
    """Split a one-field name into ``first_name_norm`` / ``last_name_norm``.

    ``Dupont, Marie`` (comma: last, first); ``DUPONT Marie`` or ``Marie DUPONT``
    (all-caps tokens are the family name when the others are not); otherwise the
    last token is the family name together with any particles before it
    (``Marie de la Fontaine`` → ``marie`` / ``de la fontaine``). A single token is a
    first name (Twitter display names), or a family name after a title
    (``Mme Dupont``). Emoji are dropped and underscores become spaces.
    """
    return split_full_name_with_status(series)[0]
