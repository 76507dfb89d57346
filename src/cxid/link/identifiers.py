"""Deterministic linking: records sharing a strong identifier value are one person.

Records and identifier values form a bipartite graph (record -- ``email:x``), whose
connected components are the *fragments*. This is linear in the number of records:
no record pair is ever enumerated.

Guardrails keep junk from gluing people together:

* a value seen with more distinct account ids, or more distinct people (name keys),
  than its kind allows is *suppressed*: it is not evidence (the family tablet, the
  e-mail a couple shares, a call-centre phone number);
* account ids are exclusive: when a component still reaches two account ids through
  a chain of values, the values of that component are replayed strongest kind first
  and a value whose union would join two accounts is *refused*.

Both lists are returned so every decision can be audited.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxid.config import IdentifierRule, default_identifier_rules
from cxid.engine import LocalEngine, get_engine
from cxid.schema import IDENTIFIER_COLUMNS, require

log = logging.getLogger(__name__)

EDGE_COLUMNS = ["row", "kind", "value"]


@dataclass(frozen=True)
class DeterministicLinks:
    """Result of deterministic linking over a normalised Touchpoints frame.

    ``fragment[i]`` is the fragment (dense id, ordered by first record) of row ``i``.
    ``edges`` are the record--identifier memberships that were used as evidence
    (columns row, kind, value). ``suppressed`` lists values that were not evidence
    (kind, value, records, accounts, people, reason); ``refused`` lists values whose
    union would have joined two account ids (kind, value, records, reason).
    """

    fragment: np.ndarray
    edges: pd.DataFrame
    suppressed: pd.DataFrame
    refused: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n_fragments(self) -> int:
        return int(self.fragment.max()) + 1 if len(self.fragment) else 0


def people_key(touchpoints: pd.DataFrame) -> pd.Series:
    """A coarse person key used to count distinct people behind an identifier value.

    Three-letter prefixes of first and last name, sorted so that swapped names give
    the same key; prefixes tolerate nicknames (Fred/Frédéric) and late typos. Null
    when either name is missing.
    """
    first = touchpoints["first_name_norm"].astype("string").str.slice(0, 3)
    last = touchpoints["last_name_norm"].astype("string").str.slice(0, 3)
    lo = first.where(first <= last, last)
    hi = last.where(first <= last, first)
    return (lo + "|" + hi).astype("string")


def identifier_edges(
    touchpoints: pd.DataFrame, rules: Sequence[IdentifierRule]
) -> pd.DataFrame:
    """Long table (row, kind, value) of every identifier value on every record, for
    the kinds whose rule is deterministic."""
    parts = []
    for rule in rules:
        if not rule.deterministic:
            continue
        for column in IDENTIFIER_COLUMNS[rule.kind]:
            if column not in touchpoints.columns:
                continue
            values = touchpoints[column]
            mask = values.notna().to_numpy()
            if not mask.any():
                continue
            rows = np.flatnonzero(mask)
            parts.append(
                pd.DataFrame(
                    {
                        "row": rows,
                        "kind": rule.kind,
                        "value": values.to_numpy(dtype=object)[rows],
                    }
                )
            )
    if not parts:
        return pd.DataFrame({"row": np.array([], np.int64), "kind": [], "value": []})
    edges = pd.concat(parts, ignore_index=True).drop_duplicates(["row", "kind", "value"])
    return edges.reset_index(drop=True)


def _suppress(
    edges: pd.DataFrame,
    accounts: np.ndarray,
    people: np.ndarray,
    rules: Sequence[IdentifierRule],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split edges into kept ones and a table of suppressed values with reasons."""
    counted = edges.assign(account=accounts[edges["row"].to_numpy()],
                           person=people[edges["row"].to_numpy()])
    per_value = counted.groupby(["kind", "value"], sort=False).agg(
        records=("row", "size"),
        accounts=("account", "nunique"),
        people=("person", "nunique"),
    ).reset_index()
    limits = pd.DataFrame(
        {
            "kind": [r.kind for r in rules],
            "max_accounts": [r.max_accounts if r.max_accounts is not None else -1 for r in rules],
            "max_people": [r.max_people if r.max_people is not None else -1 for r in rules],
        }
    )
    per_value = per_value.merge(limits, on="kind", how="left")
    too_many_accounts = (per_value["max_accounts"] >= 0) & (
        per_value["accounts"] > per_value["max_accounts"]
    )
    too_many_people = (per_value["max_people"] >= 0) & (
        per_value["people"] > per_value["max_people"]
    )
    bad = too_many_accounts | too_many_people
    suppressed = per_value[bad].copy()
    suppressed["reason"] = np.where(
        too_many_accounts[bad],
        "seen with " + suppressed["accounts"].astype(str) + " account ids (limit "
        + suppressed["max_accounts"].astype(str) + ")",
        "seen with " + suppressed["people"].astype(str) + " people (limit "
        + suppressed["max_people"].astype(str) + ")",
    )
    suppressed = suppressed[["kind", "value", "records", "accounts", "people", "reason"]]
    kept = edges.merge(suppressed[["kind", "value"]], on=["kind", "value"], how="left",
                       indicator=True)
    kept = kept[kept["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
    return kept, suppressed.reset_index(drop=True)


def _components(n_rows: int, edges: pd.DataFrame, engine: LocalEngine) -> np.ndarray:
    """Connected components of the record--value bipartite graph, labels per record."""
    if edges.empty:
        return np.arange(n_rows, dtype=np.int64)
    value_id = pd.MultiIndex.from_frame(edges[["kind", "value"]]).factorize()[0]
    n_values = int(value_id.max()) + 1
    rows = edges["row"].to_numpy(np.int64)
    labels = engine.connected_components(n_rows + n_values, rows, n_rows + value_id)
    return labels[:n_rows].astype(np.int64)


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


def _replay_conflicts(
    labels: np.ndarray,
    edges: pd.DataFrame,
    accounts: np.ndarray,
    rules: Sequence[IdentifierRule],
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Re-link the components that reach two account ids, strongest kind first,
    refusing any value whose union would join two accounts.

    Only conflicting components are replayed (few, small), so the Python union-find
    below never runs over the bulk of the data.
    """
    has_account = pd.Series(accounts).notna().to_numpy()
    acc_per_comp = (
        pd.DataFrame({"comp": labels[has_account], "acc": accounts[has_account]})
        .groupby("comp")["acc"].nunique()
    )
    conflict_comps = acc_per_comp.index[acc_per_comp > 1].to_numpy()
    empty_refused = pd.DataFrame(columns=["kind", "value", "records", "reason"])
    if len(conflict_comps) == 0:
        return labels, edges, empty_refused

    in_conflict = np.isin(labels, conflict_comps)
    conflict_rows = np.flatnonzero(in_conflict)
    edge_in = in_conflict[edges["row"].to_numpy()]
    replay = edges[edge_in]
    priority = {r.kind: r.priority for r in rules}
    replay = replay.assign(prio=replay["kind"].map(priority)).sort_values(
        ["prio", "kind", "value", "row"], kind="stable"
    )

    local = {int(r): i for i, r in enumerate(conflict_rows)}
    parent = np.arange(len(conflict_rows), dtype=np.int64)
    root_account: list[object] = [accounts[r] if has_account[r] else None for r in conflict_rows]
    refused_rows: list[tuple[str, str, int, str]] = []
    refused_keys: set[tuple[str, str]] = set()

    for (kind, value), group in replay.groupby(["kind", "value"], sort=False):
        members = [local[int(r)] for r in group["row"].to_numpy()]
        roots = {_find(parent, m) for m in members}
        accs = {root_account[r] for r in roots} - {None}
        if len(accs) > 1:
            refused_keys.add((kind, value))
            refused_rows.append(
                (kind, value, len(members), f"would join {len(accs)} account ids")
            )
            continue
        target = min(roots)
        acc = next(iter(accs)) if accs else None
        for r in roots:
            parent[r] = target
        root_account[target] = acc

    new_labels = labels.copy()
    roots = np.array([_find(parent, i) for i in range(len(conflict_rows))], dtype=np.int64)
    new_labels[conflict_rows] = labels.max() + 1 + roots
    refused = pd.DataFrame(refused_rows, columns=["kind", "value", "records", "reason"])
    if refused_keys:
        keys = pd.MultiIndex.from_frame(edges[["kind", "value"]])
        drop = keys.isin(list(refused_keys)) & edge_in
        edges = edges[~drop].reset_index(drop=True)
    return new_labels, edges, refused


def link_identifiers(
    touchpoints: pd.DataFrame,
    rules: Sequence[IdentifierRule] | None = None,
    *,
    engine: LocalEngine | None = None,
) -> DeterministicLinks:
    """Group normalised touchpoints into fragments through shared identifier values.

    ``touchpoints`` must carry the ``*_norm`` columns added by
    :func:`cxid.normalize.normalize_touchpoints`. ``rules`` default to
    :func:`cxid.config.default_identifier_rules`.
    """
    rules = list(rules) if rules is not None else list(default_identifier_rules())
    require(touchpoints, ["account_norm", "first_name_norm", "last_name_norm"],
            "normalised touchpoints")
    n = len(touchpoints)
    accounts = touchpoints["account_norm"].to_numpy(dtype=object)
    people = people_key(touchpoints).to_numpy(dtype=object)
    # pandas' NA is not hashable-equal across rows for nunique; use None
    accounts = np.where(pd.isna(accounts), None, accounts)
    people = np.where(pd.isna(people), None, people)

    edges = identifier_edges(touchpoints, rules)
    edges, suppressed = _suppress(edges, accounts, people, rules)
    labels = _components(n, edges, engine or get_engine())
    labels, edges, refused = _replay_conflicts(labels, edges, accounts, rules)
    fragment = pd.factorize(labels, sort=False)[0].astype(np.int64)

    stats = {
        "records": n,
        "identifier_edges": len(edges),
        "suppressed_values": len(suppressed),
        "refused_values": len(refused),
        "fragments": int(fragment.max()) + 1 if n else 0,
    }
    log.info(
        "deterministic linking: %d records -> %d fragments (%d values suppressed, %d refused)",
        n, stats["fragments"], stats["suppressed_values"], stats["refused_values"],
    )
    return DeterministicLinks(
        fragment=fragment, edges=edges, suppressed=suppressed, refused=refused, stats=stats
    )
