"""The identity graph as a links table, and explanations over it.

Nodes are records (``record:<source>:<record_id>``) and identifier values
(``id:<kind>:<value>``). Edges (the *links* table) are:

* ``identifier``: a record carries an identifier value that was used as evidence;
* ``match``: two fragments matched probabilistically (drawn between their anchor
  records), with the weight and the per-comparison evidence;
* ``refused``: a match above the threshold that guarded clustering refused, with why.

A customer's graph is the sub-graph of its links, as :class:`networkx.Graph`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxid.schema import ARROW_STRING

if TYPE_CHECKING:  # networkx is imported when a graph is asked for, not at start-up
    import networkx as nx

LINK_COLUMNS = ["customer_id", "link_type", "a", "b", "kind", "match_weight",
                "match_probability", "evidence"]


def record_nodes(source: pd.Series, record_id: pd.Series) -> pd.Series:
    return ("record:" + source.astype("string") + ":" + record_id.astype("string")).astype(
        "string")


def evidence_text(pairs: pd.DataFrame, comparisons: Sequence[tuple[str, tuple[str, ...]]]
                  ) -> pd.Series:
    """``name: exact (+10.5); birth_date: exact (+10.5); ...`` per scored pair, missing
    comparisons left out. ``comparisons`` are (name, level labels)."""
    parts = []
    for name, labels in comparisons:
        level = pairs[f"l_{name}"].to_numpy()
        weight = pairs[f"w_{name}"].to_numpy()
        label = np.asarray((*labels, ""), dtype=object)[level]  # -1 -> ""
        text = pd.Series(name + ": " + label.astype(str), dtype="string") + " (" + pd.Series(
            np.char.mod("%+.1f", weight.astype(float)), dtype="string") + ")"
        parts.append(text.where(level >= 0, ""))
    if not parts:
        return pd.Series([""] * len(pairs), dtype="string")
    joined = parts[0]
    for p in parts[1:]:
        joined = (joined + "; " + p).str.replace(r"^; |; $", "", regex=True)
    return joined.str.replace(r"(; )+", "; ", regex=True).astype("string")


_TEXT = pa.large_string()


def _text(values: pd.Series | np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """Values as an Arrow large_string array (zero-copy for Arrow-backed strings)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        arr = values
    elif isinstance(values, np.ndarray):
        arr = pa.array(values, from_pandas=True)
    else:
        arr = pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == _TEXT else arr.cast(_TEXT)


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of Arrow strings and literal strings."""
    args = [pa.scalar(p, _TEXT) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", _TEXT))


def _column(arr: pa.Array | str, n: int) -> pd.Series:
    if isinstance(arr, str):
        arr = pa.array([arr], _TEXT).take(pa.array(np.zeros(n, np.int64)))
    return pd.Series(pd.array(arr, dtype=ARROW_STRING))


def record_node_names(source: pd.Series | pa.Array, record_id: pd.Series | pa.Array
                      ) -> pa.Array:
    """``record:<source>:<record_id>`` per record, as Arrow large strings."""
    return _join("record:", _text(source), ":", _text(record_id))


def identifier_links(record: pa.Array, customer_id: pd.Series | pa.Array,
                     kind: pd.Series, value: pd.Series) -> pd.DataFrame:
    """The ``identifier`` links (``LINK_COLUMNS``) of identifier edges, from each edge's
    record (node name, see :func:`record_node_names`, and customer id) and identifier
    (kind, value)."""
    kinds = _text(kind)
    n = len(kinds)
    return pd.DataFrame({
        "customer_id": _column(_text(customer_id), n),
        "link_type": _column("identifier", n),
        "a": _column(record, n),
        "b": _column(_join("id:", kinds, ":", _text(value)), n),
        "kind": _column(kinds, n),
        "match_weight": np.full(n, np.nan),
        "match_probability": np.full(n, np.nan),
        "evidence": _column(_join("shared ", kinds), n),
    })


def fragment_links(edges: pd.DataFrame, link_type: str, customer_id: pa.Array,
                   a: pa.Array, b: pa.Array,
                   comparisons: Sequence[tuple[str, tuple[str, ...]]] = ()) -> pd.DataFrame:
    """The ``match`` or ``refused`` links (``LINK_COLUMNS``) of fragment pairs
    (``edges``: scored pairs, with ``reason`` when refused), drawn between their anchor
    records: node names ``a`` and ``b``, and ``customer_id``, of a's anchor."""
    n = len(edges)
    if link_type == "match":
        evidence = _text(evidence_text(edges, comparisons))
        prob = edges["match_probability"].to_numpy()
    else:
        evidence = _text(edges["reason"].astype(str).to_numpy(dtype=object))
        prob = edges["match_probability"].to_numpy() if "match_probability" in edges \
            else np.full(n, np.nan)
    return pd.DataFrame({
        "customer_id": _column(_text(customer_id), n),
        "link_type": _column(link_type, n),
        "a": _column(_text(a), n),
        "b": _column(_text(b), n),
        "kind": _column("", n),
        "match_weight": edges["match_weight"].to_numpy(np.float64),
        "match_probability": prob,
        "evidence": _column(evidence, n),
    })


def empty_links() -> pd.DataFrame:
    """A links table without rows."""
    return pd.DataFrame({c: pd.Series(dtype=ARROW_STRING) for c in LINK_COLUMNS}).astype(
        {"match_weight": "float64", "match_probability": "float64"})


def build_links(
    touchpoints: pd.DataFrame,
    customer_id: pd.Series,
    identifier_edges: pd.DataFrame,
    fragment: np.ndarray,
    match_edges: pd.DataFrame | None,
    refused_edges: pd.DataFrame | None,
    comparisons: Sequence[tuple[str, tuple[str, ...]]] = (),
) -> pd.DataFrame:
    """The links table (see module doc) with the customer id of each edge.

    Built with Arrow string kernels: at ten million records the edge table holds tens
    of millions of node names, which Python string objects would not afford.
    """
    nodes = record_node_names(touchpoints["source"], touchpoints["record_id"])
    cust = _text(customer_id)
    frames = []
    if len(identifier_edges):
        rows = pa.array(identifier_edges["row"].to_numpy(np.int64))
        frames.append(identifier_links(nodes.take(rows), cust.take(rows),
                                       identifier_edges["kind"], identifier_edges["value"]))
    # anchor record of each fragment: its first row
    anchor = pd.Series(np.arange(len(fragment))).groupby(fragment).min().to_numpy()
    for edges, link_type in ((match_edges, "match"), (refused_edges, "refused")):
        if edges is None or not len(edges):
            continue
        ra = pa.array(anchor[edges["fragment_l"].to_numpy()])
        rb = pa.array(anchor[edges["fragment_r"].to_numpy()])
        frames.append(fragment_links(
            edges, link_type, cust.take(ra), nodes.take(ra), nodes.take(rb), comparisons))
    if not frames:
        return empty_links()
    return pd.concat(frames, ignore_index=True)[LINK_COLUMNS]


def customer_graph(links: pd.DataFrame, customer_id: str) -> nx.Graph:
    """The identity graph of one customer: record and identifier nodes, identifier and
    match edges (refused edges are left out: they are not part of the customer)."""
    rows = links[(links["customer_id"] == customer_id) & (links["link_type"] != "refused")]
    import networkx as nx

    graph = nx.Graph(customer_id=customer_id)
    for col in ("a", "b"):
        for node in rows[col].unique().tolist():
            kind, _, rest = node.partition(":")
            sub, _, value = rest.partition(":")
            graph.add_node(node, node_type=kind, **({"source": sub, "record_id": value}
                                                    if kind == "record" else
                                                    {"kind": sub, "value": value}))
    for edge in rows.itertuples(index=False):
        graph.add_edge(edge.a, edge.b, link_type=edge.link_type, kind=edge.kind,
                       match_weight=edge.match_weight, evidence=edge.evidence)
    return graph


@dataclass(frozen=True)
class Explanation:
    """Why two records are (or are not) one customer.

    ``path`` lists the edges from ``a`` to ``b`` (columns a, b, link_type, evidence,
    match_weight) when they are one customer; otherwise ``closest`` holds the best
    scored pair between their fragments, if blocking ever compared them.
    """

    a: str
    b: str
    customer_a: str
    customer_b: str
    path: pd.DataFrame
    closest: pd.DataFrame

    @property
    def same_customer(self) -> bool:
        return self.customer_a == self.customer_b

    def text(self) -> str:
        if self.same_customer:
            lines = [f"{self.a} and {self.b} are one customer ({self.customer_a}):"]
            for step in self.path.itertuples(index=False):
                weight = "" if pd.isna(step.match_weight) else f" [{step.match_weight:+.1f} bits]"
                lines.append(f"  {step.a} -- {step.b}: {step.evidence}{weight}")
            return "\n".join(lines)
        lines = [f"{self.a} ({self.customer_a}) and {self.b} ({self.customer_b}) are "
                 "different customers."]
        if self.closest.empty:
            lines.append("  Their fragments were never compared (no shared blocking key).")
        else:
            c = self.closest.iloc[0]
            lines.append(f"  Best comparison: probability {c['match_probability']:.4f}, "
                         f"weight {c['match_weight']:+.1f} bits: {c['evidence']}")
            if "refused" in c and isinstance(c["refused"], str) and c["refused"]:
                lines.append(f"  The merge was refused: {c['refused']}")
        return "\n".join(lines)


def shortest_path_edges(graph: nx.Graph, a: str, b: str) -> pd.DataFrame:
    import networkx as nx

    nodes = nx.shortest_path(graph, a, b)
    rows = []
    for u, v in itertools.pairwise(nodes):
        data = graph.edges[u, v]
        rows.append({"a": u, "b": v, "link_type": data["link_type"],
                     "evidence": data["evidence"], "match_weight": data["match_weight"]})
    return pd.DataFrame(rows, columns=["a", "b", "link_type", "evidence", "match_weight"])
