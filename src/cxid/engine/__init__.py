"""Engines: the few operations whose implementation depends on scale.

Everything else in cxid (readers, normalisers, comparison functions, the
Fellegi–Sunter maths, survivorship) is pure logic over pandas/Arrow batches and never
knows where it runs. An engine supplies:

* ``read``: one source file -> touchpoints + rejected (the same readers everywhere);
  ``read_normalised`` also runs the normalisers in the same task;
* ``block_pairs``: fragment pairs sharing a blocking key (a self-join per key);
* ``map_batches``: apply a pure batch function to a frame, in batches;
* ``map_groups``: apply a pure function to each group of rows sharing a key;
* ``connected_components``: component label per node of an edge list;
* ``write_table``: one output table;
* ``concurrently``: independent driver-side steps at once (threads on the local
  engine, whose pandas/Arrow/numpy/rapidfuzz kernels release the GIL).

:class:`LocalEngine` (the default) does them in-process with pandas, pyarrow and
scipy. ``SparkEngine`` (``cxid[spark]``, :mod:`cxid.engine.spark`) does them with
Spark DataFrames (mapInArrow, joins, groupBy + applyInPandas, iterative
large-star/small-star). Both return
identical results, so the same config and inputs give the same customer ids.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as _scipy_components

from cxid._frames import unique_sorted
from cxid.errors import ConfigError
from cxid.schema import ReadResult

ENGINES = ("local", "spark")
log = logging.getLogger(__name__)

BatchFunction = Callable[[pd.DataFrame], pd.DataFrame]
GroupFunction = Callable[[pd.DataFrame], pd.DataFrame]


def empty_frame(dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """A frame without rows with the columns and dtypes of ``dtypes``."""
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in dtypes.items()},
                        columns=list(dtypes))


def dense_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber component labels 0, 1, 2... in order of each component's first node, so
    that any correct component labelling gives the same result."""
    return pd.factorize(np.asarray(labels), sort=False)[0].astype(np.int64)


class NormalisedRead(NamedTuple):
    """One input read and normalised: touchpoints with the ``*_norm`` columns, rejected
    rows, and the normalisers' counts per column (see
    :class:`~cxid.normalize.NormalizationReport`)."""

    touchpoints: pd.DataFrame
    rejected: pd.DataFrame
    counts: dict[str, dict[str, int]]


def sum_counts(counts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Normalisation counts of several chunks of one input, summed per column and key."""
    total: dict[str, dict[str, int]] = {}
    for part in counts:
        for column, by_key in part.items():
            into = total.setdefault(column, dict.fromkeys(by_key, 0))
            for k, v in by_key.items():
                into[k] = into.get(k, 0) + v
    return total


def read_and_normalise(kind: str, path: str, *, source: str, mapping: dict | None,
                       id_column: str | None, region: str) -> NormalisedRead:
    """The pure read-then-normalise step both engines run (Spark inside its read
    tasks): cxid's reader of ``kind``, then :func:`~cxid.normalize.normalize_touchpoints`
    with ``region`` as the default region. A kind whose reader yields normalised
    touchpoints (``touchpoints``) is passed through as read, with no counts."""
    from cxid.ingest import NORMALISED_KINDS, read_source
    from cxid.normalize import normalize_touchpoints

    result = read_source(kind, path, source=source, mapping=mapping, id_column=id_column)
    if kind in NORMALISED_KINDS:
        return NormalisedRead(result.touchpoints, result.rejected, {})
    tp, report = normalize_touchpoints(result.touchpoints, default_region=region)
    return NormalisedRead(tp, result.rejected,
                          {k: dict(v) for k, v in report.columns.items()})


#: The fork start method where forking a process with Arrow and pandas loaded is safe.
_FORK = multiprocessing.get_context("fork") if sys.platform == "linux" else None


def _run_forked(task: Callable[[], Any], send: Any) -> None:
    """In the forked process: run ``task``, send back (True, result) or (False, error)."""
    try:
        outcome: tuple[bool, Any] = (True, task())
    except BaseException as exc:  # re-raised in the parent
        outcome = (False, exc)
    try:
        send.send(outcome)
    except Exception as exc:  # e.g. an error that does not pickle
        send.send((False, RuntimeError(f"background step failed: {outcome[1]!r} ({exc})")))
    send.close()


class _Forked:
    """One task running in a forked process (see :meth:`LocalEngine.concurrently`)."""

    def __init__(self, task: Callable[[], Any]) -> None:
        assert _FORK is not None
        self._task = task
        self._recv, send = _FORK.Pipe(duplex=False)
        self._process = _FORK.Process(target=_run_forked, args=(task, send), daemon=True,
                                      name="cxid-fork")
        self._process.start()
        send.close()  # the child holds the other end: EOF if it dies

    def result(self) -> Any:
        try:
            ok, value = self._recv.recv()
        except EOFError:  # killed, out of memory...: do the work here
            self._process.join()
            log.warning("a background process ended without a result (exit code %s); "
                        "running its step in this process", self._process.exitcode)
            return self._task()
        finally:
            self._recv.close()
        self._process.join()
        if not ok:
            raise value
        return value


class LocalEngine:
    """In-process engine: pandas hash joins, direct calls, scipy, pyarrow.

    ``threads``: how many independent steps :meth:`concurrently` runs at once (default:
    one per core; 1 runs them one after the other)."""

    name = "local"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(1, threads if threads is not None else (os.cpu_count() or 1))

    def concurrently(self, *tasks: Callable[[], Any], fork: bool = False) -> list[Any]:
        """Run independent ``tasks`` (no arguments) and return their results in order;
        the first exception raised is re-raised. On two cores this overlaps e.g. the
        profiles with the links, or the writing of several output tables: their
        kernels release the GIL for most of their time.

        ``fork=True`` is for tasks that hold the GIL (pandas work on Python strings):
        the first task runs here and the others in forked processes, which see this
        process's data copy-on-write (nothing is copied to them) and send back only
        their (picklable) results. Where fork is not available (not Linux), or a
        forked process dies without a result, the task runs here instead."""
        if self.threads < 2 or len(tasks) < 2:
            return [task() for task in tasks]
        if fork and _FORK is not None:
            background = [_Forked(task) for task in tasks[1:]]
            first = tasks[0]()
            return [first, *(b.result() for b in background)]
        with ThreadPoolExecutor(max_workers=min(self.threads, len(tasks)),
                                thread_name_prefix="cxid") as pool:
            futures = [pool.submit(task) for task in tasks]
            return [f.result() for f in futures]

    def read(self, kind: str, path: str, *, source: str,
             mapping: dict | None, id_column: str | None) -> ReadResult:
        """Read one source file with cxid's reader of that kind."""
        from cxid.ingest import read_source

        return read_source(kind, path, source=source, mapping=mapping, id_column=id_column)

    def read_normalised(self, kind: str, path: str, *, source: str, mapping: dict | None,
                        id_column: str | None, region: str) -> NormalisedRead:
        """Read one source file and normalise its touchpoints (default phone/address
        region ``region``)."""
        return read_and_normalise(kind, path, source=source, mapping=mapping,
                                  id_column=id_column, region=region)

    def block_pairs(self, block: pd.DataFrame, n: int) -> np.ndarray:
        """Distinct pair codes ``left * n + right`` (left < right) of the fragments
        sharing a key; ``block`` has int64 columns ``k`` (key id) and ``f`` (fragment)."""
        pairs = block.merge(block, on="k", suffixes=("l", "r"))
        pairs = pairs[pairs["fl"] < pairs["fr"]]
        return unique_sorted(pairs["fl"].to_numpy(np.int64) * n + pairs["fr"].to_numpy(np.int64))

    def map_batches(self, function: BatchFunction, frame: pd.DataFrame,
                    batch_rows: int = 1_000_000) -> pd.DataFrame:
        """``function`` applied to ``frame`` in row batches, results concatenated in
        order. ``function`` must be pure and row-wise (a batch boundary changes
        nothing)."""
        if len(frame) <= batch_rows:
            return function(frame).reset_index(drop=True)
        parts = [function(frame.iloc[i:i + batch_rows])
                 for i in range(0, len(frame), batch_rows)]
        return pd.concat(parts, ignore_index=True)

    def map_groups(self, function: GroupFunction, frame: pd.DataFrame, key: str,
                   dtypes: Mapping[str, Any]) -> pd.DataFrame:
        """``function`` applied to each group of ``frame``'s rows sharing ``key``; the
        results concatenated with the columns and dtypes of ``dtypes``, rows in no
        particular order. ``function`` must be pure and group-wise (called on several
        whole groups at once it returns the concatenation of its per-group results),
        so this engine calls it once on all of ``frame``."""
        if frame.empty:
            return empty_frame(dtypes)
        out = function(frame.reset_index(drop=True))
        return out[list(dtypes)].astype(dict(dtypes)).reset_index(drop=True)

    def connected_components(self, n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Component label per node ``0..n-1`` (dense, ordered by first node)."""
        if n == 0:
            return np.array([], np.int64)
        graph = coo_matrix((np.ones(len(left), np.int8),
                            (np.asarray(left, np.int64), np.asarray(right, np.int64))),
                           shape=(n, n))
        _, labels = _scipy_components(graph, directed=False)
        return dense_labels(labels)

    def write_table(self, frame: pd.DataFrame, path: Path) -> None:
        """Write one output table as a parquet file."""
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

    def close(self) -> None:
        """Release resources (nothing to do locally)."""


_SPARK: LocalEngine | None = None


def get_engine(name: str | LocalEngine | None = None, *, threads: int | None = None
               ) -> LocalEngine:
    """The engine called ``name`` (``local`` by default, or ``spark``); ``threads``
    sets how many steps a local engine runs at once (see :class:`LocalEngine`)."""
    if name is None or name == "local":
        return LocalEngine(threads=threads)
    if isinstance(name, LocalEngine):
        if threads is not None and name.name == "local":
            return LocalEngine(threads=threads)
        return name
    if name == "spark":
        global _SPARK
        if _SPARK is None:  # one session per process, stopped at exit
            import atexit

            from cxid.engine.spark import SparkEngine

            _SPARK = SparkEngine()
            atexit.register(_SPARK.close)
        return _SPARK
    raise ConfigError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")
