"""``cxid.resolve``: sources in, a :class:`~cxid.resolution.Resolution` out.

The stages are plain functions over documented frames (see :mod:`cxid.schema`):
read -> normalise -> deterministic links (fragments) -> probabilistic matching ->
guarded clustering -> stable ids -> profiles and links. Each stage can be called on
its own; this module only wires them, keeps the books (counts in and out, input
hashes) and, with a state folder, carries ids and cached inputs between runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from cxid import __version__
from cxid._frames import arrow_text, concat_rows
from cxid.config import SOURCE_KINDS, Config, SourceConfig, config_from_dict, load_config
from cxid.engine import LocalEngine, get_engine, sum_counts
from cxid.errors import ConfigError, CxidError
from cxid.ingest import NORMALISED_KINDS, check_source
from cxid.ingest._chunks import (
    WORK_PER_BYTE,
    count_records,
    line_ranges,
    merge_chunks,
    read_range,
    splittable,
)
from cxid.link.blocking import DEFAULT_RULES
from cxid.link.fragments import Fragments, build_fragments
from cxid.link.identifiers import link_identifiers
from cxid.link.match import (
    DEFAULT_COMPARISONS,
    METHOD_LEVELS,
    MatchResult,
    linked_record_pairs,
    match_fragments,
)
from cxid.link.model import FellegiSunter
from cxid.progress import Progress, as_progress
from cxid.resolution import Resolution
from cxid.resolver.cluster import guarded_clusters
from cxid.resolver.graph import build_links
from cxid.resolver.ids import assign_stable_ids, record_keys
from cxid.resolver.profile import build_profiles
from cxid.resolver.state import State, cache_key, empty_history, value_hash
from cxid.schema import (
    ARROW_STRING,
    REJECTED_COLUMNS,
    TOUCHPOINT_COLUMNS,
    ReadResult,
    conform,
    conform_touchpoints,
    null_strings,
)

log = logging.getLogger(__name__)

SourcesArg = Mapping[str, str | Path] | Sequence[SourceConfig] | None

FORGOTTEN = "suppressed: forgotten on request"


def _sources(sources: SourcesArg, config: Config) -> tuple[SourceConfig, ...]:
    if sources is None:
        resolved = config.sources
    elif isinstance(sources, Mapping):
        configured = {s.name: s for s in config.sources}
        resolved = tuple(
            SourceConfig(name=name, kind=configured[name].kind, path=str(path),
                         mapping=configured[name].mapping, id_column=configured[name].id_column)
            if name in configured
            else SourceConfig(name=name, kind=name if name in SOURCE_KINDS else "tabular",
                              path=str(path))
            for name, path in sources.items()
        )
    else:
        resolved = tuple(sources)
    if not resolved:
        raise ConfigError("no sources: give at least one source (name=path)")
    names = [s.name for s in resolved]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError([f"source name {n!r} given more than once" for n in dupes])
    return resolved


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, streamed; of a folder input (parquet files of normalised
    touchpoints), the SHA-256 of each file's name and SHA-256, in name order."""
    if Path(path).is_dir():
        from cxid.ingest.touchpoints import parquet_files

        digest = hashlib.sha256()
        for file in parquet_files(path, source=str(path)):
            digest.update(f"{file.name}\0{file_sha256(file)}\n".encode())
        return digest.hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_bytes(path: str | Path) -> int:
    """Size of an input: a file's, or the sum of a folder input's parquet files."""
    if Path(path).is_dir():
        from cxid.ingest.touchpoints import parquet_files

        return sum(f.stat().st_size for f in parquet_files(path, source=str(path)))
    return Path(path).stat().st_size


def check_sources(sources: Sequence[SourceConfig]) -> None:
    """Validate every source before any work; one :class:`ConfigError` lists all problems."""
    problems: list[str] = []
    for s in sources:
        try:
            check_source(s.kind, s.path, source=s.name, mapping=s.mapping or None,
                         id_column=s.id_column)
        except ConfigError as exc:
            problems.extend(exc.problems)
        except CxidError as exc:
            problems.append(str(exc))
    if not problems:
        problems = _source_name_clashes(sources)
    if problems:
        raise ConfigError(problems)


def _source_name_clashes(sources: Sequence[SourceConfig]) -> list[str]:
    """Record ids are unique per source name, so no two inputs may hold rows of one
    source: a ``touchpoints`` input's rows carry their own source names (read from its
    ``source`` column), any other input's rows its configured name."""
    if not any(s.kind in NORMALISED_KINDS for s in sources):
        return []
    from cxid.ingest.touchpoints import source_names

    seen: dict[str, str] = {}
    problems = []
    for s in sources:
        names = source_names(s.path, source=s.name) if s.kind in NORMALISED_KINDS \
            else {s.name}
        for name in sorted(names):
            if name in seen:
                problems.append(f"source name {name!r} is in both input {seen[name]!r} and "
                                f"input {s.name!r} ({s.path}): record ids are unique per "
                                "source, so give its rows in one input")
            else:
                seen[name] = s.name
    return problems


def read_sources(
    sources: Sequence[SourceConfig],
    progress: Progress | bool | None = None,
    *,
    default_region: str = "FR",
    state: State | None = None,
    engine: LocalEngine | None = None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]], dict[str, Any]]:
    """Check every source, then read and normalise each one (or take it from the state's
    cache when the same file was read the same way before).

    With the local engine, large inputs are read in parallel by ``workers`` processes
    (default: one per core); big JSON Lines files are split into line-aligned chunks.

    Returns normalised touchpoints, rejected rows, one manifest entry per input, and
    the cache entries (key -> frames, or None when reused) for the next state.
    """
    bar = as_progress(progress)
    check_sources(sources)
    eng = engine or get_engine()

    def key_of(s: SourceConfig, sha: str) -> str:
        return input_cache_key(s, sha, default_region)

    # with a state, the hashes decide what its cache holds, so they come first; without
    # one, the inputs are hashed along with the reading (by the workers, at the end)
    shas: list[str | None] = [None] * len(sources)
    hits: list[tuple[pd.DataFrame, pd.DataFrame] | None] = [None] * len(sources)
    if state is not None:
        shas = [file_sha256(s.path) for s in sources]
        hits = [state.cached(key_of(s, sha)) for s, sha in zip(sources, shas, strict=True)]
    todo = [(s, str(i)) for i, s in enumerate(sources) if hits[i] is None]
    fresh = _read_fresh(todo, eng, default_region, workers, bar, hash_inputs=state is None)
    shas = [sha if sha is not None else fresh[str(i)][4] for i, sha in enumerate(shas)]

    touchpoints, rejected, inputs, cache = [], [], [], {}
    for i, (s, sha, hit) in enumerate(zip(sources, shas, hits, strict=True)):
        key = key_of(s, sha)
        if hit is not None:
            tp, rj = hit
            cache[key] = None
            seconds, report = 0.0, None
        else:
            tp, rj, report, seconds, _ = fresh[str(i)]
            cache[key] = (tp, rj)
        touchpoints.append(tp)
        rejected.append(rj)
        n_ok, n_bad = len(tp), len(rj)
        inputs.append(input_entry(s, sha, key, n_ok, n_bad, seconds,
                                  report if report is not None else "cached"))
        log.info("read %s (%s): %d records, %d rejected%s", s.name, s.kind, n_ok, n_bad,
                 " (cached)" if hit is not None else "")
    all_tp = _stack(touchpoints)
    all_rejected = conform(pd.concat(rejected, ignore_index=True), REJECTED_COLUMNS)
    return all_tp, all_rejected, inputs, cache



def input_entry(s: SourceConfig, sha: str, key: str, accepted: int, rejected: int,
                seconds: float, normalization: dict[str, Any] | str) -> dict[str, Any]:
    """The manifest's entry for one input (``normalization`` is "cached" for an input
    taken from the state's cache)."""
    return {
        "source": s.name, "kind": s.kind, "path": str(s.path), "sha256": sha,
        "cache_key": key,
        "bytes": input_bytes(s.path), "records_read": accepted + rejected,
        "records_accepted": accepted, "records_rejected": rejected,
        "cached": normalization == "cached", "seconds": round(seconds, 3),
        "normalization": normalization,
    }


def input_cache_key(s: SourceConfig, sha: str, region: str) -> str:
    """Key of one input's normalised rows in a state's cache: the file's hash and how
    it was read."""
    return cache_key(sha, name=s.name, kind=s.kind, mapping=dict(s.mapping),
                     id_column=s.id_column, region=region, version=__version__)


#: Inputs smaller than this in total are read in-process (a pool costs more than it saves).
PARALLEL_MIN_BYTES = 64 << 20
#: Large JSON Lines and mbox files are split into chunks of about this size (at most)
#: for parallel reading; smaller inputs get smaller chunks so every worker has work.
CHUNK_BYTES = 256 << 20
#: Chunks never hold less work than this many Segment-JSON bytes (each one costs a
#: task, a result transfer and fixed per-call costs).
MIN_CHUNK_BYTES = 12 << 20
_line_ranges = line_ranges  # a module attribute: the tests spy on it


def _read_and_normalise(kind: str, path: str, source: str, mapping: dict | None,
                        id_column: str | None, region: str, engine: LocalEngine | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, int]]]:
    """One input (or chunk) -> normalised touchpoints (Arrow strings), rejected, counts."""
    tp, rj, counts = (engine or LocalEngine()).read_normalised(
        kind, path, source=source, mapping=mapping, id_column=id_column, region=region)
    return as_arrow_strings(tp), rj, counts


class _Packed(NamedTuple):
    """Touchpoints on their way from a worker to the parent process: an Arrow IPC file
    (in RAM-backed ``/dev/shm`` where there is room) that the parent reads back in one
    pass, with no unpickling, and the names (in order) of the all-null text columns,
    left out of the file and rebuilt on arrival (a beacon source leaves most of the 44
    columns empty). Pickling a 256 MB web range's frames and piping them over cost ~1 s
    of the worker's time per task."""

    path: str
    columns: list[str]
    empty: list[str]


#: Arrow text types -> the pandas dtype touchpoints keep them in.
_TEXT_DTYPES = {pa.string(): ARROW_STRING, pa.large_string(): ARROW_STRING}


def _scratch_dir(need: int) -> str | None:
    """Where workers leave their pieces and results: RAM-backed ``/dev/shm`` when it is
    there, writable and has ``need`` bytes free (containers often give it 64 MB), else
    the system's temporary folder."""
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    room = stats.f_bavail * stats.f_frsize
    return shm if os.access(shm, os.W_OK) and room >= need else None


def _pack(touchpoints: pd.DataFrame, folder: str) -> _Packed:
    empty = [c for c in touchpoints.columns
             if touchpoints[c].dtype == ARROW_STRING and not touchpoints[c].notna().any()]
    table = pa.Table.from_pandas(touchpoints.drop(columns=empty), preserve_index=False)
    handle, name = tempfile.mkstemp(prefix="part-", suffix=".arrow", dir=folder)
    with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return _Packed(name, list(touchpoints.columns), empty)


def _unpack(packed: _Packed) -> pd.DataFrame:
    """The worker's touchpoints, read into the parent's memory; the file is removed at
    once, so the scratch folder only ever holds the results in flight."""
    with pa.OSFile(packed.path) as source:
        table = pa.ipc.open_file(source).read_all()
    os.unlink(packed.path)
    frame = table.to_pandas(types_mapper=_TEXT_DTYPES.get)
    if not packed.empty:
        return frame
    return pd.DataFrame({c: frame[c] if c in frame.columns else null_strings(frame.index)
                         for c in packed.columns}, index=frame.index)


def _read_packed(kind: str, path: str, folder: str, source: str, mapping: dict | None,
                 id_column: str | None, region: str) -> tuple[_Packed, pd.DataFrame, dict]:
    """:func:`_read_and_normalise` in a worker process, touchpoints packed for the trip."""
    tp, rj, counts = _read_and_normalise(kind, path, source, mapping, id_column, region)
    return _pack(tp, folder), rj, counts


def _read_range_and_normalise(kind: str, path: str, start: int, end: int, folder: str,
                              source: str, mapping: dict | None, id_column: str | None,
                              region: str) -> tuple[_Packed, pd.DataFrame, dict, int]:
    """Bytes ``start``-``end`` of ``path`` (a piece from :func:`line_ranges`) read and
    normalised in a worker, plus the records (lines, or mbox messages) they hold. The
    worker copies its own piece to a chunk file for the reader, so the parent process
    never copies the input."""
    block = read_range(path, start, end)
    records = count_records(block, kind)
    handle, name = tempfile.mkstemp(prefix=f"chunk-{start:014d}-", suffix=Path(path).suffix,
                                    dir=folder)  # a name no other piece can take
    with os.fdopen(handle, "wb") as out:
        out.write(block)
    chunk = Path(name)
    del block
    try:
        tp, rj, counts = _read_and_normalise(kind, str(chunk), source, mapping, id_column,
                                             region)
    finally:
        chunk.unlink()  # deleted at once: a large input's pieces need not reach the disk
    return _pack(tp, folder), rj, counts, records


def _chunk_bytes(total: int, n_workers: int) -> int:
    """Chunk size for a run reading ``total`` bytes on ``n_workers`` processes: about
    six chunks per worker, so the pool stays balanced while the last ones finish."""
    return int(min(CHUNK_BYTES, max(MIN_CHUNK_BYTES, total // (6 * n_workers))))


def _merge_chunks(parts: list[tuple[pd.DataFrame, pd.DataFrame, dict]], offsets: list[int],
                  path: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Normalised chunk results -> one input (see :func:`cxid.ingest._chunks.merge_chunks`),
    with the normalisation counts summed."""
    tp, rj = merge_chunks([ReadResult(tp, rj) for tp, rj, _ in parts], offsets, path)
    return tp, rj, sum_counts([p[2] for p in parts])


def _read_on_engine(todo: list[tuple[SourceConfig, str]], engine: LocalEngine, region: str,
                    bar: Progress) -> dict[str, tuple]:
    """Read and normalise inputs on an engine that runs reads elsewhere (Spark): all
    inputs submitted at once from threads, one job each, so the executors work on all
    of them together instead of one small file at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(s: SourceConfig) -> tuple:
        started = time.perf_counter()
        tp, rj, report = _read_and_normalise(s.kind, str(s.path), s.name,
                                             dict(s.mapping) or None, s.id_column, region,
                                             engine)
        return tp, rj, report, time.perf_counter() - started

    out: dict[str, tuple] = {}
    pool = ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="cxid-read")
    try:
        futures = {key: pool.submit(one, s) for s, key in todo}
        for s, key in todo:  # the first input's error first, as reading in order would
            try:
                out[key] = futures[key].result()
            except BaseException:
                cancel = getattr(engine, "cancel_jobs", None)
                if cancel is not None:  # the other reads are wasted work now
                    cancel()
                raise
            n = len(out[key][0]) + len(out[key][1])
            bar.update(f"read {s.name}", n, n, "records")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _read_fresh(todo: list[tuple[SourceConfig, str]], engine: LocalEngine, region: str,
                workers: int | None, bar: Progress, *, hash_inputs: bool = False
                ) -> dict[str, tuple]:
    """Read and normalise the inputs not in the cache: key -> (tp, rejected, counts,
    seconds, SHA-256 of the file or None). Large local inputs go to a process pool, big
    JSON Lines in chunks; with ``hash_inputs`` the files are hashed too (in the pool,
    after the reading tasks, when there is one)."""
    from concurrent.futures import ProcessPoolExecutor

    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    out: dict[str, tuple] = {}

    def sha_of(s: SourceConfig) -> str | None:
        return file_sha256(s.path) if hash_inputs else None

    if engine.name != "local":
        read = _read_on_engine(todo, engine, region, bar) if todo else out
        return {key: (*read[key], sha_of(s)) for s, key in todo}
    # normalised touchpoints are parquet already: read in-process (a worker would only
    # add a copy of the columns on the way back), the others as below
    size = sum(input_bytes(s.path) for s, _ in todo if s.kind not in NORMALISED_KINDS)
    serial = n_workers < 2 or size < PARALLEL_MIN_BYTES
    inline = [(s, key) for s, key in todo if serial or s.kind in NORMALISED_KINDS]
    todo = [(s, key) for s, key in todo if not serial and s.kind not in NORMALISED_KINDS]
    for s, key in inline:
        started = time.perf_counter()
        tp, rj, report = _read_and_normalise(
            s.kind, str(s.path), s.name, dict(s.mapping) or None, s.id_column, region,
            engine)
        out[key] = (tp, rj, report, time.perf_counter() - started, sha_of(s))
        bar.update(f"read {s.name}", len(tp) + len(rj), len(tp) + len(rj), "records")
    if not todo:
        return out
    work = {key: Path(s.path).stat().st_size * WORK_PER_BYTE.get(s.kind, 4)
            for s, key in todo}
    target = _chunk_bytes(sum(work.values()), n_workers)  # work units per chunk
    # room for the pieces and results in flight (a piece's result can outweigh it)
    scratch = _scratch_dir(need=2 * size)
    with tempfile.TemporaryDirectory(prefix="cxid-chunks-", dir=scratch) as tmp, \
            ProcessPoolExecutor(max_workers=n_workers) as pool:
        # every task (a whole input, or a piece of a split one) with its estimated
        # work; submitted longest first (LPT), so the two workers finish together
        tasks: list[tuple[int, str, int, tuple]] = []
        pieces_of: dict[str, bool] = {}
        for s, key in todo:
            args = (s.name, dict(s.mapping) or None, s.id_column, region)
            per_byte = WORK_PER_BYTE.get(s.kind, 4)
            pieces_of[key] = work[key] > target and splittable(s.kind, s.path)
            if not pieces_of[key]:
                tasks.append((work[key], key, 0, (_read_packed, s.kind, str(s.path), tmp,
                                                  *args)))
                continue
            folder = f"{tmp}/{key}"  # one per input: two inputs' pieces share offsets
            os.makedirs(folder)
            ranges = _line_ranges(str(s.path), s.kind, max(target // per_byte, 1))
            tasks.extend(((end - start) * per_byte, key, i,
                          (_read_range_and_normalise, s.kind, str(s.path), start, end,
                           folder, *args))
                         for i, (start, end) in enumerate(ranges))
        if hash_inputs:  # cheap (~1 s per GB): last, to fill the workers' tails
            tasks.extend((0, key, -1, (file_sha256, str(s.path))) for s, key in todo)
        started = time.perf_counter()
        futures_of: dict[str, dict[int, Any]] = {key: {} for _, key in todo}
        for _, key, i, call in sorted(tasks, key=lambda task: -task[0]):  # stable
            futures_of[key][i] = pool.submit(*call)
        hashed = {key: futures_of[key].pop(-1, None) for _, key in todo}
        jobs = {key: (s, [futures_of[key][i] for i in sorted(futures_of[key])],
                      pieces_of[key], started) for s, key in todo}
        for _, key in todo:
            s, futures, pieces, started = jobs[key]
            parts = [(_unpack(r[0]), *r[1:]) for r in (f.result() for f in futures)]
            if not pieces:
                tp, rj, report = parts[0]
            else:  # records before each piece: those of the pieces before it
                before = np.cumsum([0] + [p[3] for p in parts[:-1]]).tolist()
                tp, rj, report = _merge_chunks([p[:3] for p in parts], before, str(s.path))
            sha = hashed[key].result() if hashed[key] is not None else None
            out[key] = (tp, rj, report, time.perf_counter() - started, sha)
            bar.update(f"read {s.name}", len(tp) + len(rj), len(tp) + len(rj), "records")
    return out


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-source normalised touchpoints: canonical columns first, then the
    normalised ones, then extras; a column a source lacks is null there."""
    if not frames:
        return as_arrow_strings(conform_touchpoints(pd.DataFrame()))
    columns = list(TOUCHPOINT_COLUMNS)
    for f in frames:
        columns += [c for c in f.columns if c not in columns]
    aligned = []
    for f in frames:
        missing = [c for c in columns if c not in f.columns]
        if missing:
            f = f.assign(**{c: null_strings(f.index) for c in missing})
        aligned.append(f[columns])
    with warnings.catch_warnings():
        # all-null columns are already typed (Arrow strings): the dtype pandas would
        # infer in the future is the same, so its deprecation notice does not apply
        warnings.filterwarnings("ignore", "The behavior of DataFrame concatenation",
                                FutureWarning)
        stacked = concat_rows(aligned)
    for c in CATEGORICAL_COLUMNS:  # one sorted category set, however the input was split
        if c not in stacked.columns:
            continue
        if isinstance(stacked[c].dtype, pd.CategoricalDtype):
            stacked[c] = stacked[c].cat.remove_unused_categories()
        else:  # as pd.Categorical(values), from codes (no Python string per row)
            codes, uniques = pd.factorize(stacked[c], sort=True)
            stacked[c] = pd.Categorical.from_codes(
                codes, categories=pd.Index(np.asarray(uniques, dtype=object)))
    return as_arrow_strings(stacked)


#: Columns with few distinct values over millions of rows, kept as categoricals.
CATEGORICAL_COLUMNS = ("file", "user_agent")


def as_arrow_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Store string columns as Arrow strings (half the memory of Python strings; null
    checks, hashing and comparisons run in C), and the few highly repetitive ones
    (file path, user agent) as categoricals."""
    frame = arrow_text(frame, exclude=CATEGORICAL_COLUMNS)
    for c in CATEGORICAL_COLUMNS:
        if c in frame.columns and not isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype("category")
    return frame


def apply_suppression(
    touchpoints: pd.DataFrame, suppression: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move records of forgotten people to rejected (reason only, no raw data)."""
    if suppression.empty or touchpoints.empty:
        return touchpoints, conform(pd.DataFrame(), REJECTED_COLUMNS)
    hit = np.zeros(len(touchpoints), dtype=bool)
    checks = {"record": record_keys(touchpoints["source"], touchpoints["record_id"]),
              "email": touchpoints["email_norm"], "phone": touchpoints["phone_norm"]}
    for what, values in checks.items():
        hashes = set(suppression.loc[suppression["what"] == what, "value_hash"].astype(str))
        if not hashes:
            continue
        distinct = pd.Series(values.dropna().unique()).astype("string")
        hashed = dict(zip(distinct.tolist(), value_hash(distinct).tolist(), strict=True))
        hit |= values.map(hashed).isin(hashes).fillna(False).to_numpy(bool)
    gone = touchpoints[hit]
    rejected = conform(pd.DataFrame({
        "source": gone["source"], "file": gone["file"], "line": gone["line"],
        "record_id": gone["record_id"], "reason": FORGOTTEN,
    }), REJECTED_COLUMNS)
    return touchpoints[~hit].reset_index(drop=True), rejected


def resolve(
    sources: SourcesArg = None,
    config: Config | Mapping[str, Any] | str | Path | None = None,
    *,
    state: str | Path | None = None,
    refit: bool = False,
    engine: str | LocalEngine | None = None,
    workers: int | None = None,
    progress: Progress | bool | None = None,
) -> Resolution:
    """Resolve touchpoints from ``sources`` into customers.

    ``sources`` maps a source name to a path (the name is the reader kind: web,
    beacon, twitter, email, esp, crm, or touchpoints for normalised touchpoints
    written by an earlier run; other names need a kind in the config), or is a
    sequence of :class:`SourceConfig`; when None the config's sources are used.

    With ``state`` (a folder), customer ids are carried over from the previous run,
    inputs already read are taken from its cache, and its fitted model is reused
    (unless ``refit`` or the config names a model); call
    :meth:`Resolution.save_state` or the CLI to write the new state.

    ``engine``: ``"local"`` (default) or ``"spark"`` (``pip install 'cxid[spark]'``);
    both give the same customer ids. ``workers``: on the local engine, processes
    reading large inputs in parallel and threads running independent steps at once
    (default: one per core; 1 runs everything in this thread, same results).
    """
    started = time.perf_counter()
    clock = _StageClock()
    prior_state = State.load(state) if state is not None else None
    if sources is None and config is None and prior_state is not None and prior_state.info:
        config = config_from_dict(prior_state.info["config"])  # re-run the state's inputs
    cfg = load_config(config)
    srcs = _sources(sources, cfg)
    bar = as_progress(progress)
    eng = get_engine(engine, threads=workers)

    touchpoints, rejected, inputs, cache = read_sources(
        srcs, bar, default_region=cfg.default_region, state=prior_state, engine=eng,
        workers=workers)
    if prior_state is not None:
        touchpoints, forgotten = apply_suppression(touchpoints, prior_state.suppression)
        rejected = pd.concat([rejected, forgotten], ignore_index=True)
    bar.message(f"read {len(touchpoints):,} touchpoints, rejected {len(rejected):,}")

    clock.lap("read_and_normalise")
    det = link_identifiers(touchpoints, cfg.identifiers, engine=eng)
    bar.message(
        f"deterministic linking: {det.n_fragments:,} fragments, "
        f"{len(det.suppressed):,} identifier values suppressed, {len(det.refused):,} refused"
    )
    clock.lap("deterministic_links")
    fragments = build_fragments(touchpoints, det.fragment)

    clock.lap("fragments")
    m = cfg.matching
    comparisons = m.comparisons or DEFAULT_COMPARISONS
    matched = match_and_cluster(
        fragments, lambda: linked_record_pairs(touchpoints, det.fragment, seed=m.seed),
        cfg, model_json=prior_state.model_json if prior_state is not None and not refit
        else None, engine=eng, progress=bar)
    match, accepted, refused_edges = matched.match, matched.accepted, matched.refused
    fragment_cluster = matched.fragment_cluster
    cluster = fragment_cluster[det.fragment]
    del fragments

    clock.lap("matching_and_clustering")
    run = (prior_state.run if prior_state is not None else 0) + 1
    customer_id, history, registry = assign_stable_ids(
        touchpoints["source"], touchpoints["record_id"], cluster,
        prior_state.identities if prior_state is not None else None, run=run,
        registry=prior_state.registry if prior_state is not None else None,
    )
    identities = pd.DataFrame({
        # Arrow strings, as the touchpoints hold them: no Python object per record
        "source": touchpoints["source"].astype(ARROW_STRING),
        "record_id": touchpoints["record_id"].astype(ARROW_STRING),
        "customer_id": customer_id,
    })
    clock.lap("customer_ids")
    # profiles and links are independent: the engine may build them at once
    customers, links = eng.concurrently(
        lambda: build_profiles(touchpoints, customer_id, rules=cfg.survivorship.rules,
                               source_priority=cfg.survivorship.source_priority),
        lambda: build_links(touchpoints, customer_id, det.edges, det.fragment, accepted,
                            refused_edges,
                            [(s.name, METHOD_LEVELS[s.method]) for s in comparisons]))
    rejected = arrow_text(conform(rejected, REJECTED_COLUMNS))

    clock.lap("profiles_and_links")
    manifest = run_manifest(
        run=run, started=started, clock=clock, inputs=inputs, n_identities=len(identities),
        n_rejected=len(rejected), sizes=customers["records"].to_numpy(), det_stats=det.stats,
        n_suppressed=len(det.suppressed), n_refused=len(det.refused), matched=matched,
        rejected_by_reason=_reasons(rejected),
        normalization=_normalization_counts(touchpoints),
        id_changes={"merge": int((history["reason"] == "merge").sum()),
                    "split": int((history["reason"] == "split").sum())},
        config=cfg.with_sources(srcs).to_dict())
    counts = manifest["counts"]
    bar.message(
        f"{counts['records_in']:,} records in -> {counts['identities']:,} identities "
        f"({counts['customers']:,} customers) + {counts['rejected']:,} rejected"
    )
    full_history = history
    if prior_state is not None and not prior_state.history.empty:
        full_history = pd.concat([prior_state.history, history], ignore_index=True)
    return Resolution(
        touchpoints=touchpoints,
        identities=identities,
        customers=customers,
        links=links,
        rejected=rejected,
        id_history=arrow_text(full_history if len(full_history) else empty_history()),
        suppressed=det.suppressed,
        refused=det.refused,
        fragment=det.fragment,
        pairs=match.pairs if match is not None else None,
        model=match.model if match is not None else None,
        manifest=manifest,
        _registry=registry,
        _cache=cache,
        _suppression=prior_state.suppression if prior_state is not None else None,
    )


def resolve_to(
    out: str | Path,
    sources: SourcesArg = None,
    config: Config | Mapping[str, Any] | str | Path | None = None,
    *,
    state: str | Path | None = None,
    refit: bool = False,
    engine: str | LocalEngine | None = None,
    workers: int | None = None,
    progress: Progress | bool | None = None,
    write_touchpoints: bool = False,
) -> dict[str, Any]:
    """Resolve and write the outputs to folder ``out`` (and, with ``state``, the state
    the next run resumes from); returns the run manifest. What the CLI runs.
    ``write_touchpoints`` also writes the normalised touchpoints
    (``touchpoints.parquet``, a source of kind ``touchpoints`` for later runs).

    On the Spark engine without a state this is the frame flow
    (:mod:`cxid.engine.spark_flow`): the per-record tables are built and written by
    Spark and never come to the driver, so the driver needs memory for per-fragment
    data only. Otherwise it is ``resolve(...)`` then :meth:`Resolution.write`.
    """
    eng = get_engine(engine, threads=workers)
    if eng.name == "spark" and state is None:
        from cxid.engine.spark_flow import resolve_frames

        cfg = load_config(config)
        return resolve_frames(_sources(sources, cfg), cfg, eng, out, progress=progress,
                              write_touchpoints=write_touchpoints)
    resolution = resolve(sources, config, state=state, refit=refit, engine=eng,
                         workers=workers, progress=progress)
    resolution.write(out, engine=eng, touchpoints=write_touchpoints)
    if state is not None:
        resolution.save_state(state)
    return resolution.manifest


class Matched(NamedTuple):
    """Probabilistic matching and guarded clustering of one run's fragments: the
    cluster of each fragment, the scored pairs, and the pairs above the threshold the
    clustering accepted or refused (with the reason); None when matching did not run."""

    fragment_cluster: np.ndarray
    match: MatchResult | None
    accepted: pd.DataFrame | None
    refused: pd.DataFrame | None


def match_and_cluster(fragments: Fragments, linked_pairs: Callable[[], Any], cfg: Config, *,
                      model_json: str | None, engine: LocalEngine, progress: Progress
                      ) -> Matched:
    """Score fragment pairs (the config's model, else ``model_json`` from a state, else
    one fitted with m learnt from ``linked_pairs()``: the deterministic links' record
    pairs) and cluster them with the guardrails. Both engines' flows run this on the
    driver: its input and output are per fragment, not per record."""
    m = cfg.matching
    if not (m.enabled and fragments.n > 1):
        return Matched(np.arange(fragments.n, dtype=np.int64), None, None, None)
    model = None
    if m.model:
        model = FellegiSunter.load(m.model)
    elif model_json:
        model = FellegiSunter.from_json(model_json)
    # built (on a second core, locally) while the candidates are compared
    linked = linked_pairs if model is None and m.learn_m_from_links else None
    match = match_fragments(
        fragments, rules=m.blocking or DEFAULT_RULES,
        comparisons=m.comparisons or DEFAULT_COMPARISONS, model=model, linked=linked,
        engine=engine, exclude_same_source=m.link_only, u_sample=m.u_sample,
        max_block_size=m.max_block_size, max_pairs=m.max_pairs, seed=m.seed,
        progress=progress,
    )
    above = match.pairs[match.pairs["match_probability"] >= m.threshold]
    clusters = guarded_clusters(
        fragments, above["fragment_l"].to_numpy(), above["fragment_r"].to_numpy(),
        above["match_weight"].to_numpy(), engine=engine,
    )
    refused_keys = pd.MultiIndex.from_frame(clusters.refused[["fragment_l", "fragment_r"]])
    is_refused = pd.MultiIndex.from_frame(above[["fragment_l", "fragment_r"]]).isin(
        refused_keys)
    refused = above[is_refused].merge(
        clusters.refused[["fragment_l", "fragment_r", "reason"]],
        on=["fragment_l", "fragment_r"])
    progress.message(f"matching: {len(match.pairs):,} pairs scored, {len(above):,} above "
                     f"{m.threshold}, {len(refused):,} refused by guardrails")
    return Matched(clusters.label, match, above[~is_refused], refused)


class _StageClock:
    """Wall time per pipeline stage, for the manifest (benchmarks read it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 3)
        self._last = now


def run_manifest(*, run: int, started: float, clock: _StageClock, inputs: list[dict[str, Any]],
                 n_identities: int, n_rejected: int, sizes: np.ndarray,
                 det_stats: dict[str, int], n_suppressed: int, n_refused: int,
                 matched: Matched, rejected_by_reason: dict[str, int],
                 normalization: dict[str, int], id_changes: dict[str, int],
                 config: dict[str, Any]) -> dict[str, Any]:
    """The run manifest (both engines' flows), after checking that every record read
    came out: in the identities or in rejected."""
    n_in = sum(i["records_read"] for i in inputs)
    match = matched.match
    counts = {
        "records_in": int(n_in),
        "identities": int(n_identities),
        "rejected": int(n_rejected),
        "customers": len(sizes),
        "fragments": det_stats.get("fragments", 0),
        "identifier_values_suppressed": int(n_suppressed),
        "identifier_values_refused": int(n_refused),
        "candidate_pairs": len(match.pairs) if match is not None else 0,
        "match_edges": len(matched.accepted) if matched.accepted is not None else 0,
        "merges_refused": len(matched.refused) if matched.refused is not None else 0,
        "largest_customer": int(sizes.max()) if len(sizes) else 0,
    }
    if counts["identities"] + counts["rejected"] != counts["records_in"]:
        raise CxidError(
            f"record accounting broken: {counts['records_in']} in, "
            f"{counts['identities']} identities + {counts['rejected']} rejected out"
        )
    return {
        "cxid_version": __version__,
        "run": run,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "seconds": round(time.perf_counter() - started, 3),
        "stage_seconds": clock.seconds,
        "inputs": inputs,
        "counts": counts,
        "cluster_sizes": _size_distribution(sizes),
        "rejected_by_reason": rejected_by_reason,
        "normalization": normalization,
        "deterministic": det_stats,
        "matching": match.stats if match is not None else {},
        "blocking": match.blocking.to_dict("records") if match is not None else [],
        "id_changes": id_changes,
        "config": config,
    }


def _size_distribution(sizes: np.ndarray) -> dict[str, int]:
    if not len(sizes):
        return {}
    bins = [1, 2, 3, 5, 10, 20, 50, 100, 1000]
    labels = ["1", "2", "3-4", "5-9", "10-19", "20-49", "50-99", "100-999", ">=1000"]
    idx = np.searchsorted(bins, sizes, side="right") - 1
    counts = np.bincount(idx, minlength=len(labels))
    return {label: int(c) for label, c in zip(labels, counts, strict=True)}


def _normalization_counts(touchpoints: pd.DataFrame) -> dict[str, int]:
    """Non-null counts per normalised column (detailed per-source counts are logged)."""
    return {c: int(touchpoints[c].notna().sum()) for c in touchpoints.columns
            if c.endswith("_norm")}


def _reasons(rejected: pd.DataFrame) -> dict[str, int]:
    """Rejection counts by reason family (text before the first quote or colon)."""
    if rejected.empty:
        return {}
    family = rejected["reason"].astype("string").str.split(r"[:'(]", n=1, regex=True).str[0]
    return {str(k).strip(): int(v) for k, v in family.value_counts().items()}


def forget(
    state: str | Path,
    *,
    emails: Sequence[str] = (),
    customer_ids: Sequence[str] = (),
) -> dict[str, int]:
    """Forget people: remove their records from the state and keep them out of later runs.

    The customers given by id, and every customer holding one of ``emails``, are
    forgotten: their records' keys, e-mails and phones go to the state's suppression
    list as SHA-256 hashes, and their records are purged from the cached inputs. The
    next ``resolve`` with this state (``cxid forget`` runs it) moves any record still
    found in the inputs to ``rejected`` with a reason and no raw data; other customers
    keep their ids. Returns counts (customers, records, identifier values).
    """
    from cxid.normalize import normalize_email

    st = State.load(state)
    if st.identities is None:
        raise CxidError(f"{state}: no state to forget from (run cxid resolve --state first)")
    keys_inputs = [i["cache_key"] for i in st.info.get("inputs", []) if "cache_key" in i]
    cached = {k: st.cached(k) for k in keys_inputs}
    columns = ["source", "record_id", "email_norm", "phone_norm"]
    frames = [v[0].reindex(columns=columns).astype(ARROW_STRING)
              for v in cached.values() if v is not None]
    tp = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {c: pd.Series(dtype=ARROW_STRING) for c in columns})
    wanted = set(normalize_email(pd.Series(list(emails), dtype="string")).dropna().tolist())
    ident = st.identities.merge(tp, on=["source", "record_id"], how="left")
    hit_customers = set(customer_ids) | set(
        ident.loc[ident["email_norm"].isin(wanted), "customer_id"].astype(str))
    unknown = set(customer_ids) - set(st.identities["customer_id"].astype(str))
    if unknown:
        raise CxidError(f"unknown customer id(s): {', '.join(sorted(unknown))}")
    gone = ident[ident["customer_id"].isin(hit_customers)]
    keys = record_keys(gone["source"], gone["record_id"])
    emails_out = set(gone["email_norm"].dropna().astype(str)) | wanted
    phones_out = set(gone["phone_norm"].dropna().astype(str))
    new_rows = pd.concat([
        pd.DataFrame({"what": "record", "value_hash": value_hash(keys).to_numpy()}),
        pd.DataFrame({"what": "email",
                      "value_hash": value_hash(pd.Series(sorted(emails_out))).to_numpy()}),
        pd.DataFrame({"what": "phone",
                      "value_hash": value_hash(pd.Series(sorted(phones_out))).to_numpy()}),
    ], ignore_index=True)
    suppression = pd.concat([st.suppression, new_rows], ignore_index=True).drop_duplicates()
    suppression = suppression.astype({"what": "string", "value_hash": "string"})
    purged: dict[str, tuple[pd.DataFrame, pd.DataFrame] | None] = {}
    for key, frames_pair in cached.items():
        if frames_pair is None:
            continue
        ctp, crj = frames_pair
        # keep only the keys of forgotten records (so they are still accounted for, as
        # rejected); blank every other value
        _, hits = apply_suppression(ctp, suppression)
        hit_keys = set(record_keys(hits["source"], hits["record_id"]).tolist())
        mask = record_keys(ctp["source"], ctp["record_id"]).isin(hit_keys).to_numpy()
        blank = [c for c in ctp.columns if c not in ("source", "record_id", "file", "line")]
        ctp = ctp.copy()
        ctp.loc[mask, blank] = None
        crj = crj[~crj["record_id"].isin(set(gone["record_id"].astype(str)))]
        purged[key] = (ctp, crj)
    keep = ~st.identities["customer_id"].isin(hit_customers)
    st.save(run=st.run, identities=st.identities[keep].reset_index(drop=True),
            registry=st.registry if st.registry is not None else pd.DataFrame(),
            history=st.history, model_json=st.model_json, suppression=suppression,
            cache=purged, info=st.info)
    log.info("forgot %d customers (%d records)", len(hit_customers), len(gone))
    return {"customers": len(hit_customers), "records": len(gone),
            "identifier_values": len(emails_out) + len(phones_out)}
