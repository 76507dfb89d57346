"""Reading on Spark into DataFrames that stay on the executors (the frame flow).

:meth:`SparkEngine.read_rows` runs cxid's readers and normalisers in Spark tasks (one
per file, or per chunk of a large JSON Lines or mbox file) and checkpoints their rows
on the executors. This module puts the sources together as the local engine does
(:func:`cxid.pipeline.read_sources`), without bringing a record to the driver:

* chunks get their file's line numbers back (records before each chunk);
* a record id repeated across chunks of one file is rejected after its first
  occurrence, as the reader rejects it within one file
  (:func:`cxid.ingest._chunks.merge_chunks`);
* every touchpoint gets ``row``: its position in the frame the local engine would
  stack (sources in order, then chunks, then rows), so that later stages number
  fragments and break ties exactly as the local engine does.

What the driver receives is one meta row per chunk (columns, row and normalisation
counts) and the repeated record ids (rejected rows, few).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from cxid.config import SourceConfig
from cxid.engine import sum_counts
from cxid.engine.spark import _CHUNK, _PART, _ROW, RowsRead, SparkEngine, _collect_arrow
from cxid.progress import Progress, as_progress
from cxid.schema import REJECTED_COLUMNS, TOUCHPOINT_COLUMNS

log = logging.getLogger(__name__)

#: Helper columns of the stacked reader rows: source index, chunk index.
SRC, CHUNK = "__cxid_src__", "__cxid_chunk_index__"
#: Columns the rejected DataFrame is ordered by (source, repeated id, chunk, row) to
#: give the local engine's order; dropped before it is written.
REJECTED_ORDER = (SRC, "__cxid_dup__", CHUNK, _ROW)
#: Reader columns that are not strings on Spark.
_TIMESTAMP = "observed_at"


@dataclass(frozen=True)
class FrameRead:
    """All sources read and normalised, kept on the executors.

    ``touchpoints``: the normalised touchpoint columns (``columns``, in the local
    engine's order) plus ``row`` (long, 0..n-1). ``rejected``: the rejected columns plus
    :data:`REJECTED_ORDER`. ``inputs``: per source, rows accepted and rejected, the
    normalisation counts and the seconds its read took.
    """

    touchpoints: DataFrame
    rejected: DataFrame
    columns: list[str]
    inputs: list[dict[str, Any]]

    @property
    def n_touchpoints(self) -> int:
        return sum(i["records_accepted"] for i in self.inputs)

    @property
    def n_rejected(self) -> int:
        return sum(i["records_rejected"] for i in self.inputs)


def _number_rows(columns: list[str], schema: pa.Schema, offsets: dict[tuple[int, int], int],
                 dropped: dict[tuple[int, int], np.ndarray],
                 batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Executor side of the numbering: drop the repeated ids, give each touchpoint its
    global ``row`` (its chunk's offset plus its row in the chunk, less the rows dropped
    before it), timestamps from UTC nanoseconds to Spark's microseconds."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        src = batch.column(SRC).to_numpy()
        chunk = batch.column(CHUNK).to_numpy()
        local = batch.column(_ROW).to_numpy()
        row = np.empty(batch.num_rows, np.int64)
        keep = np.ones(batch.num_rows, bool)
        pairs = np.unique(np.stack([src, chunk], axis=1), axis=0)
        for s, c in pairs.tolist():  # one pass per chunk in the batch, not per record
            at = (src == s) & (chunk == c)
            r = local[at]
            gone = dropped.get((s, c))
            if gone is None:
                row[at] = offsets[(s, c)] + r
                continue
            keep[at] = ~np.isin(r, gone)
            row[at] = offsets[(s, c)] + r - np.searchsorted(gone, r)
        table = pa.Table.from_batches([batch]).filter(pa.array(keep))
        arrays = []
        for field in schema:
            if field.name == "row":
                arrays.append(pa.array(row[keep]))
            elif field.name == _TIMESTAMP:
                stamps = table.column(_TIMESTAMP).cast(pa.timestamp("ns", tz="UTC"))
                arrays.append(stamps.cast(field.type, safe=False))
            else:
                arrays.append(table.column(field.name))
        yield from pa.Table.from_arrays(arrays, schema=schema).to_batches()


def _touchpoint_schema(columns: list[str]) -> pa.Schema:
    """Arrow schema of the numbered touchpoints: strings, but line and observed_at."""
    fields = []
    for c in columns:
        if c == _TIMESTAMP:
            fields.append(pa.field(c, pa.timestamp("us", tz="UTC")))
        elif c == "line":
            fields.append(pa.field(c, pa.int64()))
        else:
            fields.append(pa.field(c, pa.string()))
    return pa.schema([*fields, pa.field("row", pa.int64())])


def _read_all(engine: SparkEngine, sources: Sequence[SourceConfig], region: str
              ) -> Iterator[tuple[RowsRead, float]]:
    """Each source read (and the seconds it took), in order. All are submitted at once
    from threads, one Spark job each, so the executors work on every input together
    instead of one small file at a time; the first source's error is raised first and
    cancels the other reads."""
    def one(s: SourceConfig) -> tuple[RowsRead, float]:
        started = time.perf_counter()
        read = engine.read_rows(s.kind, str(s.path), source=s.name,
                                mapping=dict(s.mapping) or None, id_column=s.id_column,
                                region=region)
        return read, time.perf_counter() - started

    pool = ThreadPoolExecutor(max_workers=max(len(sources), 1),
                              thread_name_prefix="cxid-read")
    try:
        futures = [pool.submit(one, s) for s in sources]
        for future in futures:
            try:
                yield future.result()
            except BaseException:
                engine.cancel_jobs()  # the other reads are wasted work now
                raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def read_touchpoints_frame(engine: SparkEngine, sources: Sequence[SourceConfig], *,
                           region: str = "FR", progress: Progress | bool | None = None
                           ) -> FrameRead:
    """Read and normalise ``sources`` on Spark into a :class:`FrameRead` whose rows
    never come to the driver; the same touchpoints, row order and rejected rows as
    :func:`cxid.pipeline.read_sources` on the local engine."""
    bar = as_progress(progress)
    parts: list[DataFrame] = []
    inputs: list[dict[str, Any]] = []
    columns = list(TOUCHPOINT_COLUMNS)
    counts: dict[tuple[int, int], int] = {}
    chunked: list[int] = []
    for i, (s, (read, seconds)) in enumerate(zip(sources, _read_all(engine, sources, region),
                                                 strict=True)):
        index = F.create_map(*[F.lit(x) for j, (name, _, _) in enumerate(read.chunks)
                               for x in (name, j)])
        before = F.create_map(*[F.lit(x) for j, (_, b, _) in enumerate(read.chunks)
                                for x in (j, b)])
        rows = (read.rows.where(F.col(_PART) != "meta")
                .withColumn(SRC, F.lit(i))
                .withColumn(CHUNK, index[F.coalesce(F.col(_CHUNK), F.lit(""))]))
        parts.append(rows.withColumn("line", F.col("line") + before[F.col(CHUNK)]))
        for j, (_, _, meta) in enumerate(read.chunks):
            counts[(i, j)] = meta["rows"]["touchpoints"]
            columns += [c for c, _ in meta["touchpoints"] if c not in columns]
        if read.chunks[0][0]:
            chunked.append(i)
        inputs.append({
            "records_accepted": sum(m["rows"]["touchpoints"] for _, _, m in read.chunks),
            "records_rejected": sum(m["rows"]["rejected"] for _, _, m in read.chunks),
            "normalization": sum_counts([m.get("counts", {}) for _, _, m in read.chunks]),
            "seconds": seconds,
        })
        n = inputs[-1]["records_accepted"] + inputs[-1]["records_rejected"]
        bar.update(f"read {s.name}", n, n, "records")
    rows = functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts)
    tp_rows = rows.where(F.col(_PART) == "touchpoints")

    repeated = _repeated_ids(tp_rows, chunked)
    dropped: dict[tuple[int, int], np.ndarray] = {}
    if repeated.num_rows:
        keys = np.stack([repeated[SRC].to_numpy(), repeated[CHUNK].to_numpy()], axis=1)
        for (s, c) in np.unique(keys, axis=0).tolist():
            at = (keys[:, 0] == s) & (keys[:, 1] == c)
            dropped[(s, c)] = np.sort(repeated[_ROW].to_numpy()[at])
        for s, c in dropped:
            inputs[s]["records_accepted"] -= len(dropped[(s, c)])
            inputs[s]["records_rejected"] += len(dropped[(s, c)])
    offsets, total = {}, 0
    for key in sorted(counts):
        offsets[key] = total
        total += counts[key] - len(dropped.get(key, ()))
    schema = _touchpoint_schema(columns)
    needed = [c for c in columns if c in tp_rows.columns]
    touchpoints = tp_rows.select(*needed, SRC, CHUNK, _ROW)
    for c in columns:  # a column no source's reader could return stays null
        if c not in tp_rows.columns:
            touchpoints = touchpoints.withColumn(c, F.lit(None).cast("string"))
    touchpoints = touchpoints.mapInArrow(
        functools.partial(_number_rows, columns, schema, offsets, dropped),
        from_arrow_schema(schema)).localCheckpoint()

    rejected = _rejected(engine, rows, repeated)
    log.info("read %d sources on Spark: %d touchpoints, %d rejected (%d repeated ids)",
             len(sources), total, sum(i["records_rejected"] for i in inputs),
             repeated.num_rows)
    return FrameRead(touchpoints=touchpoints, rejected=rejected, columns=columns,
                     inputs=inputs)


def _repeated_ids(tp_rows: DataFrame, chunked: list[int]) -> pa.Table:
    """Rows of chunked sources whose record id appeared in an earlier chunk (or earlier
    in the same chunk: the reader has rejected those already, so none), collected:
    they are rejected rows, and few."""
    cols = [SRC, CHUNK, _ROW, "source", "file", "line", "record_id"]
    if not chunked:
        return pa.table({c: pa.array([], pa.int64() if c in (SRC, CHUNK, _ROW, "line")
                                     else pa.string()) for c in cols})
    order = Window.partitionBy(SRC, "record_id").orderBy(CHUNK, _ROW)
    repeated = (tp_rows.where(F.col(SRC).isin(chunked) & F.col("record_id").isNotNull())
                .withColumn("__n__", F.row_number().over(order))
                .where(F.col("__n__") > 1).select(*cols))
    return _collect_arrow(repeated).combine_chunks()


def _rejected(engine: SparkEngine, rows: DataFrame, repeated: pa.Table) -> DataFrame:
    """Rejected rows: the readers', then the repeated ids of each source (reason
    ``duplicate record_id``, no raw text), with the columns that order them."""
    names = list(REJECTED_COLUMNS)
    reader = (rows.where(F.col(_PART) == "rejected")
              .select(*names, SRC, F.lit(0).alias(REJECTED_ORDER[1]), CHUNK, _ROW))
    if not repeated.num_rows:
        return reader
    n = repeated.num_rows
    extra = pa.table({
        "source": repeated["source"], "file": repeated["file"], "line": repeated["line"],
        "record_id": repeated["record_id"],
        "reason": pa.array(["duplicate record_id"] * n, pa.string()),
        "raw": pa.nulls(n, pa.string()),
        SRC: repeated[SRC].cast(pa.int32()), REJECTED_ORDER[1]: pa.array(np.ones(n, np.int32)),
        CHUNK: repeated[CHUNK].cast(pa.int32()), _ROW: repeated[_ROW]})
    extra_df = engine.spark.createDataFrame(extra.to_pandas(),
                                            schema=reader.schema)
    return reader.unionByName(extra_df)
