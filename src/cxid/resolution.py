"""The result of a run: documented frames plus a manifest; writing, explaining."""

from __future__ import annotations

import functools
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cxid._frames import arrow_text
from cxid.engine import LocalEngine, get_engine
from cxid.errors import CxidError
from cxid.link.model import FellegiSunter
from cxid.resolver.graph import (
    Explanation,
    customer_graph,
    evidence_text,
    record_nodes,
    shortest_path_edges,
)
from cxid.resolver.state import State, swap_in

if TYPE_CHECKING:  # networkx is imported when a graph is asked for, not at start-up
    import networkx as nx

log = logging.getLogger(__name__)

#: Output files and what they hold (schemas are documented in the README).
OUTPUT_FILES = {
    "identities.parquet": "source, record_id, customer_id — one row per accepted record",
    "customers.parquet": "one row per customer: counts, first/last seen, profile fields",
    "links.parquet": "identity-graph edges with their evidence",
    "rejected.parquet": "source, file, line, record_id, reason, raw",
    "id_history.parquet": "old_customer_id, new_customer_id, reason, run",
    "identifier_guards.parquet": "identifier values set aside by the guardrails",
    "manifest.json": "inputs with hashes and counts, counts in/out, config, version",
}
#: Written on request (``write(..., touchpoints=True)``, ``--write-touchpoints``): the
#: normalised touchpoints, readable again as a source of kind ``touchpoints``.
TOUCHPOINTS_FILE = "touchpoints.parquet"


@dataclass(frozen=True, eq=False)
class Resolution:
    """Frames produced by :func:`cxid.resolve`.

    * ``identities``: source, record_id, customer_id — one row per accepted record.
    * ``customers``: one row per customer (see :func:`cxid.resolver.profile.build_profiles`).
    * ``links``: identity-graph edges (see :mod:`cxid.resolver.graph`).
    * ``rejected``: source, file, line, record_id, reason, raw.
    * ``id_history``: old_customer_id, new_customer_id, reason (merge/split), run.
    * ``touchpoints``: the normalised touchpoints (same row order as identities).
    * ``suppressed`` / ``refused``: identifier values the guardrails set aside.
    * ``fragment``: fragment id per touchpoint row; ``pairs``: scored fragment pairs;
      ``model``: the match model used.
    * ``manifest``: inputs with hashes and counts, counts in/out, config, version.
    """

    touchpoints: pd.DataFrame
    identities: pd.DataFrame
    customers: pd.DataFrame
    links: pd.DataFrame
    rejected: pd.DataFrame
    id_history: pd.DataFrame
    suppressed: pd.DataFrame
    refused: pd.DataFrame
    fragment: np.ndarray
    pairs: pd.DataFrame | None = None
    model: FellegiSunter | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    _registry: pd.DataFrame | None = None
    _cache: dict[str, Any] | None = None
    _suppression: pd.DataFrame | None = None

    # ------------------------------------------------------------------ reporting
    def summary(self) -> str:
        """A few lines of counts for humans (no personal data)."""
        return summary_text(self.manifest)

    def largest_customers(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` customers with the most records (worth a look for over-merging)."""
        return self.customers.nlargest(n, "records")[["customer_id", "records", "sources"]]

    # ------------------------------------------------------------------ graph
    def _record_node(self, record: str | tuple[str, str]) -> str:
        if isinstance(record, tuple):
            source, record_id = record
        else:
            source, sep, record_id = str(record).partition(":")
            if not sep:
                raise CxidError(f"record {record!r}: expected 'source:record_id'")
        node = f"record:{source}:{record_id}"
        return node

    def customer_of(self, record: str | tuple[str, str]) -> str:
        """Customer id of a record given as ``"source:record_id"`` or a tuple."""
        node = self._record_node(record)
        ids = self.identities
        nodes = record_nodes(ids["source"], ids["record_id"])
        hit = ids["customer_id"][nodes == node]
        if hit.empty:
            raise CxidError(f"record {node[len('record:'):]!r} is not in the identities "
                            "(unknown, or rejected: see .rejected)")
        return str(hit.iloc[0])

    def customer(self, customer_id: str) -> nx.Graph:
        """The identity graph of one customer as a :class:`networkx.Graph`."""
        if not (self.customers["customer_id"] == customer_id).any():
            raise CxidError(f"unknown customer id {customer_id!r}")
        graph = customer_graph(self.links, customer_id)
        ids = self.identities
        own = ids[ids["customer_id"] == customer_id]
        for node in record_nodes(own["source"], own["record_id"]).tolist():
            if node not in graph:  # a customer of one record has no edges
                _, source, record_id = node.split(":", 2)
                graph.add_node(node, node_type="record", source=source, record_id=record_id)
        return graph

    def explain(self, record_a: str | tuple[str, str],
                record_b: str | tuple[str, str]) -> Explanation:
        """Why two records are one customer (the path and each edge's evidence), or
        why not (their best comparison, and a refused merge if any)."""
        a, b = self._record_node(record_a), self._record_node(record_b)
        ca, cb = self.customer_of(record_a), self.customer_of(record_b)
        empty = pd.DataFrame(columns=["a", "b", "link_type", "evidence", "match_weight"])
        if ca == cb:
            path = shortest_path_edges(self.customer(ca), a, b) if a != b else empty
            return Explanation(a, b, ca, cb, path, pd.DataFrame())
        return Explanation(a, b, ca, cb, empty, self._closest(a, b))

    def _closest(self, a: str, b: str) -> pd.DataFrame:
        if self.pairs is None or self.model is None or not len(self.fragment):
            refused = self._refused_between(a, b)
            if refused.empty:
                return pd.DataFrame()
            return pd.DataFrame({"match_weight": refused["match_weight"].to_numpy(),
                                 "match_probability": refused["match_probability"].to_numpy(),
                                 "evidence": "", "refused": refused["evidence"].to_numpy()})
        nodes = record_nodes(self.touchpoints["source"], self.touchpoints["record_id"])
        fa = int(self.fragment[np.flatnonzero((nodes == a).to_numpy())[0]])
        fb = int(self.fragment[np.flatnonzero((nodes == b).to_numpy())[0]])
        lo, hi = min(fa, fb), max(fa, fb)
        rows = self.pairs[(self.pairs["fragment_l"] == lo) & (self.pairs["fragment_r"] == hi)]
        if rows.empty:
            return pd.DataFrame()
        comps = [(c.name, c.levels) for c in self.model.comparisons]
        out = rows[["match_weight", "match_probability"]].copy()
        out["evidence"] = evidence_text(rows, comps).to_numpy()
        refused = self._refused_between(a, b)
        out["refused"] = refused["evidence"].iloc[0] if len(refused) else ""
        return out.reset_index(drop=True)

    def _refused_between(self, a: str, b: str) -> pd.DataFrame:
        """Refused merges between the customers of records ``a`` and ``b``."""
        ids = self.identities
        nodes = record_nodes(ids["source"], ids["record_id"])
        ca = set(ids["customer_id"][nodes == a]) | set(ids["customer_id"][nodes == b])
        node_customer = pd.Series(ids["customer_id"].to_numpy(), index=nodes.to_numpy())
        refused = self.links[self.links["link_type"] == "refused"]
        ends_a = refused["a"].map(node_customer)
        ends_b = refused["b"].map(node_customer)
        return refused[ends_a.isin(ca) & ends_b.isin(ca) & (ends_a != ends_b)]

    @classmethod
    def load(cls, path: str | Path) -> Resolution:
        """Read outputs written by :meth:`write` (enough for ``explain``, ``customer``
        and the tables; the touchpoints and scored pairs are not part of the outputs)."""
        folder = Path(path)
        if not (folder / "manifest.json").exists():
            raise CxidError(f"{folder} holds no cxid outputs (no manifest.json)")
        def read(name: str) -> pd.DataFrame:
            # strings come back as objects (a Spark-written folder) or Python-backed
            # strings: restore the Arrow strings the tables hold in memory
            return arrow_text(pd.read_parquet(folder / name))

        model = folder / "model.json"
        return cls(
            touchpoints=pd.DataFrame(),
            identities=read("identities.parquet"),
            customers=read("customers.parquet"),
            links=read("links.parquet"),
            rejected=read("rejected.parquet"),
            id_history=read("id_history.parquet"),
            suppressed=pd.DataFrame(),
            refused=pd.DataFrame(),
            fragment=np.array([], np.int64),
            model=FellegiSunter.load(model) if model.exists() else None,
            manifest=json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
        )

    # ------------------------------------------------------------------ writing
    def write(self, path: str | Path, *, engine: str | LocalEngine | None = None,
              touchpoints: bool = False) -> Path:
        """Write the outputs to folder ``path`` atomically.

        Files are written to a temporary sibling folder which then replaces ``path``
        by renames, so a crash mid-write leaves the previous outputs intact. The
        engine writes the tables (Spark writes each as a folder of parquet parts).
        With ``touchpoints``, the normalised touchpoints go to ``touchpoints.parquet``
        too (text as Arrow strings), to resolve again later as a source of kind
        ``touchpoints`` without reading and normalising the native files.
        """
        if touchpoints and not len(self.touchpoints.columns):
            raise CxidError("this Resolution holds no touchpoints to write (one loaded "
                            "from outputs has none)")
        eng = get_engine(engine)
        tables = {
            "identities": self.identities, "customers": self.customers,
            "links": self.links, "rejected": self.rejected, "id_history": self.id_history,
            "identifier_guards": guard_table(self.suppressed, self.refused),
        }
        if touchpoints:
            tables[TOUCHPOINTS_FILE.removesuffix(".parquet")] = \
                touchpoints_output(self.touchpoints)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            # largest first: the engine may write them at once (threads, locally)
            eng.concurrently(*(functools.partial(eng.write_table, frame,
                                                 tmp / f"{name}.parquet")
                               for name, frame in sorted(tables.items(),
                                                         key=lambda t: -len(t[1]))))
            if self.model is not None:
                self.model.save(tmp / "model.json")
            (tmp / "manifest.json").write_text(
                json.dumps(self.manifest, indent=2, default=str, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            swap_in(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("wrote outputs to %s", target)
        return target

    def save_state(self, path: str | Path) -> Path:
        """Write the state folder the next run resumes from (ids, model, input cache)."""
        state = State.load(path)
        state.save(
            run=int(self.manifest.get("run", 1)),
            identities=self.identities,
            registry=self._registry if self._registry is not None else pd.DataFrame(),
            history=self.id_history,
            model_json=self.model.to_json() if self.model is not None else None,
            suppression=(self._suppression if self._suppression is not None
                         else state.suppression),
            cache=self._cache or {},
            info={"cxid_version": self.manifest.get("cxid_version"),
                  "inputs": self.manifest.get("inputs", []),
                  "config": self.manifest.get("config", {})},
        )
        return Path(path)


def touchpoints_output(touchpoints: pd.DataFrame) -> pd.DataFrame:
    """The touchpoints as ``touchpoints.parquet`` holds them: the categorical columns
    (file, user agent) decoded to Arrow strings, everything else as it is."""
    out = touchpoints.reset_index(drop=True)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            values = pa.array(out[c].array).cast(pa.large_string())
            out[c] = pd.arrays.ArrowStringArray(values)
    return out


def guard_table(suppressed: pd.DataFrame, refused: pd.DataFrame) -> pd.DataFrame:
    """The identifier_guards output: the values deterministic linking suppressed and
    refused, with a ``decision`` column saying which."""
    guards = pd.concat([suppressed.assign(decision="suppressed"),
                        refused.assign(decision="refused")], ignore_index=True)
    return guards.astype({c: "string" for c in ("kind", "value", "reason", "decision")
                          if c in guards.columns})


def summary_text(manifest: dict[str, Any]) -> str:
    """A few lines of counts of a run manifest for humans (no personal data)."""
    c = manifest.get("counts", {})
    lines = [
        f"records in        {c.get('records_in', 0):>10,}",
        f"identities        {c.get('identities', 0):>10,}",
        f"rejected          {c.get('rejected', 0):>10,}",
        f"customers         {c.get('customers', 0):>10,}",
        f"largest customer  {c.get('largest_customer', 0):>10,} records",
        f"candidate pairs   {c.get('candidate_pairs', 0):>10,}",
        f"match edges       {c.get('match_edges', 0):>10,}",
        f"merges refused    {c.get('merges_refused', 0):>10,}",
        f"identifier values suppressed {c.get('identifier_values_suppressed', 0):,}, "
        f"refused {c.get('identifier_values_refused', 0):,}",
        "customer sizes: " + ", ".join(
            f"{k}: {v:,}" for k, v in manifest.get("cluster_sizes", {}).items() if v),
    ]
    for reason, n in manifest.get("rejected_by_reason", {}).items():
        lines.append(f"  rejected: {reason}: {n:,}")
    return "\n".join(lines)
