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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxid._frames import arrow_strings, unique_sorted
from cxid.config import IdentifierRule, default_identifier_rules
from cxid.engine import LocalEngine, get_engine
from cxid.schema import ARROW_STRING, IDENTIFIER_COLUMNS, require

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
    when either name is missing. Computed by Arrow: no Python string per record.
    """
    first = pc.utf8_slice_codeunits(arrow_strings(touchpoints["first_name_norm"]), 0, 3)
    last = pc.utf8_slice_codeunits(arrow_strings(touchpoints["last_name_norm"]), 0, 3)
    in_order = pc.less_equal(first, last)
    lo, hi = pc.if_else(in_order, first, last), pc.if_else(in_order, last, first)
    key = pc.binary_join_element_wise(lo, hi, pa.scalar("|", pa.large_string()))  # null if any
    return pd.Series(pd.array(key.cast(pa.string()), dtype=ARROW_STRING),
                     index=touchpoints.index)


def _codes(column: pd.Series) -> np.ndarray:
    """Code per row, equal for equal values, -1 for null (Arrow dictionary encoding)."""
    encoded = pc.dictionary_encode(arrow_strings(column).combine_chunks())
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


@dataclass(frozen=True)
class _Graph:
    """Record--value edges with integer node ids (one per (kind, value))."""

    row: np.ndarray  # int64, record row of each edge
    node: np.ndarray  # int64, identifier node of each edge
    node_kind: np.ndarray  # object, kind of each node
    node_value: np.ndarray  # object, value of each node

    def frame(self, keep: np.ndarray | None = None) -> pd.DataFrame:
        """Public (row, kind, value) form of the edges (optionally a subset)."""
        row, node = (self.row, self.node) if keep is None else (self.row[keep], self.node[keep])
        # values as Arrow strings taken from the node table: no Python object per edge
        values = pa.array(self.node_value, pa.large_string()).take(pa.array(node))
        codes, kinds = pd.factorize(self.node_kind)
        return pd.DataFrame({"row": row,
                             "kind": pd.Categorical.from_codes(codes[node], categories=kinds),
                             "value": pd.array(values, dtype=ARROW_STRING)})


def identifier_values(
    touchpoints: pd.DataFrame, rules: Sequence[IdentifierRule]
) -> Iterator[tuple[int, int, np.ndarray, pa.ChunkedArray]]:
    """Every identifier value of a batch of touchpoints, per deterministic rule (in rule
    order) and column of its kind (in :data:`IDENTIFIER_COLUMNS` order): the rule's
    index in ``rules``, the column's index in its kind, the positions of the rows where
    it is set (row order) and their values as Arrow large strings.

    The one definition of "identifier value of a record", shared by the local graph and
    the Spark frame flow (run there on each Arrow batch of the touchpoints)."""
    for rule_index, rule in enumerate(rules):
        if not rule.deterministic:
            continue
        for column_index, column in enumerate(IDENTIFIER_COLUMNS[rule.kind]):
            if column not in touchpoints.columns:
                continue
            col = touchpoints[column]
            mask = col.notna().to_numpy()
            if mask.any():
                yield (rule_index, column_index, np.flatnonzero(mask),
                       arrow_strings(col).filter(pa.array(mask)))


def _graph(touchpoints: pd.DataFrame, rules: Sequence[IdentifierRule]) -> _Graph:
    rows, nodes, kinds, values = [], [], [], []
    offset = 0
    # one node per (rule, value): values of a rule are numbered in first-appearance
    # order over its columns taken one after the other
    by_rule: dict[int, tuple[list[np.ndarray], list[pa.Array]]] = {}
    for rule_index, _, positions, found in identifier_values(touchpoints, rules):
        kind_rows, kind_values = by_rule.setdefault(rule_index, ([], []))
        kind_rows.append(positions)
        kind_values.extend(found.chunks)
    for rule_index, (kind_rows, kind_values) in by_rule.items():
        r = np.concatenate(kind_rows)
        # Arrow hashes the UTF-8 bytes (first-appearance order, like pd.factorize)
        encoded = pc.dictionary_encode(
            pa.chunked_array(kind_values, pa.large_string()).combine_chunks())
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        uniques = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        rows.append(r)
        nodes.append(codes.astype(np.int64) + offset)
        kinds.append(np.full(len(uniques), rules[rule_index].kind, dtype=object))
        values.append(uniques)
        offset += len(uniques)
    if not rows:
        empty = np.array([], np.int64)
        return _Graph(empty, empty, np.array([], object), np.array([], object))
    row, node = np.concatenate(rows), np.concatenate(nodes)
    # one edge per (row, node): e-mail and reply-to may carry the same address
    key = unique_sorted(row * offset + node)
    return _Graph(key // offset, key % offset, np.concatenate(kinds), np.concatenate(values))


def identifier_edges(
    touchpoints: pd.DataFrame, rules: Sequence[IdentifierRule]
) -> pd.DataFrame:
    """Long table (row, kind, value) of every identifier value on every record, for
    the kinds whose rule is deterministic."""
    return _graph(touchpoints, rules).frame()


def _distinct_per_node(node: np.ndarray, codes: np.ndarray, n_nodes: int) -> np.ndarray:
    """Number of distinct non-negative ``codes`` per node."""
    ok = codes >= 0
    if not ok.any():
        return np.zeros(n_nodes, np.int64)
    width = int(codes[ok].max()) + 1
    pairs = unique_sorted(node[ok] * width + codes[ok])
    return np.bincount(pairs // width, minlength=n_nodes)


def suppression_verdict(
    n_accounts: np.ndarray, n_people: np.ndarray, kinds: np.ndarray,
    rules: Sequence[IdentifierRule],
) -> tuple[np.ndarray, np.ndarray]:
    """Which identifier values are not evidence, and why.

    Per value: its distinct account ids and people (non-null), and its kind. Returns
    the indices of the values over their kind's limits and, for each, the reason text.
    Shared by both engines so that the verdict and its wording cannot drift apart.
    """
    limit = {r.kind: r for r in rules}
    max_acc = np.array([limit[k].max_accounts if limit[k].max_accounts is not None else -1
                        for k in kinds], np.int64)
    max_ppl = np.array([limit[k].max_people if limit[k].max_people is not None else -1
                        for k in kinds], np.int64)
    n_accounts = np.asarray(n_accounts, np.int64)
    n_people = np.asarray(n_people, np.int64)
    too_acc = (max_acc >= 0) & (n_accounts > max_acc)
    too_ppl = (max_ppl >= 0) & (n_people > max_ppl)
    bad = np.flatnonzero(too_acc | too_ppl)
    reason = np.where(
        too_acc[bad],
        np.char.add(np.char.add(np.char.add("seen with ", n_accounts[bad].astype(str)),
                                " account ids (limit "),
                    np.char.add(max_acc[bad].astype(str), ")")),
        np.char.add(np.char.add(np.char.add("seen with ", n_people[bad].astype(str)),
                                " people (limit "),
                    np.char.add(max_ppl[bad].astype(str), ")")),
    )
    return bad, reason.astype(object)


def _suppress(graph: _Graph, accounts: np.ndarray, people: np.ndarray,
              rules: Sequence[IdentifierRule]) -> tuple[np.ndarray, pd.DataFrame]:
    """Mask of edges kept, and a table of suppressed values with reasons."""
    n_nodes = len(graph.node_kind)
    records = np.bincount(graph.node, minlength=n_nodes)
    n_accounts = _distinct_per_node(graph.node, accounts[graph.row], n_nodes)
    n_people = _distinct_per_node(graph.node, people[graph.row], n_nodes)
    bad, reason = suppression_verdict(n_accounts, n_people, graph.node_kind, rules)
    suppressed = pd.DataFrame({
        "kind": graph.node_kind[bad], "value": graph.node_value[bad],
        "records": records[bad], "accounts": n_accounts[bad], "people": n_people[bad],
        "reason": reason,
    })
    bad_node = np.zeros(n_nodes, bool)
    bad_node[bad] = True
    return ~bad_node[graph.node], suppressed


def _components(n_rows: int, graph: _Graph, keep: np.ndarray,
                engine: LocalEngine) -> np.ndarray:
    """Connected components of the record--value bipartite graph, labels per record.

    The engine gets the same components over records only: each value's records are
    joined to the first of them (a star per value), so the graph has no value nodes
    and starts out as stars. Iterative algorithms (Spark's large-star/small-star)
    converge in fewer, smaller rounds; the labels are the same (dense, by first
    record).
    """
    if not keep.any():
        return np.arange(n_rows, dtype=np.int64)
    row, node = graph.row[keep], graph.node[keep]
    first = np.full(len(graph.node_kind), n_rows, np.int64)
    np.minimum.at(first, node, row)
    hub = first[node]
    spoke = row != hub
    labels = engine.connected_components(n_rows, row[spoke], hub[spoke])
    return labels.astype(np.int64)


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


def refused_frame() -> pd.DataFrame:
    """The refused-values table without rows (kind, value, records, reason)."""
    return pd.DataFrame({"kind": pd.Series(dtype=object), "value": pd.Series(dtype=object),
                         "records": pd.Series(dtype="int64"), "reason": pd.Series(dtype=object)})


def _replay_conflicts(
    labels: np.ndarray,
    graph: _Graph,
    keep: np.ndarray,
    accounts: np.ndarray,
    rules: Sequence[IdentifierRule],
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Re-link the components that reach two account ids, strongest kind first,
    refusing any value whose union would join two accounts.

    Only conflicting components are replayed (few, small), so the Python union-find
    below never runs over the bulk of the data.
    """
    empty_refused = refused_frame()
    has_account = accounts >= 0
    if not has_account.any():
        return labels, keep, empty_refused
    n_accounts = _distinct_per_node(labels[has_account], accounts[has_account],
                                    int(labels.max()) + 1)
    conflict_comps = np.flatnonzero(n_accounts > 1)
    if len(conflict_comps) == 0:
        return labels, keep, empty_refused

    in_conflict = np.isin(labels, conflict_comps)
    conflict_rows = np.flatnonzero(in_conflict)
    edge_in = keep & in_conflict[graph.row]
    priority = {r.kind: r.priority for r in rules}
    e_row, e_node = graph.row[edge_in], graph.node[edge_in]
    prio = np.array([priority[k] for k in graph.node_kind], np.int64)[e_node]
    order = np.lexsort((e_row, e_node, prio))
    e_row, e_node = e_row[order], e_node[order]

    local = np.full(len(labels), -1, np.int64)
    local[conflict_rows] = np.arange(len(conflict_rows))
    parent = np.arange(len(conflict_rows), dtype=np.int64)
    root_account = np.where(has_account[conflict_rows], accounts[conflict_rows], -1).tolist()
    refused_nodes: list[int] = []
    refused_rows: list[tuple[object, object, int, str]] = []

    starts = np.flatnonzero(np.r_[True, e_node[1:] != e_node[:-1]])
    ends = np.r_[starts[1:], len(e_node)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        members = local[e_row[start:end]].tolist()
        roots = {_find(parent, m) for m in members}
        accs = {root_account[r] for r in roots} - {-1}
        if len(accs) > 1:
            node = int(e_node[start])
            refused_nodes.append(node)
            refused_rows.append((graph.node_kind[node], graph.node_value[node], len(members),
                                 f"would join {len(accs)} account ids"))
            continue
        target = min(roots)
        acc = next(iter(accs)) if accs else -1
        for r in roots:
            parent[r] = target
        root_account[target] = acc

    new_labels = labels.copy()
    roots = np.array([_find(parent, i) for i in range(len(conflict_rows))], dtype=np.int64)
    new_labels[conflict_rows] = labels.max() + 1 + roots
    if not refused_rows:
        return new_labels, keep, empty_refused
    refused = pd.DataFrame(refused_rows, columns=["kind", "value", "records", "reason"])
    keep = keep & ~(np.isin(graph.node, refused_nodes) & in_conflict[graph.row])
    return new_labels, keep, refused


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
    accounts = _codes(touchpoints["account_norm"])
    people = _codes(people_key(touchpoints))

    graph = _graph(touchpoints, rules)
    keep, suppressed = _suppress(graph, accounts, people, rules)
    labels = _components(n, graph, keep, engine or get_engine())
    labels, keep, refused = _replay_conflicts(labels, graph, keep, accounts, rules)
    fragment = pd.factorize(labels, sort=False)[0].astype(np.int64)
    edges = graph.frame(keep)

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
