"""Probabilistic matching of fragments: comparison vectors, model, scored edges.

Wires :mod:`cxid.link.blocking` (which pairs), :mod:`cxid.link.compare` (levels per
attribute, best of the fragments' value sets) and :mod:`cxid.link.model`
(Fellegi–Sunter with EM) into one step whose output is the identity graph's
probabilistic edges.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxid._frames import unique_sorted
from cxid.engine import LocalEngine, get_engine
from cxid.errors import ConfigError
from cxid.link import compare as cmp
from cxid.link.blocking import DEFAULT_RULES, CandidatePairs, candidate_pairs
from cxid.link.fragments import NAME_SEPARATOR, Fragments, build_fragments, first_distinct
from cxid.link.model import Comparison, FellegiSunter
from cxid.progress import Progress, as_progress

log = logging.getLogger(__name__)

#: Comparison methods and the level labels each produces (index = level code).
METHOD_LEVELS: dict[str, tuple[str, ...]] = {
    "name": cmp.NAME_LEVELS,
    "date": cmp.DATE_LEVELS,
    "fuzzy": ("else", "similar", "close", "exact"),
    "exact": ("else", "exact"),
    "phone": ("else", "one digit off", "exact"),
    "postcode": ("else", "same department", "exact"),
    "handle_email": cmp.HANDLE_EMAIL_LEVELS,
    "address": ("else", "same city", "same postcode", "same address"),
}

#: Methods whose m can be learnt from deterministic links, unless they compare an
#: attribute derived from the identifiers the links were made of.
LABEL_METHODS = ("name", "date", "address", "fuzzy", "exact", "postcode")
IDENTIFIER_ATTRIBUTES = ("email", "email_local", "phone", "handle", "account", "loyalty")


@dataclass(frozen=True, kw_only=True)
class ComparisonSpec:
    """One comparison: a ``method`` applied to profile ``attribute``.

    ``name`` uses the fragments' (first, last) name pairs; ``address`` their (street,
    postcode, city) triples as one comparison; ``handle_email`` compares Twitter handles
    with e-mail local parts (and handles with handles); the others work on one
    attribute. ``tf`` adds a term-frequency adjustment at the exact level, so a
    rare surname or town weighs more than ``martin`` or ``paris``.
    """

    name: str
    method: str
    attribute: str = ""
    tf: bool = False
    thresholds: tuple[float, ...] = (1.0, 0.92, 0.85)


DEFAULT_COMPARISONS: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(name="name", method="name", attribute="last_name", tf=True),
    ComparisonSpec(name="birth_date", method="date", attribute="birth_date"),
    ComparisonSpec(name="email_local", method="fuzzy", attribute="email_local",
                   thresholds=(1.0, 0.94, 0.88)),
    ComparisonSpec(name="phone", method="phone", attribute="phone"),
    ComparisonSpec(name="address", method="address"),
    ComparisonSpec(name="handle", method="handle_email"),
)


def validate_comparisons(specs: Sequence[ComparisonSpec]) -> list[str]:
    problems = []
    names = [s.name for s in specs]
    for s in specs:
        if s.method not in METHOD_LEVELS:
            problems.append(f"comparison {s.name!r}: unknown method {s.method!r} "
                            f"(known: {', '.join(METHOD_LEVELS)})")
        if s.method == "fuzzy" and len(s.thresholds) != 3:
            problems.append(f"comparison {s.name!r}: fuzzy needs three thresholds")
        if s.method not in ("name", "handle_email", "address") and not s.attribute:
            problems.append(f"comparison {s.name!r}: needs an attribute")
    dupes = sorted({n for n in names if names.count(n) > 1})
    problems += [f"comparison name {n!r} is used twice" for n in dupes]
    return problems


def model_comparisons(specs: Sequence[ComparisonSpec]) -> list[Comparison]:
    return [Comparison(name=s.name, levels=METHOD_LEVELS[s.method], tf=s.tf) for s in specs]


def _name_values(fragments: Fragments) -> pd.DataFrame:
    names = fragments.names
    return pd.DataFrame({"fragment": names["fragment"].to_numpy(),
                         "value": (names["first"] + NAME_SEPARATOR + names["last"]).to_numpy()})


def _phone_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    exact = cmp.exact(a, b)
    near = cmp.levenshtein_ratio(a, b)
    lengths = np.maximum(pd.Series(a).str.len().to_numpy(float), 1.0)
    one_off = near >= 1.0 - 1.0 / lengths - 1e-9
    return np.where(exact == 1.0, 2.0, np.where(one_off, 1.0, 0.0))


def _postcode_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    exact = cmp.exact(a, b)
    dept = cmp.exact(pd.Series(a).str.slice(0, 2).to_numpy(object),
                     pd.Series(b).str.slice(0, 2).to_numpy(object))
    return np.where(exact == 1.0, 2.0, np.where(dept == 1.0, 1.0, 0.0))


def _sets(fragments: Fragments, what: str) -> cmp.SetIndex:
    """The value sets compared by one comparison, indexed once per fragments object
    (batches of candidate pairs and the u sample reuse it)."""
    def build() -> cmp.SetIndex:
        if what == "name":
            values = _name_values(fragments)
        elif what == "address":
            values = _address_values(fragments)
        elif what == "handle_email":
            values = _handle_values(fragments)
        else:
            values = fragments.attribute(what)
        return cmp.index_sets(values)

    return fragments.cached(what, build)


def _address_values(fragments: Fragments) -> pd.DataFrame:
    a = fragments.addresses
    has_place = (a["postcode"] != "") | (a["city"] != "")
    a = a[has_place]
    return pd.DataFrame({"fragment": a["fragment"].to_numpy(),
                         "value": (a["street"] + "|" + a["postcode"] + "|" + a["city"]).to_numpy()})


def _address_levels(street_l: np.ndarray, pc_l: np.ndarray, city_l: np.ndarray,
                    street_r: np.ndarray, pc_r: np.ndarray, city_r: np.ndarray) -> np.ndarray:
    """3 same address (postcode equal, streets similar), 2 same postcode, 1 same city,
    0 else."""
    same_pc = (pc_l == pc_r) & (pc_l != "")
    # empty parts count as missing in jaro_winkler: its scores are NaN there (-> 0)
    street_sim = np.nan_to_num(cmp.jaro_winkler(street_l, street_r))
    city_sim = np.nan_to_num(cmp.jaro_winkler(city_l, city_r))
    out = np.zeros(len(street_l))
    out[city_sim >= 0.92] = 1.0
    out[same_pc] = 2.0
    out[same_pc & (street_sim >= 0.9)] = 3.0
    return out


def _handle_email_levels(tag_a: np.ndarray, val_a: np.ndarray, tag_b: np.ndarray,
                         val_b: np.ndarray) -> np.ndarray:
    """Values are tagged ``h:`` (handle) or ``e:`` (e-mail local part); e-mail vs
    e-mail is another comparison's job, so it scores NaN (ignored by the max)."""
    a_is_handle = tag_a == "h"
    handle_left = np.where(a_is_handle, val_a, val_b)
    other = np.where(a_is_handle, val_b, val_a)
    levels = cmp.handle_email_levels(handle_left, other).astype(np.float64)
    levels[levels < 0] = np.nan
    levels[(tag_a == "e") & (tag_b == "e")] = np.nan
    return levels


#: How the joined values of each multi-part comparison are split and scored.
_SPLIT_SCORERS = {
    "name": cmp.name_scorer,
    "address": lambda: cmp.SplitScorer(_address_levels, "|", 3),
    "handle_email": lambda: cmp.SplitScorer(_handle_email_levels, ":", 2),
}


def _scorer(fragments: Fragments, what: str) -> cmp.SplitScorer:
    """The split scorer of one multi-part comparison, one per fragments object (it keeps
    the split of that object's distinct values between batches)."""
    return fragments.cached(f"{what}:scorer", _SPLIT_SCORERS[what])


def _handle_values(fragments: Fragments) -> pd.DataFrame:
    h = fragments.attribute("handle")
    e = fragments.attribute("email_local")
    return pd.concat([h.assign(value="h:" + h["value"]), e.assign(value="e:" + e["value"])],
                     ignore_index=True)


def compare_pairs(
    fragments: Fragments,
    left: np.ndarray,
    right: np.ndarray,
    specs: Sequence[ComparisonSpec] = DEFAULT_COMPARISONS,
    *,
    tf_tables: dict[str, pd.Series] | None = None,
    engine: LocalEngine | None = None,
    batch_pairs: int = 1_000_000,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Level matrix ``(n_pairs, n_specs)`` (int8, -1 missing) and, for ``tf`` specs, the
    value each pair agrees on exactly (for term-frequency adjustment).

    Pairs are compared in batches of ``batch_pairs`` through the engine's
    ``map_batches`` (memory stays bounded; on Spark the batches run on executors).
    """
    engine = engine or get_engine()
    frame = pd.DataFrame({"l": np.asarray(left, np.int64), "r": np.asarray(right, np.int64)})
    batch = functools.partial(_compare_batch, fragments, tuple(specs), tf_tables)
    out = engine.map_batches(batch, frame, batch_pairs)
    levels = np.column_stack([out[f"l_{s.name}"].to_numpy(np.int8) for s in specs]) \
        if len(specs) else np.zeros((len(frame), 0), np.int8)
    shared = {s.name: out[f"s_{s.name}"].to_numpy(object, na_value=None)
              for s in specs if s.tf}
    return levels.reshape(len(frame), len(specs)), shared


def _compare_batch(fragments: Fragments, specs: Sequence[ComparisonSpec],
                   tf_tables: dict[str, pd.Series] | None, frame: pd.DataFrame
                   ) -> pd.DataFrame:
    """One batch of pairs (columns l, r) -> level columns ``l_<name>`` and, for tf
    comparisons, the shared value ``s_<name>``."""
    levels, shared = _compare_arrays(fragments, frame["l"].to_numpy(np.int64),
                                     frame["r"].to_numpy(np.int64), specs, tf_tables)
    out = {f"l_{s.name}": levels[:, j] for j, s in enumerate(specs)}
    out.update({f"s_{name}": pd.array(values, dtype="string")
                for name, values in shared.items()})
    return pd.DataFrame(out)


def _compare_arrays(
    fragments: Fragments,
    left: np.ndarray,
    right: np.ndarray,
    specs: Sequence[ComparisonSpec],
    tf_tables: dict[str, pd.Series] | None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    n = len(left)
    levels = np.full((n, len(specs)), cmp.MISSING, dtype=np.int8)
    shared: dict[str, np.ndarray] = {}
    for j, spec in enumerate(specs):
        if spec.method == "name":
            scores = cmp.best_of_sets(left, right, _sets(fragments, "name"),
                                      _scorer(fragments, "name"))
        elif spec.method == "address":
            scores = cmp.best_of_sets(left, right, _sets(fragments, "address"),
                                      _scorer(fragments, "address"))
        elif spec.method == "handle_email":
            # only pairs with a handle on one side can score (e-mail vs e-mail is NaN):
            # handles are rare, so most pairs skip the comparison
            with_handle = _sets(fragments, "handle").fragments
            some = np.isin(left, with_handle) | np.isin(right, with_handle)
            scores = np.full(n, np.nan)
            scores[some] = cmp.best_of_sets(left[some], right[some],
                                            _sets(fragments, "handle_email"),
                                            _scorer(fragments, "handle_email"))
        else:
            values = _sets(fragments, spec.attribute)
            if spec.method == "date":
                scores = cmp.best_of_sets(left, right, values,
                                          lambda a, b: cmp.date_levels(a, b).astype(float))
            elif spec.method == "fuzzy":
                raw = cmp.best_of_sets(left, right, values, cmp.jaro_winkler)
                scores = cmp.levels_from_thresholds(raw, spec.thresholds).astype(float)
                scores[np.isnan(raw)] = np.nan
            elif spec.method == "exact":
                scores = cmp.best_of_sets(left, right, values, cmp.exact)
            elif spec.method == "phone":
                scores = cmp.best_of_sets(left, right, values, _phone_score)
            elif spec.method == "postcode":
                scores = cmp.best_of_sets(left, right, values, _postcode_score)
            else:  # pragma: no cover - validated earlier
                raise ConfigError(f"unknown comparison method {spec.method!r}")
        levels[:, j] = cmp.as_levels(scores)
        if spec.tf:
            values = _sets(fragments, spec.attribute or "name")
            tf = tf_tables.get(spec.name) if tf_tables else None
            shared[spec.name] = cmp.shared_values(left, right, values, tf)
    return levels, shared


def term_frequencies(fragments: Fragments,
                     specs: Sequence[ComparisonSpec]) -> dict[str, pd.Series]:
    """Value frequencies over fragments, per ``tf`` comparison."""
    return {
        s.name: cmp.term_frequency(fragments.attribute(s.attribute)["value"])
        for s in specs if s.tf and s.attribute
    }


def random_pairs(n_fragments: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` random distinct fragment pairs (for estimating u)."""
    if n_fragments < 2:
        return np.array([], np.int64), np.array([], np.int64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_fragments, size)
    b = rng.integers(0, n_fragments, size)
    keep = a != b
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


PEOPLE_COLUMNS = ("first_name_norm", "last_name_norm", "birth_date_norm", "street_norm",
                  "postcode_norm", "city_norm")


def record_pairs(touchpoints: pd.DataFrame, fragment: np.ndarray,
                 rows: np.ndarray | None = None) -> pd.DataFrame:
    """The record pairs of :func:`linked_record_pairs` before any sampling: columns
    ``row`` and ``first`` (global rows, ``rows`` giving each record's; default its
    position), in row order. Works on any set of whole fragments."""
    present = [c for c in PEOPLE_COLUMNS if c in touchpoints.columns]
    rows = np.arange(len(touchpoints), dtype=np.int64) if rows is None \
        else np.asarray(rows, dtype=np.int64)
    if not present:
        return pd.DataFrame({"row": np.array([], np.int64), "first": np.array([], np.int64)})
    fragment = np.asarray(fragment, dtype=np.int64)
    has = np.zeros(len(touchpoints), dtype=bool)
    for c in present:
        has |= touchpoints[c].notna().to_numpy()
    at = np.flatnonzero(has)
    # one row per fragment and distinct combination of the people columns (a missing
    # value equals an empty one)
    keep, _, _ = first_distinct(fragment[at],
                                [touchpoints[c].iloc[at].fillna("") for c in present])
    distinct = pd.DataFrame({"fragment": fragment[at][keep], "row": rows[at][keep]})
    first = distinct.groupby("fragment")["row"].transform("min")
    later = (distinct["row"] != first).to_numpy()
    return pd.DataFrame({"row": distinct["row"].to_numpy()[later],
                         "first": first.to_numpy()[later]})


def sample_positions(n_pairs: int, max_pairs: int, seed: int) -> np.ndarray | None:
    """Positions (in the order drawn) of the pairs ``pairs.sample(max_pairs,
    random_state=seed)`` keeps out of ``n_pairs``, by pandas' own sampling on an empty
    frame of that length; None when all are kept."""
    if n_pairs <= max_pairs:
        return None
    drawn = pd.DataFrame(index=pd.RangeIndex(n_pairs)).sample(max_pairs, random_state=seed)
    return drawn.index.to_numpy(np.int64)


def pair_records(records: pd.DataFrame, pairs: pd.DataFrame
                 ) -> tuple[Fragments, np.ndarray, np.ndarray]:
    """Record-level fragments of the rows ``pairs`` use (``records``: exactly those
    touchpoints, in row order) and the pair indices into them."""
    used = unique_sorted(np.concatenate([pairs["row"].to_numpy(), pairs["first"].to_numpy()]))
    local = pd.Series(np.arange(len(used)), index=used)
    fragments = build_fragments(records.reset_index(drop=True), np.arange(len(used)))
    left = local[pairs["first"].to_numpy()].to_numpy()
    right = local[pairs["row"].to_numpy()].to_numpy()
    return fragments, left, right


def linked_record_pairs(
    touchpoints: pd.DataFrame, fragment: np.ndarray, *, max_pairs: int = 200_000,
    seed: int = 0,
) -> tuple[Fragments, np.ndarray, np.ndarray]:
    """Record pairs known to match because deterministic linking put them in one
    fragment: training data for m.

    Records carrying people-level attributes are deduplicated per fragment (repeated
    identical identify calls say nothing new) and each is paired with its fragment's
    first such record. Returns record-level fragments and the pair indices into them.
    """
    pairs = record_pairs(touchpoints, fragment)
    if pairs.empty:
        empty = np.array([], np.int64)
        return build_fragments(touchpoints.iloc[:0], empty), empty, empty
    drawn = sample_positions(len(pairs), max_pairs, seed)
    if drawn is not None:
        pairs = pairs.take(drawn)
    used = unique_sorted(np.concatenate([pairs["row"].to_numpy(), pairs["first"].to_numpy()]))
    return pair_records(touchpoints.iloc[used], pairs)


def _compared_candidates(
    fragments: Fragments, rules: Sequence[Sequence[str]],
    comparisons: Sequence[ComparisonSpec], exclude_same_source: bool, max_block_size: int,
    max_pairs: int, bar: Progress, engine: LocalEngine,
) -> tuple[CandidatePairs, np.ndarray, np.ndarray, dict[str, pd.Series], np.ndarray,
           dict[str, np.ndarray]]:
    """Blocking then comparison of the candidate pairs: (candidates, left, right, term
    frequency tables, levels, shared values)."""
    cands = candidate_pairs(fragments, rules, max_block_size=max_block_size,
                            max_pairs=max_pairs, progress=bar, engine=engine)
    left, right = cands.left, cands.right
    if exclude_same_source and len(left):
        sources = fragments.summary["sources"].to_numpy(object)
        single = ~pd.Series(sources).str.contains("+", regex=False).to_numpy()
        drop = single[left] & single[right] & (sources[left] == sources[right])
        left, right = left[~drop], right[~drop]
    bar.message(f"blocking: {len(left):,} candidate fragment pairs")
    tf_tables = term_frequencies(fragments, comparisons)
    levels, shared = compare_pairs(fragments, left, right, comparisons, tf_tables=tf_tables,
                                   engine=engine)
    bar.update("compared pairs", len(left), len(left), "pairs")
    return cands, left, right, tf_tables, levels, shared


def _compared_linked(
    linked: tuple[Fragments, np.ndarray, np.ndarray]
    | Callable[[], tuple[Fragments, np.ndarray, np.ndarray] | None] | None,
    comparisons: Sequence[ComparisonSpec], engine: LocalEngine,
) -> np.ndarray | None:
    """The levels of the known matches (built first when ``linked`` is a function);
    None without known matches."""
    if callable(linked):
        linked = linked()
    if linked is None or not len(linked[1]):
        return None
    return compare_pairs(linked[0], linked[1], linked[2], comparisons, engine=engine)[0]


@dataclass(frozen=True)
class MatchResult:
    """Scored candidate pairs and the fitted model.

    ``pairs`` columns: fragment_l, fragment_r, match_weight, match_probability,
    ``w_<comparison>`` (contribution in bits) and ``l_<comparison>`` (level code).
    """

    pairs: pd.DataFrame
    model: FellegiSunter
    blocking: pd.DataFrame
    stats: dict[str, float | int] = field(default_factory=dict)


def match_fragments(
    fragments: Fragments,
    *,
    rules: Sequence[Sequence[str]] = DEFAULT_RULES,
    comparisons: Sequence[ComparisonSpec] = DEFAULT_COMPARISONS,
    model: FellegiSunter | None = None,
    exclude_same_source: bool = False,
    u_sample: int = 300_000,
    prior: float | None = None,
    max_block_size: int = 200,
    max_pairs: int = 200_000_000,
    seed: int = 0,
    linked: tuple[Fragments, np.ndarray, np.ndarray]
    | Callable[[], tuple[Fragments, np.ndarray, np.ndarray] | None] | None = None,
    progress: Progress | bool | None = None,
    engine: LocalEngine | None = None,
) -> MatchResult:
    """Block, compare and score fragment pairs.

    With ``model=None`` a :class:`FellegiSunter` is fitted unsupervised: u from
    ``u_sample`` random fragment pairs, m and the match rate by EM on the candidate
    pairs. A fitted model (e.g. loaded from JSON) is used as is. ``linked`` (see
    :func:`linked_record_pairs`, or a function returning them) gives known matches from
    deterministic links: the m of the people-level comparisons is then learnt from them
    and held fixed in EM. When a model is fitted, the known matches are built and
    compared while the candidate pairs are (the engine's :meth:`concurrently`).
    ``exclude_same_source`` drops pairs whose fragments both come from one single
    source (link-only between sources, as for Febrl4).
    """
    problems = validate_comparisons(comparisons)
    if problems:
        raise ConfigError(problems)
    bar = as_progress(progress)
    engine = engine or get_engine()
    if model is None:
        # the random pairs' and the known matches' levels do not depend on the
        # candidates: compared while the candidates are
        def training() -> tuple[np.ndarray, np.ndarray | None]:
            ru, rv = random_pairs(fragments.n, u_sample, seed)
            u_levels = compare_pairs(fragments, ru, rv, comparisons, engine=engine)[0]
            return u_levels, _compared_linked(linked, comparisons, engine)

        # a forked process where there is one: this work holds the GIL most of the time
        candidates, (u_levels, m_levels) = engine.concurrently(
            lambda: _compared_candidates(fragments, rules, comparisons, exclude_same_source,
                                         max_block_size, max_pairs, bar, engine),
            training, fork=True)
    else:
        candidates = _compared_candidates(fragments, rules, comparisons, exclude_same_source,
                                          max_block_size, max_pairs, bar, engine)
    cands, left, right, tf_tables, levels, shared = candidates

    if model is None:
        if prior is None:
            # EM starting point: the share of candidates that agree on name and birth
            # date or e-mail — a conservative deterministic estimate of the match rate
            strong = (levels[:, 0] >= 3) & ((levels[:, 1] >= 2) | (levels[:, 2] >= 2))
            prior = float(np.clip(strong.mean() if len(strong) else 0.01, 1e-4, 0.5))
        model = FellegiSunter(model_comparisons(comparisons), fix_u=False, max_iter=200,
                              progress=bar)
        m_names: tuple[str, ...] = ()
        if m_levels is not None:
            m_names = tuple(s.name for s in comparisons if s.method in LABEL_METHODS
                            and s.attribute not in IDENTIFIER_ATTRIBUTES)
            bar.message(f"m of {', '.join(m_names)} from {len(m_levels):,} linked record pairs")
        if len(left):
            model.fit(levels, u_levels=u_levels, prior=prior, m_levels=m_levels,
                      m_from_labels=m_names)
        else:
            model.fit(u_levels, u_levels=u_levels, prior=1e-4)

    tf_adjust = {}
    for spec in comparisons:
        if spec.tf and spec.name in shared:
            u_exact = model.u_exact(spec.name)
            tf_adjust[spec.name] = cmp.tf_adjustment(shared[spec.name], tf_tables[spec.name],
                                                     u_exact)
    scored = model.predict(levels, tf_adjust=tf_adjust or None)
    pairs = pd.DataFrame({"fragment_l": left, "fragment_r": right})
    pairs = pd.concat([pairs, scored.reset_index(drop=True)], axis=1)
    for j, spec in enumerate(comparisons):
        pairs[f"l_{spec.name}"] = levels[:, j]
    stats = {
        "candidate_pairs": len(left),
        "em_iterations": int(getattr(model, "n_iter_", 0)),
        "match_rate": float(getattr(model, "lambda_", float("nan"))),
    }
    return MatchResult(pairs=pairs, model=model, blocking=cands.report, stats=stats)
