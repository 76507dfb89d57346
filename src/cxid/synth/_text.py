"""Vectorised string helpers for the generator: ids, padding, JSON quoting, accent
folding and the small corruptions (typos, mojibake) applied to a sample of values.

Arrays of strings are numpy ``object`` arrays throughout: ``a + b`` concatenates them
element-wise, and functions of a value are applied once per unique value.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from functools import reduce

import numpy as np
import pandas as pd

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

# AZERTY neighbours for substitution typos.
_AZERTY_ROWS = ("azertyuiop", "qsdfghjklm", "wxcvbn")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_AZERTY_ROWS):
    for _i, _ch in enumerate(_row):
        near = _row[max(0, _i - 1):_i] + _row[_i + 1:_i + 2]
        _NEIGHBOURS[_ch] = near


def objects(values: object) -> np.ndarray:
    """Any sequence as a 1-d object array of Python values."""
    arr = np.empty(len(values), dtype=object)  # type: ignore[arg-type]
    arr[:] = list(values)  # type: ignore[call-overload]
    return arr


def cat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise concatenation of object arrays and scalar strings."""
    return reduce(lambda a, b: a + b, parts)  # type: ignore[arg-type,return-value]


def pick(mask: np.ndarray, yes: np.ndarray | str, no: np.ndarray | str) -> np.ndarray:
    """``np.where`` that keeps the object dtype."""
    return np.where(mask, yes, no).astype(object)


def map_unique(values: np.ndarray, func: Callable[[str], str]) -> np.ndarray:
    """Apply ``func`` once per distinct value of ``values``."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    mapped = objects([func(u) for u in uniques])
    return mapped[codes]


def zpad(numbers: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded decimal strings of ``width`` digits."""
    x = np.asarray(numbers, dtype=np.int64).copy()
    out = np.empty((len(x), width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        out[:, k] = 48 + (x % 10)
        x //= 10
    return out.view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def to_str(numbers: np.ndarray) -> np.ndarray:
    """Integers as decimal strings."""
    return np.asarray(numbers, dtype=np.int64).astype(str).astype(object)


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """``n`` random lower-case hex strings of ``2 * nbytes`` characters."""
    b = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    h = np.empty((n, 2 * nbytes), dtype=np.uint8)
    h[:, 0::2] = _HEX[b >> 4]
    h[:, 1::2] = _HEX[b & 0x0F]
    width = 2 * nbytes
    return h.view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random RFC 4122 version-4 UUID strings (lower case)."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    h = np.empty((n, 32), dtype=np.uint8)
    h[:, 0::2] = _HEX[b >> 4]
    h[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = h[:, 0:8]
    out[:, 9:13] = h[:, 8:12]
    out[:, 14:18] = h[:, 12:16]
    out[:, 19:23] = h[:, 16:20]
    out[:, 24:36] = h[:, 20:32]
    return out.view("S36").ravel().astype("U36").astype(object)


def jq(values: np.ndarray) -> np.ndarray:
    """JSON string literals (quoted, escaped, UTF-8 kept) of ``values``."""
    return map_unique(values, lambda v: json.dumps(v, ensure_ascii=False))


def fold(text: str) -> str:
    """Accents and ligatures removed: 'Hélène Lætitia Œuvre' -> 'Helene Laetitia Oeuvre'."""
    text = (text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae")
            .replace("Æ", "Ae").replace("ß", "ss"))
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def mojibake(text: str) -> str:
    """UTF-8 bytes read as Windows-1252, the classic 'HÃ©lÃ¨ne'."""
    return text.encode("utf-8").decode("cp1252", errors="replace")


def typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard slip: transposition, dropped, doubled or neighbouring letter.

    Only letters are touched so e-mail syntax (dots, @) stays valid.
    """
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 3:
        return text
    op = int(rng.integers(0, 4))
    i = letters[int(rng.integers(1, len(letters)))]  # keep the first letter
    if op == 0 and i + 1 < len(text) and text[i + 1].isalpha() and text[i] != text[i + 1]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i] + text[i] + text[i:]
    near = _NEIGHBOURS.get(text[i].lower())
    if near:
        c = near[int(rng.integers(0, len(near)))]
        return text[:i] + (c.upper() if text[i].isupper() else c) + text[i + 1:]
    return text[:i] + text[i + 1:]


def typos(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """:func:`typo` applied to every value (call on the sampled subset only)."""
    return objects([typo(v, rng) for v in values])


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters, digits and hyphens: "N'Diaye" -> 'ndiaye', 'Le Goff' -> 'legoff'."""
    folded = fold(text).lower()
    return "".join(c for c in folded if c.isalnum() or c == "-")
