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

import networkx as nx
import numpy as np
import pandas as pd

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


def build_links(
    touchpoints: pd.DataFrame,
    customer_id: pd.Series,
    identifier_edges: pd.DataFrame,
    fragment: np.ndarray,
    match_edges: pd.DataFrame | None,
    refused_edges: pd.DataFrame | None,
    comparisons: Sequence[tuple[str, tuple[str, ...]]] = (),
) -> pd.DataFrame:
    """The links table (see module doc) with the customer id of each edge."""
    nodes = record_nodes(touchpoints["source"], touchpoints["record_id"]).to_numpy()
    cust = customer_id.astype("string").to_numpy()
    frames = []
    if len(identifier_edges):
        rows = identifier_edges["row"].to_numpy()
        kinds = identifier_edges["kind"].astype("string")
        frames.append(pd.DataFrame({
            "customer_id": cust[rows],
            "link_type": "identifier",
            "a": nodes[rows],
            "b": ("id:" + kinds + ":" + identifier_edges["value"].astype("string")).to_numpy(),
            "kind": kinds.to_numpy(),
            "match_weight": np.nan,
            "match_probability": np.nan,
            "evidence": ("shared " + kinds).to_numpy(),
        }))
    # anchor record of each fragment: its first row
    anchor = pd.Series(np.arange(len(fragment))).groupby(fragment).min().to_numpy()
    for edges, link_type in ((match_edges, "match"), (refused_edges, "refused")):
        if edges is None or not len(edges):
            continue
        ra = anchor[edges["fragment_l"].to_numpy()]
        rb = anchor[edges["fragment_r"].to_numpy()]
        if link_type == "match":
            evidence = evidence_text(edges, comparisons).to_numpy()
            prob = edges["match_probability"].to_numpy()
        else:
            evidence = edges["reason"].astype(str).to_numpy()
            prob = edges["match_probability"].to_numpy() if "match_probability" in edges \
                else np.full(len(edges), np.nan)
        frames.append(pd.DataFrame({
            "customer_id": cust[ra],
            "link_type": link_type,
            "a": nodes[ra],
            "b": nodes[rb],
            "kind": "",
            "match_weight": edges["match_weight"].to_numpy(np.float64),
            "match_probability": prob,
            "evidence": evidence,
        }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in LINK_COLUMNS}).astype(
            {"match_weight": "float64", "match_probability": "float64"})
    links = pd.concat(frames, ignore_index=True)
    string_cols = ["customer_id", "link_type", "a", "b", "kind", "evidence"]
    return links[LINK_COLUMNS].astype(dict.fromkeys(string_cols, "string"))


def customer_graph(links: pd.DataFrame, customer_id: str) -> nx.Graph:
    """The identity graph of one customer: record and identifier nodes, identifier and
    match edges (refused edges are left out: they are not part of the customer)."""
    rows = links[(links["customer_id"] == customer_id) & (links["link_type"] != "refused")]
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
    nodes = nx.shortest_path(graph, a, b)
    rows = []
    for u, v in itertools.pairwise(nodes):
        data = graph.edges[u, v]
        rows.append({"a": u, "b": v, "link_type": data["link_type"],
                     "evidence": data["evidence"], "match_weight": data["match_weight"]})
    return pd.DataFrame(rows, columns=["a", "b", "link_type", "evidence", "match_weight"])
