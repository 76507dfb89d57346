"""Spark engine (``pip install 'cxid[spark]'``): the engine operations on Spark DataFrames.

Same inputs, same outputs as :class:`~cxid.engine.LocalEngine` (so the same customer
ids); only where the work runs changes:

* ``read``: ``spark.read.format("binaryFile")`` + ``mapInArrow`` running cxid's own
  reader on the executor (the bytes go to a temporary file there); a large JSON Lines
  or mbox file is first split into chunks on the driver (as the local engine's process
  pool does), one task per chunk, and the chunk results merged back;
* ``block_pairs``: a DataFrame self-join on the blocking key;
* ``map_batches``: ``mapInArrow`` with a row id carried through, sorted on the driver;
* ``map_groups``: ``groupBy(key).applyInPandas``;
* ``connected_components``: iterative large-star / small-star (Kiveris et al. 2014);
* ``write_table``: ``DataFrame.write.parquet`` (a folder of parquet parts).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxid._frames import arrow_strings
from cxid.engine import (
    BatchFunction,
    GroupFunction,
    LocalEngine,
    NormalisedRead,
    dense_labels,
    empty_frame,
    read_and_normalise,
    sum_counts,
)
from cxid.errors import ConfigError, CxidError, IngestError
from cxid.ingest import NORMALISED_KINDS
from cxid.ingest._chunks import WORK_PER_BYTE, line_chunks, merge_chunks, splittable
from cxid.schema import (
    EXTRA_PREFIX,
    NORM_COLUMNS,
    REJECTED_COLUMNS,
    TOUCHPOINT_COLUMNS,
    ReadResult,
)

try:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.window import Window
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the Spark engine needs pyspark: pip install 'cxid[spark]'"
    ) from exc

log = logging.getLogger(__name__)

#: Helper columns (names no cxid frame uses): frame part, chunk file name, row, meta.
_PART, _CHUNK, _ROW, _META = "__cxid_part__", "__cxid_chunk__", "__cxid_row__", "__cxid_meta__"
_HELPERS = 4
#: Reader columns carried as int64: line numbers, and timestamps as UTC nanoseconds.
_INT_COLUMNS, _TIME_COLUMNS = ("line",), ("observed_at",)
#: Rows of the driver-side sample used to infer ``map_batches``' output schema.
_SAMPLE_ROWS = 16
#: Rows per Arrow batch sent back by the reader.
_CHUNK_ROWS = 50_000
#: Safety bound on large-star/small-star rounds (O(log^2 n) in theory).
_MAX_ROUNDS = 200
#: Most Arrow bytes of a driver-side table one Spark task carries. Spark keeps such
#: data inside its tasks and serialises a task whole: a 1.5M-row table in one task
#: (``coalesce(1)`` before a write) ran a 1 GB driver heap out of memory.
SLICE_BYTES = 32 << 20
#: Default size of the chunks a large JSON Lines file is read in (an mbox byte costs
#: ~18x more: its chunks are ~1/18 of this, see ``WORK_PER_BYTE``).
READ_CHUNK_BYTES = 16 << 20


class RowsRead(NamedTuple):
    """One source read into a DataFrame that stays on the executors
    (:meth:`SparkEngine.read_rows`): reader rows (helper columns part, chunk, row, meta,
    then the frame columns), and per chunk in file order its name ('' for a file read
    whole), the records before it in the file, and its meta (columns, dtypes, row
    counts, normalisation counts)."""

    rows: DataFrame
    chunks: list[tuple[str, int, dict[str, Any]]]


# --------------------------------------------------------------------------- helpers
def _jvm_alive(spark: SparkSession, patience: float = 0.0) -> bool:
    """Whether the session's JVM still answers (asked again for up to ``patience``
    seconds: a JVM that is exiting may still answer for a moment)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            spark.sparkContext._jvm.java.lang.System.nanoTime()
        except Exception:
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.5)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and the exceptions it came from (``__cause__``, else ``__context__``)."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` comes from Python losing its connection to the JVM."""
    return any(isinstance(e, ConnectionError | EOFError)
               or type(e).__name__ == "Py4JNetworkError" for e in _chain(exc))


#: Messages of a JVM out of heap or direct memory (a task can fail that way while the
#: JVM lives on), and of Spark refusing to bring more results to the driver.
_OUT_OF_MEMORY = re.compile(r"OutOfMemory|OutOfDirectMemory|Failure allocating buffer")
_RESULT_TOO_LARGE = re.compile(r"spark\.driver\.maxResultSize")


def _says(exc: BaseException, pattern: re.Pattern[str]) -> bool:
    """Whether ``exc`` or an exception it came from matches ``pattern``."""
    return any(pattern.search(str(e)) for e in _chain(exc))


_MORE_MEMORY = ("give it more, e.g. --spark-conf spark.driver.memory=8g or "
                "SparkEngine(config={'spark.driver.memory': '8g'})")


def _jvm_lost(method: Any) -> Any:
    """Turn an error of an engine operation caused by Spark running out of memory into
    a :class:`CxidError` that says so and how to give it more. Two forms: the driver
    JVM stops answering (out of heap makes it exit), or a task fails with an
    out-of-memory error (Arrow's direct buffers, say) and the job is aborted."""
    @functools.wraps(method)
    def wrapper(self: SparkEngine, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if isinstance(exc, CxidError):
                raise
            if not _jvm_alive(self.spark, patience=5.0 if _connection_lost(exc) else 0.0):
                raise CxidError(
                    f"the Spark driver JVM stopped during {method.__name__} (most likely "
                    f"out of heap: see 'OutOfMemoryError' above); {_MORE_MEMORY}") from exc
            if _says(exc, _OUT_OF_MEMORY):
                raise CxidError(
                    f"Spark ran out of memory during {method.__name__} (see "
                    f"'OutOfMemory' above); {_MORE_MEMORY}") from exc
            if _says(exc, _RESULT_TOO_LARGE):
                raise CxidError(
                    f"Spark refused to bring more than spark.driver.maxResultSize of "
                    f"results to the driver during {method.__name__}; raise it, e.g. "
                    "--spark-conf spark.driver.maxResultSize=4g (0 = no limit), with "
                    "spark.driver.memory to match") from exc
            raise
    return wrapper


#: Held while a temporary session setting is in force: the pipeline reads sources from
#: several threads at once, and two overlapping set/restore pairs would leave a setting
#: behind.
_CONF_LOCK = threading.RLock()


@contextlib.contextmanager
def _session_conf(spark: SparkSession, key: str, value: str) -> Iterator[None]:
    """``key`` set to ``value`` in the session's SQL conf for the duration (other
    threads' temporary settings wait; work outside such a block goes on)."""
    with _CONF_LOCK:
        before = spark.conf.get(key, None)
        spark.conf.set(key, value)
        try:
            yield
        finally:
            if before is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, before)


def _collect_arrow(df: DataFrame) -> pa.Table:
    """All rows of ``df`` on the driver as one Arrow table."""
    if hasattr(df, "toArrow"):  # pyspark >= 4.0
        return df.toArrow()
    from pyspark.sql.pandas.types import to_arrow_schema  # pragma: no cover

    batches = df._collect_as_arrow()  # pragma: no cover - pyspark 3.5
    return pa.Table.from_batches(batches, schema=to_arrow_schema(df.schema))  # pragma: no cover


def _dtype_name(dtype: Any) -> str:
    """A string :func:`pandas.api.types.pandas_dtype` turns back into ``dtype``."""
    if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
        return f"string[{dtype.storage}]"
    return str(dtype)


def _spark_safe(schema: pa.Schema) -> pa.Schema:
    """``schema`` without pandas metadata, null-typed (all-missing) columns as strings."""
    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
              for f in schema]
    return pa.schema(fields)


def _arrow_for_spark(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table Spark accepts: no pandas metadata, categoricals
    decoded to their values, all-missing (null-typed) columns as strings."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_dictionary(field.type):
            column = pc.cast(column, field.type.value_type)
        elif pa.types.is_null(field.type):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _as_series(column: pa.ChunkedArray, dtype: Any) -> pd.Series:
    """An Arrow column as a pandas Series of ``dtype``."""
    if isinstance(dtype, pd.DatetimeTZDtype) and pa.types.is_integer(column.type):
        column = column.cast(pa.timestamp("ns", tz="UTC"))
    mapper = None
    if isinstance(dtype, pd.Int64Dtype):
        mapper = {pa.int64(): dtype}.get
    elif isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        mapper = {pa.string(): dtype, pa.large_string(): dtype}.get  # no Python strings
    series = column.to_pandas(types_mapper=mapper)
    return series if series.dtype == dtype else series.astype(dtype)


# --------------------------------------------------------------------------- read
def _read_columns(mapping: Mapping[str, Any] | None, normalised: bool = False) -> list[str]:
    """Every column a reader may return: touchpoints (with the mapping's ``x_`` extras,
    and when ``normalised`` the ``*_norm`` columns) and rejected."""
    columns = list(TOUCHPOINT_COLUMNS)
    extras = [str(c) for c in (mapping or {})
              if str(c).startswith(EXTRA_PREFIX) and c not in columns]
    columns += extras
    if normalised:
        columns += [*NORM_COLUMNS, *(f"{c}_norm" for c in extras)]
    columns += [c for c in REJECTED_COLUMNS if c not in columns]
    return columns


def _reader_columns(kind: str, path: str, source: str, mapping: Mapping[str, Any] | None,
                    normalised: bool) -> list[str]:
    """:func:`_read_columns` for a source of ``kind``. Normalised touchpoints (kind
    ``touchpoints``) come with their ``*_norm`` columns and the file's own ``x_``
    extras; they are read from one parquet file, in one task (a folder of them is
    the local engine's)."""
    if kind not in NORMALISED_KINDS:
        return _read_columns(mapping, normalised)
    from cxid.ingest.touchpoints import extra_columns

    if "://" in str(path) or Path(path).is_dir():
        raise ConfigError(f"source {source!r} ({kind}): on the Spark engine give one parquet "
                          f"file, not a folder or URL ({path}); a folder of parquet files is "
                          "read by the local engine")
    columns = _read_columns(None, normalised=True)
    extras = [c for c in extra_columns(path, source=source) if c not in columns]
    return columns[:len(TOUCHPOINT_COLUMNS)] + extras + columns[len(TOUCHPOINT_COLUMNS):]


def _read_schema(columns: Iterable[str]) -> pa.Schema:
    """Schema of the reader's output rows: part, chunk, row, meta, then the frame
    columns."""
    fields = [pa.field(_PART, pa.string()), pa.field(_CHUNK, pa.string()),
              pa.field(_ROW, pa.int64()), pa.field(_META, pa.string())]
    fields += [pa.field(c, pa.int64() if c in _INT_COLUMNS + _TIME_COLUMNS else pa.string())
               for c in columns]
    return pa.schema(fields)


def _meta_batch(schema: pa.Schema, chunk: str, meta: dict[str, Any]) -> pa.RecordBatch:
    arrays = [pa.array(["meta"]), pa.array([chunk]), pa.array([0], pa.int64()),
              pa.array([json.dumps(meta)])]
    arrays += [pa.nulls(1, f.type) for f in list(schema)[_HELPERS:]]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _frame_batches(part: str, chunk: str, frame: pd.DataFrame, schema: pa.Schema
                   ) -> Iterator[pa.RecordBatch]:
    """One reader frame as rows of the reader schema (tagged ``part`` and ``chunk``,
    numbered)."""
    n = len(frame)
    unknown = [c for c in frame.columns if c not in schema.names[_HELPERS:]]
    if unknown:
        raise CxidError(f"spark engine: reader returned unexpected column(s) {unknown}")
    arrays = [pa.repeat(pa.scalar(part), n), pa.repeat(pa.scalar(chunk), n),
              pa.array(np.arange(n, dtype=np.int64)), pa.nulls(n, pa.string())]
    for f in list(schema)[_HELPERS:]:
        if f.name not in frame.columns:
            arrays.append(pa.nulls(n, f.type))
        elif f.name in _TIME_COLUMNS:
            stamps = pd.to_datetime(frame[f.name], utc=True)
            arrays.append(pa.array(stamps).cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()))
        elif f.name in _INT_COLUMNS:
            arrays.append(pa.array(frame[f.name].astype("Int64"), pa.int64()))
        else:
            arrays.append(arrow_strings(frame[f.name], large=False))
    yield from pa.Table.from_arrays(arrays, schema=schema).to_batches(max_chunksize=_CHUNK_ROWS)


def _portable_error(exc: BaseException, local: str, original: str) -> str:
    """``exc`` with the temporary path replaced by the original one, pickled as text."""
    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(local, original)
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    exc.args = tuple(fix(a) for a in exc.args)
    for key, value in list(vars(exc).items()):
        setattr(exc, key, fix(value))
    try:
        data = pickle.dumps(exc)
    except Exception:  # an unpicklable attribute: keep the message
        data = pickle.dumps(CxidError(fix(str(exc))))
    return base64.b64encode(data).decode("ascii")


def _read_partition(kind: str, source: str, mapping: dict | None, id_column: str | None,
                    original: str, region: str | None, schema: pa.Schema,
                    out_dir: str | None, batches: Iterator[pa.RecordBatch]
                    ) -> Iterator[pa.RecordBatch]:
    """Executor side of :meth:`SparkEngine.read`: bytes -> temp file (named like the
    original) -> cxid reader (then, with a ``region``, the normalisers) -> per file (or
    chunk: rows with a ``path`` carry the chunk's name) one meta row (dtypes and
    normalisation counts, or the error) then the touchpoints and rejected rows; with an
    ``out_dir`` the rows go to an Arrow file there instead, named in the meta row (the
    driver reads it directly: the rows never pass through the JVM)."""
    from cxid.ingest import read_source

    name = PurePosixPath(original.rstrip("/")).name or "source"
    for batch in batches:
        paths = (batch.column("path").to_pylist() if "path" in batch.schema.names
                 else [None] * batch.num_rows)
        for content, path in zip(batch.column("content"), paths, strict=True):
            chunk = PurePosixPath(path).name if path else ""
            with tempfile.TemporaryDirectory(prefix="cxid-spark-read-") as tmp:
                local = Path(tmp) / name
                local.write_bytes(content.as_buffer() if content.is_valid else b"")
                try:
                    if region is None:
                        result = read_source(kind, local, source=source, mapping=mapping,
                                             id_column=id_column)
                        counts = None
                    else:
                        done = read_and_normalise(
                            kind, str(local), source=source, mapping=mapping,
                            id_column=id_column, region=region)
                        result = ReadResult(done.touchpoints, done.rejected)
                        counts = done.counts
                except CxidError as exc:
                    error = _portable_error(exc, str(local), original)
                    yield _meta_batch(schema, chunk, {"error": error})
                    continue
            frames = {}
            for part, frame in (("touchpoints", result.touchpoints),
                                ("rejected", result.rejected)):
                frame = frame.copy()
                if "file" in frame.columns:
                    file = frame["file"]  # Arrow or Python strings: kept as they are
                    if not isinstance(file.dtype, pd.StringDtype):
                        file = file.astype("string")
                    frame["file"] = file.mask((file == str(local)).fillna(False), original)
                if "reason" in frame.columns:
                    reason = frame["reason"].astype("string")
                    frame["reason"] = reason.str.replace(str(local), original, regex=False)
                frames[part] = frame
            meta: dict[str, Any] = {
                part: [[c, _dtype_name(frame[c].dtype)] for c in frame.columns]
                for part, frame in frames.items()}
            meta["rows"] = {part: len(frame) for part, frame in frames.items()}
            if counts is not None:
                meta["counts"] = counts
            rows = (b for part, frame in frames.items()
                    for b in _frame_batches(part, chunk, frame, schema))
            if out_dir is not None:
                meta["file"] = f"{out_dir}/{uuid.uuid4().hex}.arrow"
                with pa.OSFile(meta["file"], "wb") as sink, \
                        pa.ipc.new_file(sink, schema) as writer:
                    for b in rows:
                        writer.write_batch(b)
                rows = iter(())
            yield _meta_batch(schema, chunk, meta)
            yield from rows


def _metas(table: pa.Table) -> list[tuple[str, dict[str, Any]]]:
    """(chunk name, meta) of each file or chunk read, from the collected reader output."""
    metas = table.filter(pc.equal(table[_PART], "meta"))
    return [(chunk or "", json.loads(meta)) for chunk, meta in
            zip(metas[_CHUNK].to_pylist(), metas[_META].to_pylist(), strict=True)]


def _chunk_rows(table: pa.Table, chunk: str, meta: dict[str, Any]) -> pa.Table:
    """The rows read from one file or chunk: from the Arrow file its task wrote, or
    from the collected reader output."""
    if "file" in meta:
        with pa.OSFile(meta["file"], "rb") as source:
            return pa.ipc.open_file(source).read_all()
    return table.filter(pc.equal(table[_CHUNK], chunk))


def _raise_error(meta: dict[str, Any]) -> None:
    """Raise the reader's error an executor sent back in ``meta``, if any."""
    if "error" in meta:
        raise pickle.loads(base64.b64decode(meta["error"]))


def _rebuild(table: pa.Table, part: str, columns: list[list[str]]) -> pd.DataFrame:
    """The ``part`` rows of the collected reader output (of one file or chunk) as the
    reader's frame."""
    rows = table.filter(pc.equal(table[_PART], part))
    rows = rows.take(pc.sort_indices(rows[_ROW]))
    data = {c: _as_series(rows[c], pd.api.types.pandas_dtype(d)) for c, d in columns}
    return pd.DataFrame(data, columns=[c for c, _ in columns])


# --------------------------------------------------------------------------- map_batches
def _map_partition(function: BatchFunction, dtypes: dict[str, Any], schema: pa.Schema,
                   batch_rows: int, batches: Iterator[pa.RecordBatch]
                   ) -> Iterator[pa.RecordBatch]:
    """Executor side of :meth:`SparkEngine.map_batches`: regroup Arrow batches into
    ``batch_rows`` rows, apply ``function``, carry the row id through."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.num_rows
        if size >= batch_rows:
            yield from _apply(function, dtypes, schema, pending)
            pending, size = [], 0
    if pending:
        yield from _apply(function, dtypes, schema, pending)


def _apply(function: BatchFunction, dtypes: dict[str, Any], schema: pa.Schema,
           batches: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    table = pa.Table.from_batches(batches)
    if table.num_rows == 0:
        return
    rows = table[_ROW].to_numpy()
    frame = pd.DataFrame({c: _as_series(table[c], d) for c, d in dtypes.items()},
                         columns=list(dtypes))
    out = function(frame).reset_index(drop=True)
    if len(out) != len(frame):
        raise CxidError(f"map_batches: the function returned {len(out)} rows for "
                        f"{len(frame)} (it must be row-wise)")
    out[_ROW] = rows
    result = pa.Table.from_pandas(out, schema=schema, preserve_index=False)
    yield from result.replace_schema_metadata(None).to_batches()


# --------------------------------------------------------------------------- map_groups
def _apply_group(function: GroupFunction, in_dtypes: dict[str, Any], out_dtypes: dict[str, Any],
                 group: pd.DataFrame) -> pd.DataFrame:
    """Executor side of :meth:`SparkEngine.map_groups`: one group with the driver's
    dtypes back (Spark hands strings over as objects), ``function``'s output columns."""
    out = function(group.astype(in_dtypes))
    return out[list(out_dtypes)].astype(out_dtypes)


# --------------------------------------------------------------------------- components
def _large_star(edges: DataFrame) -> DataFrame:
    """Connect every larger neighbour of each node to the node's smallest neighbour
    (itself included): rows ``(a, b, edge, bad)``, the new edges where ``edge``.

    The same window (over each node's neighbours) tells whether the graph already is
    a star forest (edges ``a > b``, child to parent): a node with two smaller
    neighbours (two parents), or with smaller and larger ones (child and parent),
    is ``bad``; such a node with no larger neighbour keeps one row (not an edge) to
    say so. On a star forest the new edges are the old ones, so the check costs no
    shuffle of its own."""
    sym = edges.select(F.col("a").alias("u"), F.col("b").alias("v")).unionByName(
        edges.select(F.col("b").alias("u"), F.col("a").alias("v")))
    node = Window.partitionBy("u")
    low = F.least(F.min("v").over(node), F.col("u"))
    smaller = F.count(F.when(F.col("v") < F.col("u"), 1)).over(node)
    larger = F.count(F.when(F.col("v") > F.col("u"), 1)).over(node)
    bad = (smaller > 1) | ((smaller > 0) & (larger > 0))
    return (sym.select("u", "v", low.alias("m"), bad.alias("bad"),
                       (larger > 0).alias("parent"))
            .where((F.col("v") > F.col("u")) | (F.col("bad") & ~F.col("parent")))
            .select(F.col("v").alias("a"), F.col("m").alias("b"),
                    (F.col("v") > F.col("u")).alias("edge"), "bad"))


def _small_star(edges: DataFrame) -> DataFrame:
    """Connect each node and its smaller neighbours to the smallest of them (edges
    come as ``a > b``)."""
    low = edges.select("a", "b", F.min("b").over(Window.partitionBy("a")).alias("m"))
    spokes = low.where(F.col("b") != F.col("m")).select(F.col("b").alias("a"), "m")
    hubs = low.select("a", "m")
    return spokes.unionByName(hubs).select("a", F.col("m").alias("b")).distinct()


def star_roots(edges: DataFrame) -> DataFrame:
    """Connected components of an edge DataFrame ``(a, b)`` (long node ids): one row
    ``(node, root)`` per node of an edge, ``root`` the smallest node of its component.

    Large-star / small-star rounds (Kiveris et al. 2014) until each component is a
    star around its smallest node, which each large-star step checks on the way;
    each step's edges are checkpointed so the plan does not grow with the rounds.
    Shared by :meth:`SparkEngine.connected_components` and the frame flow
    (:mod:`cxid.engine.spark_links`), whose graphs never leave the executors.
    """
    edges = (edges.select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b"))
             .where(F.col("a") != F.col("b")).distinct().localCheckpoint())
    rounds = 0
    while True:
        large = _large_star(edges).localCheckpoint()
        if large.where(F.col("bad")).isEmpty():
            edges = large.select("a", "b")  # a star forest: large-star kept it as is
            break
        rounds += 1
        if rounds > _MAX_ROUNDS:
            raise CxidError(f"connected components did not converge in {_MAX_ROUNDS} rounds")
        edges = _small_star(large.where(F.col("edge")).select("a", "b")).localCheckpoint()
    log.info("connected components: %d large-star/small-star rounds", rounds)
    hubs = edges.select(F.col("b").alias("node"), F.col("b").alias("root")).distinct()
    return edges.select(F.col("a").alias("node"), F.col("b").alias("root")).unionByName(hubs)


# --------------------------------------------------------------------------- engine
class SparkEngine(LocalEngine):
    """Engine on a Spark session: the given one, the active one, or a new local one
    (``master``) that :meth:`close` stops."""

    name = "spark"

    def __init__(self, spark: SparkSession | None = None, *, master: str = "local[2]",
                 app_name: str = "cxid", read_chunk_bytes: int = READ_CHUNK_BYTES,
                 scratch_dir: str | Path | None = None,
                 config: Mapping[str, str] | None = None) -> None:
        #: JSON Lines files larger than this (mbox files larger than a tenth of it) are
        #: split into chunks of about this size, read one chunk per task.
        self.read_chunk_bytes = int(read_chunk_bytes)
        #: driver-side steps run one after the other: Spark parallelises inside them
        self.threads = 1
        #: Where the chunks are written (a temporary folder inside, removed after the
        #: read). It must be a filesystem the executors can read, like the source files
        #: themselves. Default (None): the system's temporary folder in local mode; on a
        #: cluster, no chunking (files are read whole, one task each) until it is set.
        self.scratch_dir = scratch_dir
        session = spark or SparkSession.getActiveSession()
        self._owned = session is None
        if session is not None and config:
            raise ConfigError("SparkEngine(config=...) applies to a session cxid starts; "
                              "set it on your own session instead")
        if session is None:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = (SparkSession.builder.master(master).appName(app_name)
                       .config("spark.sql.shuffle.partitions", "8")
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.log.level", "ERROR"))
            # a driver out of heap exits (the run fails with a message) instead of
            # leaving a scheduler thread dead and the job waiting forever
            builder = builder.config("spark.driver.extraJavaOptions",
                                     "-XX:+ExitOnOutOfMemoryError")
            for key, value in (config or {}).items():
                builder = builder.config(str(key), str(value))
            if master.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
                builder = (builder.config("spark.driver.host", "127.0.0.1")
                           .config("spark.driver.bindAddress", "127.0.0.1"))
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
            log.info("started Spark session %s on %s", app_name, master)
        self.spark: SparkSession = session

    def _to_spark(self, frame: pd.DataFrame) -> DataFrame:
        """A driver-side frame as a DataFrame, rows in order, in partitions of at most
        :data:`SLICE_BYTES`.

        The data goes over as Arrow batches of about that size (and at least as many
        as the session's default parallelism), kept as such in the JVM, one partition
        per batch. (Spark's alternative for small data, a LocalRelation, copies every
        row into the query plan as an UnsafeRow: several times the memory.)
        """
        table = _arrow_for_spark(frame)
        rows = max(1, min(table.num_rows * SLICE_BYTES // max(table.nbytes, 1),
                          -(-table.num_rows // self.spark.sparkContext.defaultParallelism)))
        with _session_conf(self.spark, "spark.sql.execution.arrow.localRelationThreshold",
                           "0"), \
                _session_conf(self.spark, "spark.sql.execution.arrow.maxRecordsPerBatch",
                              str(rows)):
            return self.spark.createDataFrame(table, schema=from_arrow_schema(table.schema))

    # ------------------------------------------------------------------ read
    @_jvm_lost
    def read(self, kind: str, path: str, *, source: str,
             mapping: dict | None, id_column: str | None) -> ReadResult:
        """Read one source file on an executor with cxid's reader of that kind; a large
        plain JSON Lines or mbox file on a local path in chunks, one task each."""
        result, _ = self._read(kind, path, source, mapping, id_column, None)
        return result

    @_jvm_lost
    def read_normalised(self, kind: str, path: str, *, source: str, mapping: dict | None,
                        id_column: str | None, region: str) -> NormalisedRead:
        """As :meth:`read`, with the normalisers run inside the same read tasks (so on
        the executors, chunk by chunk) and their counts summed on the driver."""
        result, counts = self._read(kind, path, source, mapping, id_column, region)
        return NormalisedRead(result.touchpoints, result.rejected, counts)

    def _read(self, kind: str, path: str, source: str, mapping: dict | None,
              id_column: str | None, region: str | None
              ) -> tuple[ReadResult, dict[str, dict[str, int]]]:
        original = str(Path(path)) if "://" not in str(path) else str(path)
        location = str(Path(path).resolve()) if "://" not in str(path) else str(path)
        schema = _read_schema(_reader_columns(kind, path, source, mapping,
                                              normalised=region is not None))
        with self._scratch("cxid-spark-read-") as folder:
            function = functools.partial(
                _read_partition, kind, source, dict(mapping) if mapping else None,
                id_column, original, region, schema,
                None if folder is None else f"{folder}/_out")
            if folder is not None:
                Path(folder, "_out").mkdir()
            if ("://" not in location and Path(location).is_file()
                    and splittable(kind, location)):
                size = max(self.read_chunk_bytes // WORK_PER_BYTE[kind], 1)
                if Path(location).stat().st_size > size:
                    if folder is not None:
                        return self._read_chunked(location, original, size, kind, source,
                                                  function, schema, folder)
                    log.info("%s: read whole; set SparkEngine(scratch_dir=...) to a folder "
                             "the executors can read to read it in chunks", original)
            return self._read_whole(location, original, source, function, schema)

    def _read_whole(self, location: str, original: str, source: str, function: Any,
                    schema: pa.Schema) -> tuple[ReadResult, dict[str, dict[str, int]]]:
        """Read ``location`` in one task."""
        name = PurePosixPath(location.rstrip("/")).name
        if name.startswith(("_", ".")) and "://" not in location:
            # Spark's file listing skips hidden names: ship the bytes from the driver
            log.info("%s: hidden file name, sending its bytes from the driver", original)
            files = self.spark.createDataFrame([(Path(location).read_bytes(),)],
                                               "content binary")
        else:
            files = self.spark.read.format("binaryFile").load(location).select("content")
        table = _collect_arrow(files.mapInArrow(function, from_arrow_schema(schema)))
        metas = _metas(table)
        if len(metas) != 1:
            raise IngestError(f"Spark found {len(metas)} files at this path, expected 1",
                              source=source, file=original)
        chunk, meta = metas[0]
        _raise_error(meta)
        rows = _chunk_rows(table, chunk, meta)
        return (ReadResult(_rebuild(rows, "touchpoints", meta["touchpoints"]),
                           _rebuild(rows, "rejected", meta["rejected"])),
                meta.get("counts", {}))

    @contextlib.contextmanager
    def _scratch(self, prefix: str) -> Iterator[str | None]:
        """A temporary folder both the driver and the executors can use (in the scratch
        folder, or the system's temporary folder in local mode), removed afterwards;
        None when there is none (a cluster without ``scratch_dir``)."""
        if self.scratch_dir is None and not self._local_master():
            yield None
            return
        if self.scratch_dir is not None:
            Path(self.scratch_dir).mkdir(parents=True, exist_ok=True)
        folder = tempfile.mkdtemp(prefix=prefix, dir=self.scratch_dir)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _local_master(self) -> bool:
        try:
            return str(self.spark.conf.get("spark.master", "")).startswith("local")
        except Exception:  # a session without that setting: assume a cluster
            return False

    def _read_chunked(self, location: str, original: str, size: int, kind: str,
                      source: str, function: Any, schema: pa.Schema, folder: str
                      ) -> tuple[ReadResult, dict[str, dict[str, int]]]:
        """Split ``location`` into chunks of about ``size`` bytes under ``folder`` (the
        local engine's chunker), read each chunk in its own task, and merge the
        results on the driver as the local engine does (original file name, global
        line numbers, record ids repeated across chunks rejected)."""
        chunk_dir = Path(folder, "chunks")
        chunk_dir.mkdir()
        chunks = list(line_chunks(location, str(chunk_dir), kind, size))
        log.info("%s: read in %d chunks of about %.1f MB", original, len(chunks),
                 size / (1 << 20))
        files = self.spark.read.format("binaryFile").load(str(chunk_dir)).select(
            "path", "content")
        # one partition (task) per chunk file, without shuffling the bytes: Spark
        # packs small files together up to maxPartitionBytes
        with _session_conf(self.spark, "spark.sql.files.maxPartitionBytes", "1"):
            table = _collect_arrow(files.mapInArrow(function, from_arrow_schema(schema)))
        metas = dict(_metas(table))
        names = [PurePosixPath(chunk).name for chunk, _ in chunks]
        for name in names:  # the first chunk's error, as reading the file whole would
            _raise_error(metas.get(name, {}))
        if sorted(metas) != sorted(names):
            raise IngestError(f"Spark read {len(metas)} chunks of this file, expected "
                              f"{len(names)}", source=source, file=original)
        parts = []
        for name in names:
            rows = _chunk_rows(table, name, metas[name])
            parts.append(ReadResult(_rebuild(rows, "touchpoints", metas[name]["touchpoints"]),
                                    _rebuild(rows, "rejected", metas[name]["rejected"])))
        del table, rows  # the parts hold the rows now
        counts = sum_counts([metas[name].get("counts", {}) for name in names])
        return merge_chunks(parts, [before for _, before in chunks], original), counts

    @_jvm_lost
    def read_rows(self, kind: str, path: str, *, source: str, mapping: dict | None,
                  id_column: str | None, region: str) -> RowsRead:
        """Read and normalise one source into a checkpointed DataFrame of reader rows
        that stays on the executors (the frame flow, :mod:`cxid.engine.spark_read`):
        per file or chunk one meta row, then its touchpoint and rejected rows. Only the
        meta rows (one per chunk) come to the driver; a reader error is raised here."""
        original = str(Path(path)) if "://" not in str(path) else str(path)
        location = str(Path(path).resolve()) if "://" not in str(path) else str(path)
        schema = _read_schema(_reader_columns(kind, path, source, mapping, normalised=True))
        function = functools.partial(
            _read_partition, kind, source, dict(mapping) if mapping else None, id_column,
            original, region, schema, None)
        with self._scratch("cxid-spark-read-") as folder:
            chunks: list[tuple[str, int]] = [("", 0)]
            if (folder is not None and "://" not in location and Path(location).is_file()
                    and splittable(kind, location)):
                size = max(self.read_chunk_bytes // WORK_PER_BYTE[kind], 1)
                if Path(location).stat().st_size > size:
                    chunk_dir = Path(folder, "chunks")
                    chunk_dir.mkdir()
                    chunks = [(PurePosixPath(c).name, before) for c, before in
                              line_chunks(location, str(chunk_dir), kind, size)]
                    log.info("%s: read in %d chunks of about %.1f MB", original, len(chunks),
                             size / (1 << 20))
            if chunks[0][0]:
                files = self.spark.read.format("binaryFile").load(
                    str(Path(folder, "chunks"))).select("path", "content")
            elif (PurePosixPath(location.rstrip("/")).name.startswith(("_", "."))
                  and "://" not in location):  # Spark's listing skips hidden names
                files = self.spark.createDataFrame([(Path(location).read_bytes(),)],
                                                   "content binary")
            else:
                files = self.spark.read.format("binaryFile").load(location).select("content")
            # one task per chunk file (Spark would pack small files together up to
            # maxPartitionBytes); checkpointed while the chunk files exist
            rows = files.mapInArrow(function, from_arrow_schema(schema))
            if chunks[0][0]:
                with _session_conf(self.spark, "spark.sql.files.maxPartitionBytes", "1"):
                    rows = rows.localCheckpoint()
            else:
                rows = rows.localCheckpoint()
            metas = dict(_metas(_collect_arrow(
                rows.where(F.col(_PART) == "meta").select(_PART, _CHUNK, _META))))
        names = [name for name, _ in chunks]
        for name in names:  # the first chunk's error, as reading the file whole would
            _raise_error(metas.get(name, {}))
        if sorted(metas) != sorted(names):
            raise IngestError(f"Spark read {len(metas)} files or chunks at this path, "
                              f"expected {len(names)}", source=source, file=original)
        return RowsRead(rows, [(name, before, metas[name]) for name, before in chunks])

    # ------------------------------------------------------------------ block_pairs
    @_jvm_lost
    def block_pairs(self, block: pd.DataFrame, n: int) -> np.ndarray:
        """Distinct sorted pair codes ``left * n + right`` (left < right) of fragments
        sharing a key, by a self-join on ``k``."""
        if block.empty:
            return np.array([], np.int64)
        df = self._to_spark(pd.DataFrame({"k": block["k"].to_numpy(np.int64),
                                             "f": block["f"].to_numpy(np.int64)}))
        left = df.select("k", F.col("f").alias("fl"))
        right = df.select("k", F.col("f").alias("fr"))
        codes = (left.join(right, "k").where(F.col("fl") < F.col("fr"))
                 .select((F.col("fl") * F.lit(int(n)).cast("long") + F.col("fr"))
                         .alias("code")).distinct())
        return np.sort(_collect_arrow(codes)["code"].to_numpy().astype(np.int64))

    # ------------------------------------------------------------------ map_batches
    @_jvm_lost
    def map_batches(self, function: BatchFunction, frame: pd.DataFrame,
                    batch_rows: int = 1_000_000) -> pd.DataFrame:
        """``function`` applied to ``frame`` on the executors (at most ``batch_rows``
        rows per call), results in the order of ``frame``."""
        if frame.empty:
            return function(frame).reset_index(drop=True)
        sample = function(frame.iloc[:_SAMPLE_ROWS]).reset_index(drop=True)
        out_schema = _spark_safe(pa.Schema.from_pandas(sample, preserve_index=False))
        out_schema = out_schema.append(pa.field(_ROW, pa.int64()))
        data = frame.reset_index(drop=True)
        dtypes = dict(data.dtypes)
        data[_ROW] = np.arange(len(data), dtype=np.int64)
        df = self._to_spark(data)
        worker = functools.partial(_map_partition, function, dtypes, out_schema,
                                   max(int(batch_rows), 1))
        table = _collect_arrow(df.mapInArrow(worker, from_arrow_schema(out_schema)))
        table = table.take(pc.sort_indices(table[_ROW]))
        return pd.DataFrame({c: _as_series(table[c], sample.dtypes[c]) for c in sample.columns},
                            columns=sample.columns)

    # ------------------------------------------------------------------ map_groups
    @_jvm_lost
    def map_groups(self, function: GroupFunction, frame: pd.DataFrame, key: str,
                   dtypes: Mapping[str, Any]) -> pd.DataFrame:
        """``function`` applied to each group of rows sharing ``key`` on the executors
        (``groupBy(key).applyInPandas``); results with the columns and dtypes of
        ``dtypes``, rows in no particular order."""
        out_dtypes = {c: pd.api.types.pandas_dtype(d) for c, d in dtypes.items()}
        if frame.empty:
            return empty_frame(out_dtypes)
        data = frame.reset_index(drop=True)
        out_schema = _spark_safe(pa.Schema.from_pandas(empty_frame(out_dtypes),
                                                       preserve_index=False))
        df = self._to_spark(data)
        in_dtypes = dict(data.dtypes)

        def worker(group):  # no type hints: Spark would try to read the UDF type from them
            return _apply_group(function, in_dtypes, out_dtypes, group)

        table = _collect_arrow(df.groupBy(key).applyInPandas(
            worker, from_arrow_schema(out_schema)))
        return pd.DataFrame({c: _as_series(table[c], d) for c, d in out_dtypes.items()},
                            columns=list(out_dtypes))

    # ------------------------------------------------------------------ components
    @_jvm_lost
    def connected_components(self, n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Component label per node ``0..n-1`` (dense, ordered by first node), by
        large-star / small-star rounds until the edge set stops changing."""
        if n == 0:
            return np.array([], np.int64)
        labels = np.arange(n, dtype=np.int64)
        left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
        keep = left != right
        if keep.any():
            edges = self._to_spark(pd.DataFrame({"a": left[keep], "b": right[keep]}))
            roots = star_roots(edges)
            stars = _collect_arrow(roots.where(F.col("node") != F.col("root")))
            labels[stars["node"].to_numpy()] = stars["root"].to_numpy()
        return dense_labels(labels)

    # ------------------------------------------------------------------ write
    @_jvm_lost
    def write_table(self, frame: pd.DataFrame, path: Path) -> None:
        """Write one output table as a folder of parquet parts (one per
        :data:`SLICE_BYTES` of data, in row order)."""
        target = str(path)
        if frame.shape[1] == 0:  # Spark cannot write a table without columns
            Path(target).mkdir(parents=True, exist_ok=True)
            LocalEngine().write_table(frame, Path(target) / "part-00000.parquet")
            return
        # one part per partition (at most SLICE_BYTES each), named in row order:
        # reading the folder gives the frame's order
        self.write_frame(self._to_spark(frame.reset_index(drop=True)), path)

    @_jvm_lost
    def write_frame(self, df: DataFrame, path: Path) -> None:
        """Write a DataFrame as a folder of parquet parts, named in the DataFrame's
        order (so reading the folder back keeps a sorted DataFrame's order)."""
        # TIMESTAMP_MICROS: readable as UTC timestamps
        with _session_conf(self.spark, "spark.sql.parquet.outputTimestampType",
                           "TIMESTAMP_MICROS"):
            df.write.mode("overwrite").parquet(str(path))

    def cancel_jobs(self) -> None:
        """Cancel every running Spark job of this session (a run that has failed does
        not wait for the rest of its reads)."""
        if _jvm_alive(self.spark):
            self.spark.sparkContext.cancelAllJobs()

    def close(self) -> None:
        """Stop the Spark session if this engine started it."""
        if self._owned:
            self._owned = False
            if _jvm_alive(self.spark):  # a JVM that died (out of heap) has nothing to stop
                self.spark.stop()
