"""Clustering fragments into customers: connected components with guardrails.

Edges above the threshold are joined with scipy's connected components. A component
is *conflicting* when it would hold two account ids (or two loyalty ids, or birth
dates that clearly differ). Only conflicting components are re-clustered, strongest
edge first with a union-find that refuses any merge joining two exclusive values;
every refused edge is recorded with its reason. The bulk of the graph never leaves
vectorised code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def _values_by_fragment(fragments: Fragments, attribute: str,
                        among: np.ndarray) -> dict[int, frozenset[str]]:
    """Value sets of ``attribute`` for the fragments in ``among`` (conflicting ones)."""
    rows = fragments.attribute(attribute)
    rows = rows[np.isin(rows["fragment"].to_numpy(), among)]
    sets: dict[int, set[str]] = {}
    for f, v in zip(rows["fragment"].tolist(), rows["value"].tolist(), strict=True):
        sets.setdefault(f, set()).add(v)
    return {f: frozenset(v) for f, v in sets.items()}


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
    conflict = np.unique(per_comp[per_comp > 1].index.get_level_values("comp").to_numpy())
    if len(conflict) == 0:
        return Clusters(labels, empty)

    in_conflict = np.isin(labels, conflict)
    edge_mask = in_conflict[left]
    order = np.argsort(-weight[edge_mask], kind="stable")
    el, er, ew = left[edge_mask][order], right[edge_mask][order], weight[edge_mask][order]
    members = np.flatnonzero(in_conflict)
    sets = {attr: _values_by_fragment(fragments, attr, members) for attr in checks}

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

    refused = []
    # union-find over the edges of conflicting components only (few and small)
    for a, b, w in zip(el.tolist(), er.tolist(), ew.tolist(), strict=True):
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
            refused.append((a, b, w, reason))
            continue
        parent[rb] = ra
        held[ra] = {attr: ha[attr] | hb[attr] for attr in checks}

    new = labels.copy()
    roots = np.array([find(int(f)) for f in members], dtype=np.int64)
    new[members] = labels.max() + 1 + roots
    refused_frame = pd.DataFrame(refused, columns=["fragment_l", "fragment_r", "match_weight",
                                                   "reason"]) if refused else empty
    log.info("clustering: %d conflicting components re-clustered, %d edges refused",
             len(conflict), len(refused))
    return Clusters(pd.factorize(new, sort=False)[0].astype(np.int64), refused_frame)
