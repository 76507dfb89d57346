"""Comparison levels on paired arrays: string scorers, set-valued attributes, levels.

Everything here is pure and vectorised: inputs are aligned arrays (one element per
candidate pair) and outputs are arrays of the same length. String similarities use
``rapidfuzz.process.cpdist`` (C++, multi-threaded); there is no Python loop over pairs.

Level convention (shared by every ``*_levels`` function and by
:class:`cxid.link.model.Comparison`): levels are ``int8`` codes ordered from
``0`` = the weakest level ("else", no match) up to ``n_levels - 1`` = the strongest
(exact match); ``-1`` means missing on at least one side and contributes nothing to
the match weight.

Fragments carry *sets* of values (every name, city, birth date their records ever
had). :func:`best_of_sets` compares two sets by the best score over all value
combinations, scoring each distinct ``(left value, right value)`` combination once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein, Prefix

logger = logging.getLogger(__name__)

#: Level code for "missing on at least one side".
MISSING = -1

#: Separator used by :func:`name_levels_joined` for ``"first|last"`` values.
NAME_SEPARATOR = "|"

#: Level labels of the functions below, index = level code (0 = weakest).
NAME_LEVELS: tuple[str, ...] = (
    "else",
    "last name only",
    "initial compatible",
    "fuzzy",
    "exact swapped",
    "exact",
)
DATE_LEVELS: tuple[str, ...] = ("else", "same year", "swap, typo or month-day", "exact")
HANDLE_EMAIL_LEVELS: tuple[str, ...] = ("else", "similar", "exact")

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def split_parts(values: np.ndarray, sep: str, n: int) -> list[np.ndarray]:
    """Split ``sep``-joined strings into ``n`` part arrays (a part a value lacks, or a
    missing value, gives None), once per distinct value."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    uniques = np.asarray(uniques, dtype=object)
    try:  # Arrow splits in C (pandas' str.split loops in Python)
        # (like pandas' n=0, one part means no limit: the first of all the pieces)
        lists = pc.split_pattern(pa.array(uniques, type=pa.large_string()), sep,
                                 max_splits=n - 1 if n > 1 else None)
    except (pa.ArrowException, TypeError):  # not all strings: pandas' way
        split = pd.Series(uniques, dtype=object).str.split(sep, n=n - 1, expand=True,
                                                           regex=False)
        return [np.append(split[i].to_numpy(dtype=object) if i in split else
                          np.full(len(uniques), None, object), None)[codes]
                for i in range(n)]
    offsets = lists.offsets.to_numpy()
    flat = lists.values.to_numpy(zero_copy_only=False)
    parts = []
    for i in range(n):  # the i-th part of each value that has one; None (also code -1)
        part = np.full(len(uniques) + 1, None, dtype=object)
        has = np.flatnonzero(np.diff(offsets) > i)
        part[has] = flat[offsets[has] + i]
        parts.append(part[codes])
    return parts


class SplitScorer:
    """A scorer for :func:`best_of_sets` on values made of ``n`` parts joined by
    ``sep`` (``"first|last"``, ``"street|postcode|city"``): ``function`` receives the
    left parts then the right parts. Called by :func:`best_of_sets`, the distinct
    values of the set index are split once and each batch of combinations is scored
    from their codes, instead of splitting the combination strings batch after batch.
    Called on two string arrays, it splits them (same result)."""

    def __init__(self, function: Callable[..., np.ndarray], sep: str, n: int) -> None:
        self.function, self.sep, self.n = function, sep, n
        self._split: tuple[np.ndarray, list[tuple[np.ndarray, ...]], np.ndarray] | None = None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.function(*split_parts(a, self.sep, self.n),
                             *split_parts(b, self.sep, self.n))

    def on_codes(self, uniques: np.ndarray, left: np.ndarray, right: np.ndarray
                 ) -> np.ndarray:
        """Score value ``uniques[left[i]]`` against ``uniques[right[i]]``. Each part
        reaches ``function`` with its presence mask (see :func:`_strings`) already
        known, computed once per distinct part rather than once per combination."""
        split = self._split  # read once: another thread may replace it meanwhile
        if split is None or split[0] is not uniques:
            cleaned = [_strings(p) for p in split_parts(uniques, self.sep, self.n)]
            # one code space for all parts (first names meet last names when swapped)
            codes, names = pd.factorize(np.concatenate([a for a, _ in cleaned]))
            names = np.asarray(names, dtype=object)
            per_part = np.split(np.asarray(codes), self.n)
            split = (uniques, [(a, m, c) for (a, m), c in
                               zip(cleaned, per_part, strict=True)], names)
            self._split = split
        _, parts, names = split
        return self.function(
            *[_KnownPresence.of(a[left], m[left], c[left], names) for a, m, c in parts],
            *[_KnownPresence.of(a[right], m[right], c[right], names) for a, m, c in parts])


class _KnownPresence(np.ndarray):
    """An object array of ``str``/``None`` carrying the mask :func:`_strings` would
    compute for it (``present``) and each value's code in ``names`` (equal codes, equal
    strings). Arrays derived from it carry neither, so they take the general path."""

    present: np.ndarray
    codes: np.ndarray
    names: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, present: np.ndarray, codes: np.ndarray,
           names: np.ndarray) -> _KnownPresence:
        out = values.view(cls)
        out.present, out.codes, out.names = present, codes, names
        return out


def _shared_codes(left: np.ndarray, right: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(left codes, right codes, names) when both sides are coded in the same names."""
    lc, rc = getattr(left, "codes", None), getattr(right, "codes", None)
    if lc is None or rc is None or left.names is not right.names:
        return None
    return lc, rc, left.names


# --------------------------------------------------------------------------- helpers


def _strings(
    values: Sequence[object] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(array, present)``: a 1-d object array of ``str`` with ``None`` for
    missing values, and the mask of non-missing, non-empty entries."""
    if isinstance(values, _KnownPresence) and hasattr(values, "present"):
        return values, values.present
    if isinstance(values, pd.Series | pd.Index):
        arr = values.to_numpy(dtype=object, na_value=None)
    else:
        arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        arr = arr.ravel()
    present = ~pd.isna(arr)
    if not present.all():
        arr = arr.copy()
        arr[~present] = None
    if present.any():
        present[present] = arr[present] != ""
    return arr, present


def _as_object_array(values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
    """1-d object array of ``str`` with ``None`` for missing values."""
    return _strings(values)[0]


def _paired(
    a: Sequence[object] | np.ndarray | pd.Series,
    b: Sequence[object] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sides as object arrays plus the mask of pairs where both are present."""
    left, present_l = _strings(a)
    right, present_r = _strings(b)
    if len(left) != len(right):
        raise ValueError(f"paired arrays differ in length: {len(left)} != {len(right)}")
    return left, right, present_l & present_r


def _similarity(
    left: np.ndarray,
    right: np.ndarray,
    both: np.ndarray,
    scorer: Callable[..., float],
    **kwargs: object,
) -> np.ndarray:
    """rapidfuzz ``scorer`` on the pairs where ``both`` is true, NaN elsewhere; each
    distinct pair of values once when both sides are coded alike."""
    out = np.full(len(left), np.nan)
    if not both.any():
        return out
    shared = _shared_codes(left, right)
    if shared is None:
        out[both] = process.cpdist(
            left[both], right[both], scorer=scorer, workers=-1, dtype=np.float64, **kwargs
        )
        return out
    lc, rc, names = shared
    width = len(names)
    inverse, distinct = pd.factorize(lc[both] * width + rc[both])
    distinct = np.asarray(distinct)
    scores = process.cpdist(names[distinct // width], names[distinct % width], scorer=scorer,
                            workers=-1, dtype=np.float64, **kwargs)
    out[both] = scores[inverse]
    return out


def _equal(left: np.ndarray, right: np.ndarray, both: np.ndarray) -> np.ndarray:
    """Element-wise string equality, False where ``both`` is false."""
    out = np.zeros(len(left), dtype=bool)
    shared = _shared_codes(left, right)
    if shared is None:
        out[both] = left[both] == right[both]
    else:
        out[both] = shared[0][both] == shared[1][both]
    return out


def _cpdist(
    a: np.ndarray, b: np.ndarray, scorer: Callable[..., float], **kwargs: object
) -> np.ndarray:
    """Similarity of each pair with a rapidfuzz scorer; NaN when either side is missing."""
    left, right, both = _paired(a, b)
    return _similarity(left, right, both, scorer, **kwargs)


# --------------------------------------------------------------------------- scorers


def jaro_winkler(a: Sequence[object] | np.ndarray, b: Sequence[object] | np.ndarray) -> np.ndarray:
    """Jaro–Winkler similarity (0..1) of each pair; NaN when either side is missing."""
    return _cpdist(a, b, JaroWinkler.normalized_similarity)


def levenshtein_ratio(
    a: Sequence[object] | np.ndarray, b: Sequence[object] | np.ndarray
) -> np.ndarray:
    """Normalised Levenshtein similarity ``1 - distance / max(len)`` (0..1); NaN if missing."""
    return _cpdist(a, b, Levenshtein.normalized_similarity)


def exact(a: Sequence[object] | np.ndarray, b: Sequence[object] | np.ndarray) -> np.ndarray:
    """1.0 where both strings are equal, 0.0 where they differ, NaN when either is missing."""
    left, right, both = _paired(a, b)
    out = np.full(len(left), np.nan)
    out[both] = _equal(left, right, both)[both]
    return out


def levels_from_thresholds(
    scores: np.ndarray, thresholds: Sequence[float] = (1.0, 0.92, 0.80)
) -> np.ndarray:
    """Map similarity scores to ``int8`` levels.

    With ``k`` thresholds there are ``k + 1`` levels: ``k`` for ``score >= max(thresholds)``
    (the strongest, e.g. exact), down to ``0`` for scores below every threshold
    ("else"). NaN scores get :data:`MISSING` (-1).
    """
    scores = np.asarray(scores, dtype=np.float64)
    ascending = np.sort(np.asarray(thresholds, dtype=np.float64))
    if ascending.size == 0:
        raise ValueError("levels_from_thresholds needs at least one threshold")
    if np.unique(ascending).size != ascending.size:
        raise ValueError(f"thresholds must be distinct, got {tuple(thresholds)}")
    levels = np.searchsorted(ascending, scores, side="right").astype(np.int8)
    levels[np.isnan(scores)] = MISSING
    return levels


def as_levels(scores: np.ndarray) -> np.ndarray:
    """Turn level-valued scores (e.g. from :func:`best_of_sets` with a level scorer)
    into ``int8`` levels, NaN becoming :data:`MISSING`."""
    scores = np.asarray(scores, dtype=np.float64)
    out = np.full(scores.shape, MISSING, dtype=np.int8)
    ok = ~np.isnan(scores)
    out[ok] = scores[ok].astype(np.int8)
    return out


# --------------------------------------------------------------------------- set-valued


class SetIndex(NamedTuple):
    """A long ``(fragment, value)`` frame in CSR form (see :func:`index_sets`)."""

    fragments: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    codes: np.ndarray
    uniques: np.ndarray


def index_sets(values: pd.DataFrame | SetIndex) -> SetIndex:
    """A long ``(fragment, value)`` frame sorted into CSR form once, so that several
    calls of :func:`best_of_sets` / :func:`shared_values` over batches of pairs do not
    re-factorise every value each time."""
    return values if isinstance(values, SetIndex) else SetIndex(*_fragment_index(values))


def _fragment_index(
    values: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort a long ``(fragment, value)`` frame into CSR form.

    Returns ``(fragments, starts, counts, codes, uniques)``: the distinct fragments
    (sorted), where each one's values start in ``codes`` and how many there are, the
    value codes sorted by fragment, and the distinct values (object array).
    """
    missing = [c for c in ("fragment", "value") if c not in values.columns]
    if missing:
        raise ValueError(f"values frame lacks column(s) {', '.join(missing)}")
    codes, uniques = pd.factorize(values["value"])  # missing -> -1
    uniques = np.asarray(uniques, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    for empty in np.flatnonzero(uniques == ""):
        codes[codes == empty] = -1
    keep = codes >= 0
    fragment = values["fragment"].to_numpy()[keep].astype(np.int64)
    codes = codes[keep]
    # sort by (fragment, value) and keep one row per distinct pair
    order = np.lexsort((codes, fragment))
    fragment, codes = fragment[order], codes[order]
    distinct = np.ones(len(fragment), dtype=bool)
    distinct[1:] = (fragment[1:] != fragment[:-1]) | (codes[1:] != codes[:-1])
    fragment, codes = fragment[distinct], codes[distinct]
    fragments, starts, counts = np.unique(fragment, return_index=True, return_counts=True)
    return fragments, starts, counts, codes, uniques


def _lookup(
    fragments: np.ndarray, starts: np.ndarray, counts: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Start offset and value count of each fragment in ``wanted`` (count 0 when absent)."""
    start = np.zeros(len(wanted), dtype=np.int64)
    count = np.zeros(len(wanted), dtype=np.int64)
    if len(fragments) == 0 or len(wanted) == 0:
        return start, count
    low, high = int(fragments[0]), int(fragments[-1])
    if low >= 0 and high < 4 * len(fragments) + 1_000_000:
        # dense ids (the usual case): direct indexing beats a binary search
        dense_start = np.zeros(high + 1, dtype=np.int64)
        dense_count = np.zeros(high + 1, dtype=np.int64)
        dense_start[fragments] = starts
        dense_count[fragments] = counts
        inside = (wanted >= 0) & (wanted <= high)
        start[inside] = dense_start[wanted[inside]]
        count[inside] = dense_count[wanted[inside]]
        return start, count
    pos = np.minimum(np.searchsorted(fragments, wanted), len(fragments) - 1)
    found = fragments[pos] == wanted
    start[found] = starts[pos[found]]
    count[found] = counts[pos[found]]
    return start, count


def _combinations(
    pairs_left: np.ndarray, pairs_right: np.ndarray, values: pd.DataFrame | SetIndex
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Explode pairs into every (left value, right value) combination.

    Returns ``(pair, left_code, right_code, n_combinations_per_pair, uniques)`` where
    ``pair`` is sorted (row ``i`` of the pairs repeated once per combination).
    """
    pairs_left = np.asarray(pairs_left, dtype=np.int64)
    pairs_right = np.asarray(pairs_right, dtype=np.int64)
    if pairs_left.shape != pairs_right.shape:
        raise ValueError(
            f"pairs_left and pairs_right differ in length: {len(pairs_left)} != {len(pairs_right)}"
        )
    fragments, starts, counts, codes, uniques = index_sets(values)
    start_l, n_l = _lookup(fragments, starts, counts, pairs_left)
    start_r, n_r = _lookup(fragments, starts, counts, pairs_right)
    n_comb = n_l * n_r
    total = int(n_comb.sum())
    pair = np.repeat(np.arange(len(pairs_left), dtype=np.int64), n_comb)
    # position of each combination within its pair: 0 .. n_comb[pair] - 1
    first = np.cumsum(n_comb) - n_comb
    within = np.arange(total, dtype=np.int64) - first[pair]
    width = n_r[pair]
    left_code = codes[start_l[pair] + within // width]
    right_code = codes[start_r[pair] + within % width]
    return pair, left_code, right_code, n_comb, uniques


def best_of_sets(
    pairs_left: np.ndarray,
    pairs_right: np.ndarray,
    values: pd.DataFrame | SetIndex,
    score: Scorer,
) -> np.ndarray:
    """Best score over all value combinations of two set-valued fragments.

    ``values`` is a long frame ``(fragment: int64, value: str)``, several rows per
    fragment allowed, fragments without a value absent. For pair ``i`` the result is
    ``max(score(v1, v2))`` over the values ``v1`` of fragment ``pairs_left[i]`` and
    ``v2`` of fragment ``pairs_right[i]``, NaN when either side has no value.

    Pairs are exploded into combinations, each distinct ``(v1, v2)`` is scored once
    (``score`` receives two aligned object arrays of distinct combinations), then
    mapped back and reduced by pair. ``score`` may also return level codes; use
    :func:`as_levels` on the result to get ``int8`` levels back.
    """
    pair, left_code, right_code, n_comb, uniques = _combinations(pairs_left, pairs_right, values)
    out = np.full(len(n_comb), np.nan)
    if pair.size == 0:
        return out
    n_unique = len(uniques)
    inverse, distinct = pd.factorize(left_code * n_unique + right_code)
    distinct = np.asarray(distinct, dtype=np.int64)
    if isinstance(score, SplitScorer):
        scored = np.asarray(score.on_codes(uniques, distinct // n_unique,
                                           distinct % n_unique), dtype=np.float64)
    else:
        scored = np.asarray(
            score(uniques[distinct // n_unique], uniques[distinct % n_unique]),
            dtype=np.float64)
    if scored.shape != (len(distinct),):
        raise ValueError(f"scorer returned shape {scored.shape}, expected ({len(distinct)},)")
    logger.debug(
        "best_of_sets: %d pairs, %d combinations, %d distinct",
        len(n_comb),
        pair.size,
        len(distinct),
    )
    per_combination = scored[inverse]
    has = n_comb > 0
    offsets = (np.cumsum(n_comb) - n_comb)[has]
    out[has] = np.fmax.reduceat(per_combination, offsets)
    return out


def shared_values(
    pairs_left: np.ndarray,
    pairs_right: np.ndarray,
    values: pd.DataFrame | SetIndex,
    tf: pd.Series | None = None,
) -> np.ndarray:
    """For each pair, a value both fragments carry (object array, ``None`` if none).

    When several values are shared, the rarest one according to ``tf`` (a
    :func:`term_frequency` table) is returned, so that :func:`tf_adjustment` credits
    the most distinctive agreement; without ``tf`` the choice among shared values is
    arbitrary but deterministic.
    """
    pair, left_code, right_code, n_comb, uniques = _combinations(pairs_left, pairs_right, values)
    out = np.full(len(n_comb), None, dtype=object)
    same = left_code == right_code
    pair, code = pair[same], left_code[same]
    if pair.size == 0:
        return out
    if tf is not None:
        freq = pd.Series(uniques).map(tf).to_numpy(dtype=np.float64, na_value=np.inf)
        rank = np.nan_to_num(freq[code], nan=np.inf)
    else:
        rank = code.astype(np.float64)
    order = np.lexsort((rank, pair))
    pair, code = pair[order], code[order]
    first = np.r_[True, pair[1:] != pair[:-1]]
    out[pair[first]] = uniques[code[first]]
    return out


# --------------------------------------------------------------------------- level functions


def _lengths(arr: np.ndarray, present: np.ndarray) -> np.ndarray:
    """String lengths (0 for missing), computed once per distinct value."""
    codes, uniques = pd.factorize(arr[present])
    out = np.zeros(len(arr), dtype=np.int64)
    if len(uniques):
        out[present] = pd.Series(np.asarray(uniques, dtype=object)).str.len().to_numpy()[codes]
    return out


def name_levels(
    first_l: Sequence[object] | np.ndarray,
    last_l: Sequence[object] | np.ndarray,
    first_r: Sequence[object] | np.ndarray,
    last_r: Sequence[object] | np.ndarray,
    *,
    fuzzy: float = 0.92,
) -> np.ndarray:
    """Levels of a first/last name comparison on aligned arrays (see :data:`NAME_LEVELS`).

    ``5`` exact full name; ``4`` exact after swapping first and last; ``3`` Jaro–Winkler
    ``>= fuzzy`` on both parts, straight or swapped; ``2`` initial-compatible (one first
    name is a single letter equal to the other's initial, last names ``>= fuzzy``);
    ``1`` last names ``>= fuzzy`` only; ``0`` else; ``-1`` missing (no last name on
    either side: a first name alone is too weak to be evidence either way). Inputs
    should be normalised names.
    """
    fl, p_fl = _strings(first_l)
    ll, p_ll = _strings(last_l)
    fr, p_fr = _strings(first_r)
    lr, p_lr = _strings(last_r)
    n = len(fl)
    if not len(ll) == len(fr) == len(lr) == n:
        raise ValueError("name_levels needs four arrays of the same length")
    jw = JaroWinkler.normalized_similarity
    first_both, last_both = p_fl & p_fr, p_ll & p_lr
    cross_fl_lr, cross_ll_fr = p_fl & p_lr, p_ll & p_fr
    last_ok = _similarity(ll, lr, last_both, jw) >= fuzzy
    fuzzy_straight = (_similarity(fl, fr, first_both, jw) >= fuzzy) & last_ok
    fuzzy_swapped = (_similarity(fl, lr, cross_fl_lr, jw) >= fuzzy) & (
        _similarity(ll, fr, cross_ll_fr, jw) >= fuzzy
    )
    eq_straight = _equal(fl, fr, first_both) & _equal(ll, lr, last_both)
    eq_swapped = _equal(fl, lr, cross_fl_lr) & _equal(ll, fr, cross_ll_fr)
    # initial-compatible: a one-letter first name that is the other's first letter
    candidates = first_both & last_ok
    single = (_lengths(fl, candidates) == 1) | (_lengths(fr, candidates) == 1)
    initial = single & (_similarity(fl, fr, candidates & single, Prefix.similarity) >= 1)

    levels = np.zeros(n, dtype=np.int8)
    levels[last_ok] = 1
    levels[initial] = 2
    levels[fuzzy_straight | fuzzy_swapped] = 3
    levels[eq_swapped] = 4
    levels[eq_straight] = 5
    levels[~last_both] = MISSING
    return levels


def _split_names(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``"first|last"`` strings into first and last arrays (once per distinct value)."""
    first, last = split_parts(_as_object_array(values), NAME_SEPARATOR, 2)
    return first, last


def _name_levels_float(first_l: np.ndarray, last_l: np.ndarray, first_r: np.ndarray,
                       last_r: np.ndarray) -> np.ndarray:
    return name_levels(first_l, last_l, first_r, last_r).astype(np.float64)


def name_levels_joined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`name_levels` on ``"first|last"`` strings, as a scorer for :func:`best_of_sets`.

    Lets a fragment's set of full names be compared with ``best_of_sets(...,
    score=name_levels_joined)`` followed by :func:`as_levels`; see
    :func:`name_scorer` for the form that splits each distinct name once.
    """
    first_l, last_l = _split_names(a)
    first_r, last_r = _split_names(b)
    return _name_levels_float(first_l, last_l, first_r, last_r)


def name_scorer() -> SplitScorer:
    """:func:`name_levels_joined` as a :class:`SplitScorer` (one per set index)."""
    return SplitScorer(_name_levels_float, NAME_SEPARATOR, 2)


_DIGITS_FULL = [0, 1, 2, 3, 5, 6, 8, 9]  # YYYY-MM-DD
_DIGITS_PARTIAL = [2, 3, 5, 6]  # --MM-DD


def _parse_dates(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ISO dates into a digit matrix.

    Returns ``(digits, full, partial)``: ``digits`` is an ``(n, 8)`` int8 array
    ``YYYYMMDD`` (year digits -1 for partial dates), ``full`` marks valid
    ``YYYY-MM-DD`` and ``partial`` valid ``--MM-DD`` values.
    """
    arr, present = _strings(values)
    arr = np.where(present, arr, "")
    chars = np.asarray(arr, dtype="U11").view(np.uint32).reshape(len(arr), 11)
    dash, zero = ord("-"), ord("0")
    digit = (chars >= zero) & (chars <= ord("9"))
    full = (
        digit[:, _DIGITS_FULL].all(axis=1)
        & (chars[:, 4] == dash)
        & (chars[:, 7] == dash)
        & (chars[:, 10] == 0)
    )
    partial = (
        (chars[:, 0] == dash)
        & (chars[:, 1] == dash)
        & (chars[:, 4] == dash)
        & digit[:, _DIGITS_PARTIAL].all(axis=1)
        & (chars[:, 7] == 0)
    )
    digits = np.full((len(arr), 8), -1, dtype=np.int8)
    digits[full] = (chars[full][:, _DIGITS_FULL] - zero).astype(np.int8)
    digits[partial, 4:] = (chars[partial][:, _DIGITS_PARTIAL] - zero).astype(np.int8)
    return digits, full, partial


def _parse_dates_distinct(
    values: Sequence[object] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_parse_dates` run once per distinct value, mapped back to every row."""
    codes, uniques = pd.factorize(_as_object_array(values))  # missing -> -1
    digits, full, partial = _parse_dates(np.append(np.asarray(uniques, dtype=object), None))
    return digits[codes], full[codes], partial[codes]


def date_levels(a: Sequence[object] | np.ndarray, b: Sequence[object] | np.ndarray) -> np.ndarray:
    """Levels of a date comparison on ISO strings (see :data:`DATE_LEVELS`).

    Values are ``YYYY-MM-DD`` or month-day-only ``--MM-DD``. ``3`` exact; ``2`` day and
    month swapped, a one-digit typo (Levenshtein distance 1 on the 8 digits, i.e. one
    substituted digit) or a partial ``--MM-DD`` equal to the other's month-day; ``1``
    same year; ``0`` else; ``-1`` missing or unparseable on either side.
    """
    da, full_a, part_a = _parse_dates_distinct(a)
    db, full_b, part_b = _parse_dates_distinct(b)
    if len(da) != len(db):
        raise ValueError(f"paired arrays differ in length: {len(da)} != {len(db)}")
    both_full = full_a & full_b
    any_partial = (part_a & (full_b | part_b)) | (part_b & full_a)
    same_md = (da[:, 4:] == db[:, 4:]).all(axis=1)
    same_year = (da[:, :4] == db[:, :4]).all(axis=1)
    n_diff = (da != db).sum(axis=1)
    swapped = (
        (da[:, 4:6] == db[:, 6:8]).all(axis=1) & (da[:, 6:8] == db[:, 4:6]).all(axis=1) & same_year
    )
    levels = np.full(len(da), MISSING, dtype=np.int8)
    levels[both_full] = 0
    levels[both_full & same_year] = 1
    levels[both_full & (swapped | (n_diff == 1))] = 2
    levels[both_full & (n_diff == 0)] = 3
    levels[any_partial] = np.where(same_md[any_partial], 2, 0)
    return levels


def handle_email_levels(
    handles: Sequence[object] | np.ndarray,
    email_locals: Sequence[object] | np.ndarray,
    *,
    similar: float = 0.9,
    min_contained: int = 5,
) -> np.ndarray:
    """Levels of a Twitter handle vs e-mail local part comparison (see :data:`HANDLE_EMAIL_LEVELS`).

    Both sides are reduced to lower-case letters and digits. ``2`` exact; ``1`` Jaro–Winkler
    ``>= similar`` or the shorter string (at least ``min_contained`` characters) is
    contained in the other (``jdupont`` in ``jdupont1984``); ``0`` else; ``-1`` missing.
    """
    h, p_h = _strings(_alnum_lower(handles))
    e, p_e = _strings(_alnum_lower(email_locals))
    if len(h) != len(e):
        raise ValueError(f"paired arrays differ in length: {len(h)} != {len(e)}")
    both = p_h & p_e
    similar_jw = _similarity(h, e, both, JaroWinkler.normalized_similarity) >= similar
    long_enough = both & (np.minimum(_lengths(h, p_h), _lengths(e, p_e)) >= min_contained)
    # partial_ratio is 100 exactly when the shorter string occurs inside the longer one
    contained = _similarity(h, e, long_enough, fuzz.partial_ratio, score_cutoff=100) >= 100
    levels = np.zeros(len(h), dtype=np.int8)
    levels[similar_jw | contained] = 1
    levels[_equal(h, e, both)] = 2
    levels[~both] = MISSING
    return levels


def _alnum_lower(values: Sequence[object] | np.ndarray) -> np.ndarray:
    """Lower-case letters and digits only, computed once per distinct value."""
    codes, uniques = pd.factorize(_as_object_array(values))  # missing -> -1
    cleaned = (
        pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        .str.lower()
        .str.replace(r"[^0-9a-z]", "", regex=True)
        .to_numpy(dtype=object)
    )
    return np.append(cleaned, None).astype(object)[codes]


# --------------------------------------------------------------------------- term frequency


def term_frequency(values: pd.Series) -> pd.Series:
    """Relative frequency of each distinct non-missing value (index = value, sums to 1)."""
    counts = pd.Series(_as_object_array(values), dtype=object).dropna()
    counts = counts[counts != ""].value_counts(normalize=True, sort=False)
    counts.name = "tf"
    return counts.astype(np.float64)


def tf_adjustment(
    matched_values: Sequence[object] | np.ndarray,
    tf: pd.Series,
    u_exact: float,
    *,
    clip: tuple[float, float] = (-8.0, 8.0),
) -> np.ndarray:
    """Additive log2 weight adjustment for pairs that agree exactly on a value.

    ``matched_values[i]`` is the value pair ``i`` agrees on (``None`` for pairs not at
    the exact level, see :func:`shared_values`), ``tf`` a :func:`term_frequency` table
    and ``u_exact`` the model's u-probability of the exact level. The adjustment is
    ``log2(u_exact / tf(value))``: positive for values rarer than average (a rare
    surname), negative for common ones (``martin``, ``paris``), 0 for pairs without a
    matched value or with a value absent from ``tf``; clipped to ``clip`` bits.
    """
    if not u_exact > 0:
        raise ValueError(f"u_exact must be positive, got {u_exact}")
    matched = pd.Series(_as_object_array(matched_values), dtype=object)
    freq = matched.map(tf).to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.zeros(len(matched), dtype=np.float64)
    ok = np.isfinite(freq) & (freq > 0)
    out[ok] = np.clip(np.log2(u_exact / freq[ok]), clip[0], clip[1])
    return out
