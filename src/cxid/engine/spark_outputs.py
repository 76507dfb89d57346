"""The frame flow's per-record stages on Spark: fragments, linked record pairs, customer
ids, profiles and links, from touchpoints that stay on the executors.

Each function equals its local counterpart (same values, same order) and runs the
same code: the pure parts of :func:`~cxid.link.fragments.build_fragments`,
:func:`~cxid.link.match.linked_record_pairs`,
:func:`~cxid.resolver.ids.customer_ids_from_clusters`,
:func:`~cxid.resolver.profile.build_profiles` and
:func:`~cxid.resolver.graph.build_links` run on the executors over hash buckets of
whole fragments or customers (``groupBy(pmod(xxhash64(key), B)).applyInPandas``: one
pandas call per bucket, not per key), or batch by batch (``mapInArrow``). The driver
receives only per-fragment, per-customer, per-pair or bounded data: fragment profiles,
one anchor key per cluster, at most ``2 * max_pairs`` training records, and the anchor
records of the scored pairs. Touchpoints carry ``row`` (long): the record's position in
the local engine's frame, which every tie-break and order below follows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

from cxid.engine.spark import SparkEngine, _collect_arrow
from cxid.link.fragments import (
    FragmentParts,
    Fragments,
    assemble_fragments,
    attribute_columns,
    build_fragments,
    fragment_parts,
)
from cxid.link.match import PEOPLE_COLUMNS, pair_records, record_pairs, sample_positions
from cxid.resolver.graph import (
    LINK_COLUMNS,
    fragment_links,
    identifier_links,
    record_node_names,
)
from cxid.resolver.ids import _fresh_ids, _key_hashes, record_keys
from cxid.resolver.profile import DEFAULT_SOURCE_PRIORITY, PROFILE_FIELDS, build_profiles
from cxid.schema import ARROW_STRING

log = logging.getLogger(__name__)

#: Helper columns: hash bucket, and the sort keys of the links (section, two keys).
_BUCKET, _SECTION, _K1, _K2 = "__cxid_bucket__", "__cxid_s__", "__cxid_k1__", "__cxid_k2__"
#: Pairs are ranked in ranges of this many rows (one window partition each).
_RANK_RANGE_BITS = 16
#: Arrow text -> Arrow-backed pandas strings (no Python string per value).
_TEXT_DTYPES = {pa.string(): ARROW_STRING, pa.large_string(): ARROW_STRING}


def _buckets(engine: SparkEngine) -> int:
    """Hash buckets per grouped stage: enough for every core and shuffle partition."""
    spark = engine.spark
    return max(2 * spark.sparkContext.defaultParallelism,
               int(spark.conf.get("spark.sql.shuffle.partitions") or 1))


def _by_bucket(df: DataFrame, key: str, function: Callable[[pd.DataFrame], pd.DataFrame],
               schema: T.StructType, buckets: int) -> DataFrame:
    """``function`` on each hash bucket of ``key`` (whole keys per bucket), the bucket's
    rows sorted by ``row``: one pandas call per bucket, not per key."""
    keyed = df.withColumn(_BUCKET, F.pmod(F.xxhash64(key), F.lit(buckets)))

    def worker(group):  # no type hints: Spark would try to read the UDF type from them
        rows = group.drop(columns=_BUCKET).sort_values("row", kind="stable")
        return function(rows.reset_index(drop=True))

    return keyed.groupBy(_BUCKET).applyInPandas(worker, schema)


def _pandas(table: pa.Table) -> pd.DataFrame:
    """A collected table as pandas, text as Arrow strings (as the local frames hold it)."""
    return table.to_pandas(types_mapper=_TEXT_DTYPES.get)


def _numbers(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"row": np.asarray(values, np.int64)})


# --------------------------------------------------------------------------- fragments
_PARTS_SCHEMA = T.StructType([
    T.StructField("what", T.IntegerType()), T.StructField("fragment", T.LongType()),
    T.StructField("row", T.LongType()), T.StructField("part", T.LongType()),
    T.StructField("n", T.LongType()), T.StructField("a", T.StringType()),
    T.StructField("b", T.StringType()), T.StructField("c", T.StringType()),
])


def _fragment_columns(columns: Sequence[str]) -> list[str]:
    """Touchpoint columns :func:`fragment_parts` reads."""
    wanted = [c for _, c in attribute_columns(columns)]
    wanted += ["source", "first_name_norm", "last_name_norm"]
    return [c for c in dict.fromkeys(wanted) if c in columns]


def _parts_rows(parts: FragmentParts) -> pd.DataFrame:
    """The parts of a bucket as one frame (``what``: 0 values, 1 names, 2 addresses,
    3 summary, 4 distinct (fragment, source))."""
    sources = parts.sources.drop_duplicates()
    pieces = [
        (parts.values, {"part": "part", "a": "value", "b": "attribute"}),
        (parts.names, {"a": "first", "b": "last"}),
        (parts.addresses, {"a": "street", "b": "postcode", "c": "city"}),
        (parts.summary.rename(columns={"first_row": "row"}), {"n": "records"}),
        (sources, {"a": "source"}),
    ]
    frames = []
    for what, (frame, columns) in enumerate(pieces):
        n = len(frame)
        zero = np.zeros(n, np.int64)
        out = {"what": np.full(n, what, np.int32),
               "fragment": frame["fragment"].to_numpy(np.int64),
               "row": frame["row"].to_numpy(np.int64) if "row" in frame else zero,
               "part": frame[columns["part"]].to_numpy(np.int64) if "part" in columns else zero,
               "n": frame[columns["n"]].to_numpy(np.int64) if "n" in columns else zero}
        for c in ("a", "b", "c"):
            out[c] = (frame[columns[c]].astype(object).to_numpy() if c in columns
                      else np.full(n, None, dtype=object))
        frames.append(pd.DataFrame(out))
    return pd.concat(frames, ignore_index=True)


def _fragment_bucket(columns: list[str], group: pd.DataFrame) -> pd.DataFrame:
    return _parts_rows(fragment_parts(group[columns], group["fragment"].to_numpy(np.int64),
                                      group["row"].to_numpy(np.int64)))


def fragments_frame(engine: SparkEngine, touchpoints: DataFrame) -> Fragments:
    """:func:`~cxid.link.fragments.build_fragments` of touchpoints carrying ``row`` and
    ``fragment``: the parts per bucket of fragments on the executors, assembled in the
    local order on the driver (what comes over is per fragment)."""
    columns = _fragment_columns(touchpoints.columns)
    parts = _by_bucket(touchpoints.select("row", "fragment", *columns), "fragment",
                       functools.partial(_fragment_bucket, columns), _PARTS_SCHEMA,
                       _buckets(engine))
    rows = _collect_arrow(parts).to_pandas()
    what = rows["what"].to_numpy()

    def piece(i: int, names: Mapping[str, str]) -> pd.DataFrame:
        frame = rows[what == i].reset_index(drop=True)
        return frame[list(names)].rename(columns=names)

    values = piece(0, {"part": "part", "fragment": "fragment", "b": "attribute", "a": "value",
                       "row": "row"})
    names = piece(1, {"fragment": "fragment", "a": "first", "b": "last", "row": "row"})
    addresses = piece(2, {"fragment": "fragment", "a": "street", "b": "postcode", "c": "city",
                          "row": "row"})
    summary = piece(3, {"fragment": "fragment", "n": "records", "row": "first_row"})
    sources = piece(4, {"fragment": "fragment", "a": "source"})
    sources["source"] = sources["source"].astype(ARROW_STRING)
    fragments = assemble_fragments(FragmentParts(values, names, addresses, summary, sources),
                                   in_order=False)
    log.info("fragments on Spark: %d fragments, %d values, %d names, %d addresses",
             fragments.n, len(fragments.values), len(fragments.names),
             len(fragments.addresses))
    return fragments


# --------------------------------------------------------------------------- record pairs
def _pairs_bucket(present: list[str], group: pd.DataFrame) -> pd.DataFrame:
    return record_pairs(group[present], group["fragment"].to_numpy(np.int64),
                        group["row"].to_numpy(np.int64))


def _touchpoint_columns(touchpoints: DataFrame) -> list[str]:
    """The local touchpoint columns of a frame-flow DataFrame (not its helper columns)."""
    helpers = {"row", "fragment", "cluster", "customer_id"}
    return [c for c in touchpoints.columns if c not in helpers]


def _records(engine: SparkEngine, touchpoints: DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The touchpoints at ``rows`` (a bounded set), in row order, as local frames
    hold them."""
    columns = _touchpoint_columns(touchpoints)
    if not len(rows):
        return _pandas(_collect_arrow(touchpoints.select(*columns).limit(0)))
    wanted = engine._to_spark(_numbers(rows))
    table = _collect_arrow(touchpoints.join(F.broadcast(wanted), "row", "left_semi")
                           .select("row", *columns))
    frame = _pandas(table).sort_values("row", kind="stable")
    return frame[columns].reset_index(drop=True)


def _ranked(engine: SparkEngine, pairs: DataFrame) -> DataFrame:
    """``pairs`` with ``rank``: the position of each in row order (the local pair order),
    from per-range counts (one small collect) and a row number within each range."""
    ranged = pairs.withColumn("range", F.shiftright("row", _RANK_RANGE_BITS))
    counts = _collect_arrow(ranged.groupBy("range").count()).to_pandas().sort_values("range")
    before = np.cumsum(counts["count"].to_numpy(np.int64)) - counts["count"].to_numpy(np.int64)
    offsets = engine._to_spark(pd.DataFrame({"range": counts["range"].to_numpy(np.int64),
                                             "offset": before}))
    order = Window.partitionBy("range").orderBy("row")
    return (ranged.join(F.broadcast(offsets), "range")
            .withColumn("rank", F.col("offset") + F.row_number().over(order) - 1)
            .drop("range", "offset"))


def linked_record_pairs_frame(engine: SparkEngine, touchpoints: DataFrame, *,
                              max_pairs: int = 200_000, seed: int = 0
                              ) -> tuple[Fragments, np.ndarray, np.ndarray]:
    """:func:`~cxid.link.match.linked_record_pairs` of touchpoints carrying ``row`` and
    ``fragment``: pairs found per bucket of fragments on the executors; above
    ``max_pairs``, pandas' sample drawn on the driver from the count alone and the
    pairs at those positions picked on the executors; then only the (at most
    ``2 * max_pairs``) records used come to the driver."""
    present = [c for c in PEOPLE_COLUMNS if c in touchpoints.columns]
    empty = np.array([], np.int64)
    if not present:
        return build_fragments(_records(engine, touchpoints, empty), empty), empty, empty
    schema = T.StructType([T.StructField("row", T.LongType()),
                           T.StructField("first", T.LongType())])
    found = _by_bucket(touchpoints.select("row", "fragment", *present), "fragment",
                       functools.partial(_pairs_bucket, present), schema,
                       _buckets(engine)).localCheckpoint()
    n_pairs = found.count()
    if n_pairs == 0:
        return build_fragments(_records(engine, touchpoints, empty), empty), empty, empty
    drawn = sample_positions(n_pairs, max_pairs, seed)
    if drawn is None:
        pairs = _collect_arrow(found).to_pandas().sort_values("row", kind="stable")
    else:
        picks = engine._to_spark(pd.DataFrame({"rank": drawn,
                                               "draw": np.arange(len(drawn), dtype=np.int64)}))
        chosen = _ranked(engine, found).join(F.broadcast(picks), "rank")
        pairs = _collect_arrow(chosen.select("row", "first", "draw")).to_pandas()
        pairs = pairs.sort_values("draw", kind="stable")
    pairs = pairs[["row", "first"]].reset_index(drop=True)
    used = np.unique(np.concatenate([pairs["row"].to_numpy(), pairs["first"].to_numpy()]))
    log.info("linked record pairs on Spark: %d pairs, %d kept, %d records used",
             n_pairs, len(pairs), len(used))
    return pair_records(_records(engine, touchpoints, used), pairs)


# --------------------------------------------------------------------------- customer ids
_SIGN = np.uint64(1 << 63)


def _hash_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Executor side of :func:`customer_ids_frame`: each record's key and its hash,
    the uint64 hash as a long with the sign bit flipped (so signed order = uint64
    order)."""
    for batch in batches:
        keys = record_keys(pd.Series(pd.array(batch.column("source"), dtype=ARROW_STRING)),
                           pd.Series(pd.array(batch.column("record_id"), dtype=ARROW_STRING)))
        flipped = (_key_hashes(keys) ^ _SIGN).view(np.int64)
        yield pa.record_batch({"row": batch.column("row"), "cluster": batch.column("cluster"),
                               "hash": pa.array(flipped),
                               "key": pa.array(keys.array).cast(pa.string())})


def cluster_customer_ids(records: DataFrame) -> pd.Series:
    """The customer id of each cluster (index: cluster label, sorted) of records (row,
    source, record_id, cluster), as :func:`~cxid.resolver.ids.customer_ids_from_clusters`
    gives them: keys hashed on the executors, the anchor (smallest hash, then smallest
    row) found per cluster there, one anchor key per cluster collected, ids made by the
    shared ``_fresh_ids`` (which settles clashes)."""
    schema = T.StructType([T.StructField("row", T.LongType()),
                           T.StructField("cluster", T.LongType()),
                           T.StructField("hash", T.LongType()),
                           T.StructField("key", T.StringType())])
    hashed = (records.select("row", "source", "record_id", F.col("cluster").cast("long"))
              .mapInArrow(_hash_batches, schema))
    best = hashed.groupBy("cluster").agg(F.min(F.struct("hash", "row", "key")).alias("m"))
    anchors = _collect_arrow(best.select("cluster", F.col("m.key").alias("key")))
    order = np.argsort(anchors["cluster"].to_numpy(), kind="stable")
    anchors = anchors.take(pa.array(order))
    anchor = pd.Series(pd.array(anchors["key"], dtype=ARROW_STRING),
                       index=anchors["cluster"].to_numpy(), dtype="string")
    ids = _fresh_ids(anchor, set(), "new")
    log.info("customer ids on Spark: %d clusters", len(ids))
    return ids


def customer_ids_frame(engine: SparkEngine, records: DataFrame) -> DataFrame:
    """(row, customer_id) for records (row, source, record_id, cluster), equal to
    :func:`~cxid.resolver.ids.customer_ids_from_clusters`: the ids of
    :func:`cluster_customer_ids` joined back to the records."""
    ids = cluster_customer_ids(records)
    table = pd.DataFrame({"cluster": ids.index.to_numpy(np.int64),
                          "customer_id": ids.astype(ARROW_STRING).to_numpy()})
    return (records.select("row", F.col("cluster").cast("long"))
            .join(engine._to_spark(table), "cluster").select("row", "customer_id"))


# --------------------------------------------------------------------------- profiles
def _profile_schema(columns: Sequence[str], source_names: Sequence[str]) -> T.StructType:
    """Spark schema of :func:`build_profiles`' output for touchpoints with ``columns``."""
    text, count, stamp = T.StringType(), T.LongType(), T.TimestampType()
    fields = [("customer_id", text), ("records", count), ("sources", text),
              ("first_seen", stamp), ("last_seen", stamp)]
    fields += [(f"records_{s}", count) for s in source_names]
    fields += [(f, text) for f, (norm, _) in PROFILE_FIELDS.items() if norm in columns]
    return T.StructType([T.StructField(name, kind) for name, kind in fields])


def _profile_bucket(columns: list[str], names: list[str], rules: Mapping[str, str] | None,
                    source_priority: Sequence[str], source_names: list[str],
                    group: pd.DataFrame) -> pd.DataFrame:
    out = build_profiles(group[columns], group["customer_id"], rules=rules,
                         source_priority=source_priority,
                         rows=group["row"].to_numpy(np.int64), source_names=source_names)
    return out[names]


def profiles_frame(engine: SparkEngine, touchpoints: DataFrame, *,
                   rules: Mapping[str, str] | None = None,
                   source_priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY) -> DataFrame:
    """:func:`~cxid.resolver.profile.build_profiles` of touchpoints carrying ``row`` and
    ``customer_id``, per bucket of customers on the executors (every source of the run
    gets its ``records_<source>`` column), sorted by customer id."""
    distinct = _collect_arrow(touchpoints.select("source").distinct())["source"]
    source_names = [str(s) for s in pd.factorize(
        pd.Series(pd.array(distinct, dtype=ARROW_STRING)), sort=True)[1]]
    wanted = ["source", "observed_at"] + [c for norm, raw in PROFILE_FIELDS.values()
                                          for c in (norm, raw) if c is not None]
    columns = [c for c in dict.fromkeys(wanted) if c in touchpoints.columns]
    schema = _profile_schema(columns, source_names)
    worker = functools.partial(_profile_bucket, columns, schema.names, rules,
                               tuple(source_priority), source_names)
    profiles = _by_bucket(touchpoints.select("row", "customer_id", *columns), "customer_id",
                          worker, schema, _buckets(engine))
    log.info("profiles on Spark: %d sources", len(source_names))
    # checkpointed first: a sort samples its input in a job of its own, which would
    # otherwise run every bucket's survivorship twice
    return profiles.localCheckpoint().orderBy("customer_id")


# --------------------------------------------------------------------------- links
def _link_schema() -> pa.Schema:
    fields = [pa.field(c, pa.float64() if c.startswith("match_") else pa.string())
              for c in LINK_COLUMNS]
    return pa.schema([*fields, pa.field(_SECTION, pa.int32()), pa.field(_K1, pa.int64()),
                      pa.field(_K2, pa.int64())])


def _text_column(batch: pa.RecordBatch, name: str) -> pd.Series:
    return pd.Series(pd.array(batch.column(name), dtype=ARROW_STRING))


def _keyed(links: pd.DataFrame, section: int, k1: np.ndarray, k2: np.ndarray) -> pd.DataFrame:
    """Links with their sort keys: the local table lists sections in order."""
    return links.assign(**{_SECTION: np.full(len(links), section, np.int32),
                           _K1: np.asarray(k1, np.int64), _K2: np.asarray(k2, np.int64)})


def _identifier_batches(schema: pa.Schema, batches: Iterator[pa.RecordBatch]
                        ) -> Iterator[pa.RecordBatch]:
    """Executor side of :func:`links_frame`: identifier links of joined edges."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        source, record_id, customer_id, kind, value = (
            _text_column(batch, c)
            for c in ("source", "record_id", "customer_id", "kind", "value"))
        links = identifier_links(record_node_names(source, record_id), customer_id, kind,
                                 value)
        links = _keyed(links, 0, batch.column("row").to_numpy(),
                       batch.column("node").to_numpy())
        table = pa.Table.from_pandas(links, preserve_index=False).select(schema.names)
        yield from table.cast(schema).to_batches()


def links_frame(engine: SparkEngine, touchpoints: DataFrame, edges: DataFrame,
                anchor_row: np.ndarray, match_edges: pd.DataFrame | None,
                refused_edges: pd.DataFrame | None,
                comparisons: Sequence[tuple[str, tuple[str, ...]]] = ()) -> DataFrame:
    """:func:`~cxid.resolver.graph.build_links` on Spark. ``touchpoints``: row, source,
    record_id, customer_id; ``edges``: (row, node, kind, value), the local edge order by
    (row, node); ``anchor_row[f]``: the first row of fragment ``f``. Identifier links are
    made on the executors; match and refused links (per pair) on the driver, from their
    anchor records only. Sorted in the local table's order."""
    schema = _link_schema()
    records = touchpoints.select("row", "source", "record_id", "customer_id")
    # checkpointed: the final sort samples its input in a job of its own, which would
    # otherwise make every identifier link (the join and the strings) twice
    identifier = (edges.select("row", "node", "kind", "value").join(records, "row")
                  .mapInArrow(functools.partial(_identifier_batches, schema),
                              from_arrow_schema(schema)).localCheckpoint())
    scored = [(e, t) for e, t in ((match_edges, "match"), (refused_edges, "refused"))
              if e is not None and len(e)]
    anchor_row = np.asarray(anchor_row, np.int64)
    links = identifier
    if scored:
        ends = [anchor_row[e[c].to_numpy()] for e, _ in scored
                for c in ("fragment_l", "fragment_r")]
        rows = np.unique(np.concatenate(ends))
        wanted = engine._to_spark(_numbers(rows))
        anchors = _pandas(_collect_arrow(records.join(F.broadcast(wanted), "row",
                                                      "left_semi")))
        anchors = anchors.sort_values("row", kind="stable").reset_index(drop=True)
        at = pa.array(np.searchsorted(anchors["row"].to_numpy(), rows))
        nodes = record_node_names(anchors["source"], anchors["record_id"]).take(at)
        cust = pa.array(anchors["customer_id"].array).take(at)
        frames = []
        for e, link_type in scored:
            ra = pa.array(np.searchsorted(rows, anchor_row[e["fragment_l"].to_numpy()]))
            rb = pa.array(np.searchsorted(rows, anchor_row[e["fragment_r"].to_numpy()]))
            made = fragment_links(e, link_type, cust.take(ra), nodes.take(ra), nodes.take(rb),
                                  comparisons)
            n = len(made)
            frames.append(_keyed(made, 1 if link_type == "match" else 2, np.arange(n),
                                 np.zeros(n)))
        local = pd.concat(frames, ignore_index=True)[schema.names]
        links = links.unionByName(engine._to_spark(local))
        log.info("links on Spark: %d match and refused links from %d anchor records",
                 len(local), len(rows))
    return links.orderBy(_SECTION, _K1, _K2).select(*LINK_COLUMNS)

