"""Deterministic linking on Spark DataFrames (the frame flow, after
:mod:`cxid.engine.spark_read`).

The same result as :func:`cxid.link.identifiers.link_identifiers` on the local engine,
with the per-record tables kept on the executors:

* identifier values are exploded from each Arrow batch of the touchpoints by the
  local engine's own :func:`~cxid.link.identifiers.identifier_values`, with the row's
  account id and :func:`~cxid.link.identifiers.people_key`;
* each value gets a ``node`` key, ``rule << 56 | column << 48 | first row``: sorting
  by it is the local node order (rule order, then first appearance over the kind's
  columns taken one after the other);
* per value, its records, distinct account ids and people are counted by a
  ``groupBy``; :func:`~cxid.link.identifiers.suppression_verdict` judges them on the
  executors and only the suppressed values come to the driver;
* components by large-star/small-star (:func:`cxid.engine.spark.star_roots`) over
  record stars (each value's records joined to its first record);
* components reaching two account ids (few, small) are collected and replayed on the
  driver by the local :func:`~cxid.link.identifiers._replay_conflicts`, their new
  roots pushed back as a small DataFrame;
* fragment = dense rank of the component's first row, numbered on the executors from
  per-block root counts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from cxid._frames import arrow_strings
from cxid.config import IdentifierRule, default_identifier_rules
from cxid.engine.spark import SparkEngine, _collect_arrow, _jvm_lost, star_roots
from cxid.errors import ConfigError, CxidError
from cxid.link.identifiers import (
    _codes,
    _Graph,
    _replay_conflicts,
    identifier_values,
    people_key,
    refused_frame,
    suppression_verdict,
)
from cxid.schema import ARROW_STRING, IDENTIFIER_COLUMNS, require

log = logging.getLogger(__name__)

#: Bits of the node key: rule index above, column index in the kind, then first row.
_RULE_SHIFT, _COLUMN_SHIFT = 56, 48
#: Rows are numbered into fragments per block of ``1 << _BLOCK_BITS`` rows: only the
#: number of fragments per block comes to the driver.
_BLOCK_BITS = 20

_EXPLODED = pa.schema([("row", pa.int64()), ("rule", pa.int32()), ("col", pa.int32()),
                       ("value", pa.string()), ("account", pa.string()),
                       ("people", pa.string())])
_VERDICT = pa.schema([("node", pa.int64()), ("rule", pa.int32()), ("value", pa.string()),
                      ("records", pa.int64()), ("accounts", pa.int64()),
                      ("people", pa.int64()), ("reason", pa.string())])
_STRINGS = {pa.string(): ARROW_STRING, pa.large_string(): ARROW_STRING}.get


class FrameLinks(NamedTuple):
    """Deterministic links of a touchpoints DataFrame, as
    :class:`~cxid.link.identifiers.DeterministicLinks` but kept on the executors.

    ``fragment``: (row, fragment) for every touchpoint row. ``edges``: (row, node,
    kind, value), the memberships used as evidence; sorted by (row, node) they are in
    the local ``edges`` order. ``suppressed``, ``refused``, ``stats``: the local
    tables and counts (small: one row per value).
    """

    fragment: DataFrame
    edges: DataFrame
    suppressed: pd.DataFrame
    refused: pd.DataFrame
    stats: dict[str, int]
    n_fragments: int


def _explode_partition(rules: list[IdentifierRule], batches: Iterator[pa.RecordBatch]
                       ) -> Iterator[pa.RecordBatch]:
    """Executor side: every identifier value of every touchpoint row, with the row's
    account id and people key (what the suppression counts)."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        frame = batch.to_pandas(types_mapper=_STRINGS)
        rows = batch.column("row").to_numpy()
        account = arrow_strings(frame["account_norm"], large=False).combine_chunks()
        people = arrow_strings(people_key(frame), large=False).combine_chunks()
        parts = []
        for rule, col, positions, values in identifier_values(frame, rules):
            at = pa.array(positions)
            n = len(positions)
            parts.append(pa.Table.from_arrays(
                [pa.array(rows[positions]), pa.array(np.full(n, rule, np.int32)),
                 pa.array(np.full(n, col, np.int32)),
                 values.cast(pa.string()).combine_chunks(),
                 account.take(at), people.take(at)], schema=_EXPLODED))
        if parts:
            yield from _one_per_row_value(pa.concat_tables(parts)).to_batches()


def _one_per_row_value(table: pa.Table) -> pa.Table:
    """One membership per (row, rule, value), with its smallest column: e-mail and
    reply-to may carry the same address. A row lives in one batch, so deduplicating
    here (Arrow's hash grouping) spares a shuffle and lets a value's records be
    counted with ``count`` instead of a distinct count."""
    keys = ["row", "rule", "value"]
    firsts = (table.append_column("at", pa.array(np.arange(table.num_rows)))
              .group_by(keys, use_threads=False)
              .aggregate([("col", "min"), ("at", "min")]))
    at = firsts.column("at_min")
    return pa.Table.from_arrays(
        [firsts.column("row"), firsts.column("rule"), firsts.column("col_min"),
         firsts.column("value"), table.column("account").take(at),
         table.column("people").take(at)], schema=_EXPLODED)


def _verdict_partition(rules: list[IdentifierRule], batches: Iterator[pa.RecordBatch]
                       ) -> Iterator[pa.RecordBatch]:
    """Executor side: the per-value counts judged by the local verdict; only the
    suppressed values go on, with their reason."""
    kinds = np.array([r.kind for r in rules], dtype=object)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        bad, reason = suppression_verdict(
            batch.column("accounts").to_numpy(), batch.column("people").to_numpy(),
            kinds[batch.column("rule").to_numpy()], rules)
        if len(bad):
            taken = batch.take(pa.array(bad))
            yield pa.RecordBatch.from_arrays(
                [taken.column(f.name) for f in _VERDICT if f.name != "reason"]
                + [pa.array(reason.tolist(), pa.string())], schema=_VERDICT)


def _node_edges(touchpoints: DataFrame, rules: list[IdentifierRule]) -> DataFrame:
    """One row per (row, node): row, node key, rule, value, account, people, and the
    node's hub (first row) and counts (records, distinct non-null account ids and
    people: ``n_records``, ``n_accounts``, ``n_people``).

    Everything per value comes from one window over (rule, value): a single shuffle
    and sort, where per-value ``groupBy`` with two ``countDistinct`` (which Spark
    expands to three copies of the rows) and a second window for the hubs cost four.
    ``collect_set`` drops nulls, as ``countDistinct`` does."""
    columns = ["row", "account_norm", "first_name_norm", "last_name_norm"]
    columns += [c for r in rules if r.deterministic for c in IDENTIFIER_COLUMNS[r.kind]
                if c in touchpoints.columns and c not in columns]
    exploded = touchpoints.select(*columns).mapInArrow(
        functools.partial(_explode_partition, rules), from_arrow_schema(_EXPLODED))
    value = Window.partitionBy("rule", "value")
    first = F.min(F.shiftleft(F.col("col").cast("long"), _COLUMN_SHIFT) + F.col("row"))
    node = F.shiftleft(F.col("rule").cast("long"), _RULE_SHIFT) + first.over(value)
    return exploded.select(
        "row", node.alias("node"), "rule", "value", "account", "people",
        F.min("row").over(value).alias("hub"),
        F.count(F.lit(1)).over(value).alias("n_records"),
        F.size(F.collect_set("account").over(value)).cast("long").alias("n_accounts"),
        F.size(F.collect_set("people").over(value)).cast("long").alias("n_people"))


def _suppressed(edges: DataFrame, rules: list[IdentifierRule]
                ) -> tuple[pd.DataFrame, np.ndarray]:
    """The suppressed values (the local table, in node order) and their node keys.
    Judged on each node's hub row (one per node: memberships are unique per (row,
    node)), which carries the node's counts."""
    counts = edges.where(F.col("row") == F.col("hub")).select(
        "node", "rule", "value", F.col("n_records").alias("records"),
        F.col("n_accounts").alias("accounts"), F.col("n_people").alias("people"))
    table = _collect_arrow(counts.mapInArrow(functools.partial(_verdict_partition, rules),
                                             from_arrow_schema(_VERDICT)))
    table = table.sort_by("node")
    kinds = np.array([r.kind for r in rules], dtype=object)
    suppressed = pd.DataFrame({
        "kind": kinds[table["rule"].to_numpy()] if table.num_rows else np.array([], object),
        "value": np.array(table["value"].to_pylist(), dtype=object),
        "records": table["records"].to_numpy().astype(np.int64),
        "accounts": table["accounts"].to_numpy().astype(np.int64),
        "people": table["people"].to_numpy().astype(np.int64),
        "reason": np.array(table["reason"].to_pylist(), dtype=object),
    })
    return suppressed, table["node"].to_numpy().astype(np.int64)


def _without(engine: SparkEngine, df: DataFrame, frame: pd.DataFrame) -> DataFrame:
    """``df`` without the rows matching one of ``frame``'s (small, broadcast) keys."""
    if frame.empty:
        return df
    return df.join(F.broadcast(engine._to_spark(frame)), list(frame.columns), "left_anti")


def _replay(engine: SparkEngine, kept: DataFrame, comp: DataFrame,
            rules: list[IdentifierRule]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Replay the components that reach two account ids on the driver, as the local
    engine does. Returns the new roots of their rows (row, new_root), the edges no
    longer kept (row, node) and the refused values table."""
    # two distinct non-null account ids <=> min < max: a plain aggregation, where
    # countDistinct needs a second one
    conflicts = (comp.groupBy("root")
                 .agg((F.min("account") < F.max("account")).alias("two"))
                 .where(F.col("two")).select("root"))
    roots = _collect_arrow(conflicts)["root"].to_numpy()
    none = pd.DataFrame({"row": np.array([], np.int64)})
    if len(roots) == 0:
        return none.assign(new_root=none["row"]), none.assign(node=none["row"]), refused_frame()
    root_df = F.broadcast(engine._to_spark(pd.DataFrame({"root": roots.astype(np.int64)})))
    members = _collect_arrow(comp.join(root_df, "root").select("row", "root", "account"))
    members = members.sort_by("row")
    sub_rows = members["row"].to_numpy().astype(np.int64)
    row_df = F.broadcast(engine._to_spark(pd.DataFrame({"row": sub_rows})))
    links = _collect_arrow(kept.join(row_df, "row").select("row", "node", "rule", "value"))
    log.info("deterministic linking: %d components reach two account ids (%d records, "
             "%d memberships) replayed on the driver", len(roots), len(sub_rows),
             links.num_rows)

    # the conflicting part as a local graph: rows and nodes renumbered in order, so
    # the replay's tie-breaks (node order, first row) are the local engine's
    node_key, first = np.unique(links["node"].to_numpy(), return_index=True)
    kinds = np.array([r.kind for r in rules], dtype=object)
    values = np.array(links["value"].to_pylist(), dtype=object)
    graph = _Graph(row=np.searchsorted(sub_rows, links["row"].to_numpy()).astype(np.int64),
                   node=np.searchsorted(node_key, links["node"].to_numpy()).astype(np.int64),
                   node_kind=kinds[links["rule"].to_numpy()[first]],
                   node_value=values[first])
    labels = np.unique(members["root"].to_numpy(), return_inverse=True)[1].astype(np.int64)
    accounts = _codes(pd.Series(members["account"].to_pylist(), dtype=ARROW_STRING))
    keep = np.ones(len(graph.row), bool)
    new_labels, keep, refused = _replay_conflicts(labels, graph, keep, accounts, rules)
    new_root = pd.Series(sub_rows).groupby(new_labels).transform("min").to_numpy()
    moved = new_root != members["root"].to_numpy()
    dropped = pd.DataFrame({"row": sub_rows[graph.row[~keep]],
                            "node": node_key[graph.node[~keep]]})
    return (pd.DataFrame({"row": sub_rows[moved], "new_root": new_root[moved]}), dropped,
            refused)


def _fragments(row_root: DataFrame) -> tuple[DataFrame, int]:
    """(row, fragment): the dense rank of each row's root (its component's first row),
    numbered on the executors; the driver sees one count per block of rows."""
    roots = (row_root.where(F.col("row") == F.col("root"))
             .select("row", F.shiftright("row", _BLOCK_BITS).alias("block")))
    counts = _collect_arrow(roots.groupBy("block").count()).sort_by("block")
    blocks = counts["block"].to_numpy()
    sizes = counts["count"].to_numpy().astype(np.int64)
    n_fragments = int(sizes.sum())
    if n_fragments == 0:
        return row_root.select("row", F.lit(0).cast("long").alias("fragment")), 0
    before = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    offset = F.create_map(*[F.lit(int(x)).cast("long")
                            for pair in zip(blocks, before, strict=True) for x in pair])
    rank = F.row_number().over(Window.partitionBy("block").orderBy("row"))
    numbered = roots.select(F.col("row").alias("root"),
                            (offset[F.col("block")] + rank - 1).cast("long").alias("fragment"))
    return row_root.join(numbered, "root").select("row", "fragment"), n_fragments


@_jvm_lost
def link_identifiers_frame(engine: SparkEngine, touchpoints: DataFrame,
                           rules: Sequence[IdentifierRule] | None = None) -> FrameLinks:
    """Deterministic linking of a touchpoints DataFrame (normalised columns plus a
    ``row`` long column numbering the rows 0..n-1, as :func:`read_touchpoints_frame`
    gives), with exactly the result of :func:`cxid.link.identifiers.link_identifiers`
    on the same rows. Per-record data stays on the executors; the driver receives the
    suppressed values, the conflicting components' rows and a few counts."""
    rules = list(rules) if rules is not None else list(default_identifier_rules())
    # DataFrame.columns is a list: the local contract check applies as is
    require(touchpoints, ["row", "account_norm", "first_name_norm", "last_name_norm"],
            "normalised touchpoints")
    if len(rules) >= 1 << (63 - _RULE_SHIFT):  # the node key must fit a long
        raise ConfigError(f"at most {(1 << (63 - _RULE_SHIFT)) - 1} identifier rules")
    n = touchpoints.count()
    if n >= 1 << _COLUMN_SHIFT:
        raise CxidError(f"at most {1 << _COLUMN_SHIFT} touchpoints per run")

    edges = _node_edges(touchpoints, rules).localCheckpoint()
    suppressed, bad = _suppressed(edges, rules)
    kept = (_without(engine, edges, pd.DataFrame({"node": bad}))
            .select("row", "node", "rule", "value", "account", "hub").localCheckpoint())

    # components over records: each value's records joined to its first record (hub)
    spokes = kept.where(F.col("row") != F.col("hub")).select(
        F.col("row").alias("a"), F.col("hub").alias("b"))
    roots = star_roots(spokes).withColumnRenamed("node", "row")
    # every row with its account id and root (a row without kept edges is its own):
    # one join, where the rows of the kept edges and then all rows took two
    comp = (touchpoints.select("row", F.col("account_norm").alias("account"))
            .join(roots, "row", "left")
            .select("row", "account", F.coalesce("root", "row").alias("root"))
            .localCheckpoint())

    moved, dropped, refused = _replay(engine, kept, comp, rules)
    row_root = comp.select("row", "root")
    if not moved.empty:
        row_root = (row_root.join(F.broadcast(engine._to_spark(moved)), "row", "left")
                    .select("row", F.coalesce("new_root", "root").alias("root"))
                    .localCheckpoint())
    kept = _without(engine, kept, dropped)

    fragment, n_fragments = _fragments(row_root)
    fragment = fragment.localCheckpoint()
    kind = F.element_at(F.array(*[F.lit(r.kind) for r in rules]), F.col("rule") + 1)
    out_edges = kept.select("row", "node", kind.alias("kind"), "value").localCheckpoint()
    stats = {
        "records": n,
        "identifier_edges": out_edges.count(),
        "suppressed_values": len(suppressed),
        "refused_values": len(refused),
        "fragments": n_fragments,
    }
    log.info("deterministic linking on Spark: %d records -> %d fragments (%d values "
             "suppressed, %d refused)", n, n_fragments, len(suppressed), len(refused))
    return FrameLinks(fragment=fragment, edges=out_edges, suppressed=suppressed,
                      refused=refused, stats=stats, n_fragments=n_fragments)
