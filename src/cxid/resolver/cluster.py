"""Clustering fragments into customers: connected components with guardrails.

Edges above the threshold are joined with scipy's connected components. A component
is *conflicting* when it would hold two account ids (or two loyalty ids, or birth
dates that clearly differ). Only conflicting components are re-clustered, strongest
edge first with a union-find that refuses any merge joining two exclusive values;
every refused edge is recorded with its reason. The bulk of the graph never leaves
vectorised code; the re-clustering is a pure function per component
(:func:`recluster_component`) that the engine maps over the conflicting components
(``map_groups``: one call locally, ``groupBy().applyInPandas`` on Spark).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxid._frames import unique_sorted
from cxid.engine import LocalEngine, get_engine
from cxid.link.compare import date_levels
from cxid.link.fragments import Fragments

log = logging.getLogger(__name__)

#: Profile attributes that one customer can hold only one value of.
EXCLUSIVE_ATTRIBUTES: tuple[str, ...] = ("account", "loyalty")


def connected_clusters(n: int, left: np.ndarray, right: np.ndarray,
                       engine: LocalEngine | None = None) -> np.ndarray:
    """Cluster label per node: connected components of the edge list, numbered densely
    in order of each component's first node."""
    return (engine or get_engine()).connected_components(n, left, right)


@dataclass(frozen=True)
class Clusters:
    """Cluster per fragment and the edges the guardrails refused.

    ``refused`` columns: fragment_l, fragment_r, match_weight, reason.
    """

    label: np.ndarray
    refused: pd.DataFrame


def _dates_clash(a: frozenset[str], b: frozenset[str]) -> bool:
    """True when both sides know full birth dates and none of them are the same date
    up to a typo or a day/month swap."""
    full_a = [d for d in a if not d.startswith("--")]
    full_b = [d for d in b if not d.startswith("--")]
    if not full_a or not full_b:
        return False
    left = np.repeat(full_a, len(full_b))
    right = np.tile(full_b, len(full_a))
    return bool((date_levels(left, right) < 2).all())


#: Output columns of :func:`recluster_component`: a ``root`` row per fragment
#: (``edge`` -1, no reason) and a row per refused edge (``fragment`` and ``root`` -1).
RECLUSTER_DTYPES: dict[str, str] = {"fragment": "int64", "root": "int64", "edge": "int64",
                                    "reason": "string"}


def component_problem(labels: np.ndarray, left: np.ndarray, right: np.ndarray,
                      weight: np.ndarray, values: pd.DataFrame) -> pd.DataFrame:
    """One long frame holding the re-clustering problem of some components.

    Rows of kind ``edge`` (``edge``: rank of the edge in the caller's order; fragment_l,
    fragment_r, match_weight) and of kind ``value`` (a value of ``fragment_l``:
    attribute, value); every row has its ``component`` from ``labels``. ``values`` has
    columns fragment, attribute, value.
    """
    left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
    fragment = values["fragment"].to_numpy(np.int64)
    n_edges, n_values = len(left), len(values)
    no_text = pd.Series(pd.NA, index=range(n_edges), dtype="string")

    def text(column: str) -> pd.Series:
        return pd.concat([no_text, values[column].astype("string").reset_index(drop=True)],
                         ignore_index=True)

    return pd.DataFrame({
        "kind": pd.array(np.repeat(["edge", "value"], [n_edges, n_values]), dtype="string"),
        "component": np.concatenate([labels[left], labels[fragment]]).astype(np.int64),
        "edge": np.concatenate([np.arange(n_edges, dtype=np.int64),
                                np.full(n_values, -1, np.int64)]),
        "fragment_l": np.concatenate([left, fragment]),
        "fragment_r": np.concatenate([right, np.full(n_values, -1, np.int64)]),
        "match_weight": np.concatenate([np.asarray(weight, np.float64),
                                        np.full(n_values, np.nan)]),
        "attribute": text("attribute"),
        "value": text("value"),
    })


def recluster_component(problem: pd.DataFrame, *, exclusive: tuple[str, ...],
                        birth_dates: bool) -> pd.DataFrame:
    """Union-find over the edges of one or more components (a frame of
    :func:`component_problem`), in ``edge`` order, refusing any merge that would put
    two values of an ``exclusive`` attribute in one cluster, or (``birth_dates``) join
    clashing birth dates through an edge whose fragments did not both carry a date.

    Returns :data:`RECLUSTER_DTYPES` rows: the root of every fragment seen, and every
    refused edge (by ``edge`` rank) with its reason. Pure and component-wise.
    """
    checks = list(exclusive) + (["birth_date"] if birth_dates else [])
    kind = problem["kind"].astype(object).to_numpy()
    edges = problem[kind == "edge"].sort_values("edge", kind="stable")
    values = problem[kind == "value"]
    sets: dict[str, dict[int, frozenset[str]]] = {a: {} for a in checks}
    grouped: dict[tuple[str, int], set[str]] = {}
    for f, a, v in zip(values["fragment_l"].tolist(), values["attribute"].tolist(),
                       values["value"].tolist(), strict=True):
        if a in sets:
            grouped.setdefault((a, f), set()).add(v)
    for (a, f), vs in grouped.items():
        sets[a][f] = frozenset(vs)

    parent: dict[int, int] = {}
    held: dict[int, dict[str, frozenset[str]]] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def holding(root: int) -> dict[str, frozenset[str]]:
        if root not in held:
            held[root] = {a: sets[a].get(root, frozenset()) for a in checks}
        return held[root]

    refused_edge: list[int] = []
    reasons: list[str] = []
    for e, a, b in zip(edges["edge"].tolist(), edges["fragment_l"].tolist(),
                       edges["fragment_r"].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ha, hb = holding(ra), holding(rb)
        reason = None
        for attr in exclusive:
            if ha[attr] and hb[attr] and not (ha[attr] <= hb[attr] or hb[attr] <= ha[attr]):
                reason = f"would join two {attr} ids"
                break
        if (reason is None and birth_dates
                and not (sets["birth_date"].get(a) and sets["birth_date"].get(b))
                and _dates_clash(ha["birth_date"], hb["birth_date"])):
            # the edge's own fragments did not both carry a date, so the model never
            # weighed the clash: this is a chain through a dateless fragment
            reason = "birth dates differ"
        if reason is not None:
            refused_edge.append(e)
            reasons.append(reason)
            continue
        parent[rb] = ra
        held[ra] = {attr: ha[attr] | hb[attr] for attr in checks}

    seen = pd.unique(np.concatenate([edges["fragment_l"].to_numpy(np.int64),
                                     edges["fragment_r"].to_numpy(np.int64),
                                     values["fragment_l"].to_numpy(np.int64)]))
    roots = [find(int(f)) for f in seen]
    n_seen, n_refused = len(seen), len(refused_edge)
    return pd.DataFrame({
        "fragment": np.concatenate([seen, np.full(n_refused, -1, np.int64)]).astype(np.int64),
        "root": np.array(roots + [-1] * n_refused, dtype=np.int64),
        "edge": np.array([-1] * n_seen + refused_edge, dtype=np.int64),
        "reason": pd.array([None] * n_seen + reasons, dtype="string"),
    })


def guarded_clusters(
    fragments: Fragments,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    *,
    exclusive: Sequence[str] = EXCLUSIVE_ATTRIBUTES,
    birth_dates: bool = True,
    engine: LocalEngine | None = None,
) -> Clusters:
    """Cluster fragments along edges (``left``, ``right``, ``weight``) without ever
    putting two values of an ``exclusive`` attribute in one cluster, nor (when
    ``birth_dates``) joining clusters whose birth dates clearly differ through an edge
    whose fragments did not both carry a date (a chain the model never judged)."""
    n = fragments.n
    labels = connected_clusters(n, left, right, engine)
    empty = pd.DataFrame({"fragment_l": np.array([], np.int64),
                          "fragment_r": np.array([], np.int64),
                          "match_weight": np.array([], float), "reason": []})
    if len(left) == 0:
        return Clusters(labels, empty)

    checks = list(exclusive) + (["birth_date"] if birth_dates else [])
    values = fragments.values[fragments.values["attribute"].isin(checks)]
    if birth_dates:
        values = values[~((values["attribute"] == "birth_date")
                          & values["value"].str.startswith("--"))]
    per_comp = (
        values.assign(comp=labels[values["fragment"].to_numpy()])
        .groupby(["comp", "attribute"], observed=True)["value"].nunique()
    )
    conflict = unique_sorted(per_comp[per_comp > 1].index.get_level_values("comp").to_numpy())
    if len(conflict) == 0:
        return Clusters(labels, empty)

    in_conflict = np.isin(labels, conflict)
    edge_mask = in_conflict[left]
    order = np.argsort(-weight[edge_mask], kind="stable")  # strongest first, stable
    el, er, ew = left[edge_mask][order], right[edge_mask][order], weight[edge_mask][order]
    rows = fragments.values[fragments.values["attribute"].isin(checks)]
    rows = rows[in_conflict[rows["fragment"].to_numpy()]]
    problem = component_problem(labels, el, er, ew, rows)
    result = (engine or get_engine()).map_groups(
        functools.partial(recluster_component, exclusive=tuple(exclusive),
                          birth_dates=birth_dates),
        problem, "component", RECLUSTER_DTYPES)

    roots = np.arange(n, dtype=np.int64)  # a fragment the function did not see is its root
    is_root = result["edge"].to_numpy() < 0
    roots[result["fragment"].to_numpy()[is_root]] = result["root"].to_numpy()[is_root]
    members = np.flatnonzero(in_conflict)
    new = labels.copy()
    new[members] = labels.max() + 1 + roots[members]
    cut = result[~is_root].sort_values("edge", kind="stable")
    edge = cut["edge"].to_numpy()
    refused_frame = pd.DataFrame({
        "fragment_l": el[edge].astype(np.int64), "fragment_r": er[edge].astype(np.int64),
        "match_weight": ew[edge].astype(np.float64),
        "reason": cut["reason"].astype(object).tolist()}) if len(cut) else empty
    log.info("clustering: %d conflicting components re-clustered, %d edges refused",
             len(conflict), len(cut))
    return Clusters(pd.factorize(new, sort=False)[0].astype(np.int64), refused_frame)
