"""Already-normalised cxid touchpoints (kind ``touchpoints``): one parquet file, or a
folder of parquet files (read in name order), as ``cxid resolve --write-touchpoints``
and ``Resolution.write(..., touchpoints=True)`` write them.

The rows pass through without re-normalising: the ``*_norm`` columns are taken as
they are. Each row keeps its own ``source`` (one file may hold several sources);
``record_id`` must be unique per (source, record_id). Rows without a source or a
record id, and later rows repeating an accepted (source, record_id), go to rejected
(``file`` and ``line`` there are the parquet file and its 1-based row). Missing
optional columns are added as nulls and empty strings become nulls; a null ``file``
becomes the parquet file's path, a null ``line`` its row number. Columns cxid does
not know (neither a touchpoint or ``*_norm`` column nor an ``x_`` extra) are ignored
with a warning naming them. A file that is not parquet, lacks ``source`` or
``record_id``, holds no ``*_norm`` column, or has a column of the wrong type stops
the run before any work.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxid._frames import dictionary_codes, repeated_keys
from cxid.errors import ConfigError, IngestError
from cxid.ingest._common import ColumnMapping, is_extra, no_mapping, truncate
from cxid.schema import (
    ARROW_STRING,
    NORM_COLUMNS,
    REJECTED_COLUMNS,
    TOUCHPOINT_COLUMNS,
    ReadResult,
    conform,
)

log = logging.getLogger(__name__)

KIND = "touchpoints"
#: Columns every file must have.
REQUIRED = ("source", "record_id")
_INT, _TIME = "line", "observed_at"
_TO_PANDAS = {pa.string(): ARROW_STRING, pa.large_string(): ARROW_STRING,
              pa.int64(): pd.Int64Dtype()}


def parquet_files(path: str | Path, *, source: str) -> list[Path]:
    """The parquet files of an input: the file itself, or a folder's ``*.parquet``
    files in name order (names starting with ``_`` or ``.``, as Spark's ``_SUCCESS``
    and checksums, are skipped)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".parquet"
                   and not p.name.startswith(("_", ".")))
    if not files:
        raise IngestError("folder holds no .parquet file", source=source, file=str(path))
    return files


def known(name: str) -> bool:
    """A column the touchpoints kind keeps: a touchpoint or ``*_norm`` column, or an
    ``x_`` extra (and its ``x_*_norm``)."""
    return name in TOUCHPOINT_COLUMNS or name in NORM_COLUMNS or is_extra(name)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _type_problem(field: pa.Field) -> str | None:
    """What is wrong with a known column's type (None: fine; an all-null column fits
    any)."""
    kind = field.type
    if pa.types.is_null(kind):
        return None
    if field.name == _INT:
        ok, want = pa.types.is_integer(kind), "an integer"
    elif field.name == _TIME:
        ok, want = pa.types.is_timestamp(kind), "a timestamp"
    else:
        ok, want = _is_text(kind), "text"
    return None if ok else f"has type {kind}, expected {want}"


def _schema(file: Path, source: str) -> pa.Schema:
    try:
        return pq.read_schema(file)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"not a readable parquet file: {exc}", source=source,
                          file=str(file)) from exc


def extra_columns(path: str | Path, *, source: str = KIND) -> list[str]:
    """The ``x_`` extra columns (and their ``x_*_norm``) of an input, in file order."""
    out: list[str] = []
    for file in parquet_files(path, source=source):
        out += [n for n in _schema(file, source).names if is_extra(n) and n not in out]
    return out


def check(path: str | Path, *, source: str, mapping: ColumnMapping | None = None,
          id_column: str | None = None) -> None:
    """Check before any work: parquet, the required columns, a ``*_norm`` column, the
    types of the known columns (one :class:`ConfigError` listing every problem)."""
    no_mapping(KIND, source=source, mapping=mapping, id_column=id_column)
    problems: list[str] = []
    norm = False
    for file in parquet_files(path, source=source):
        schema = _schema(file, source)
        where = f"source {source!r} ({KIND}): {file}"
        missing = [c for c in REQUIRED if c not in schema.names]
        if missing:
            problems.append(f"{where} lacks required column(s) {', '.join(missing)}")
        for field in schema:
            problem = _type_problem(field) if known(field.name) else None
            if problem:
                problems.append(f"{where}: column {field.name!r} {problem}")
        norm = norm or any(n in NORM_COLUMNS for n in schema.names)
    if not norm:
        problems.append(
            f"source {source!r} ({KIND}): {path} holds no normalised column "
            f"({', '.join(list(NORM_COLUMNS)[:3])}, ...): this kind takes cxid's "
            "normalised touchpoints (cxid resolve --write-touchpoints); read raw tables "
            "with kind tabular")
    if problems:
        raise ConfigError(problems)


def source_names(path: str | Path, *, source: str = KIND) -> set[str]:
    """The distinct non-empty ``source`` values of an input (read from that column
    alone), to check them against the other inputs' names."""
    names: set[str] = set()
    for file in parquet_files(path, source=source):
        column = pq.read_table(file, columns=["source"]).column("source")
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        names |= {n for n in pc.unique(column).to_pylist() if n}
    return names


def _column(table: pa.Table, name: str, file: Path, source: str) -> pa.ChunkedArray:
    """One known column of ``table`` in the type the touchpoints hold (text as large
    strings, ``line`` int64, ``observed_at`` UTC nanoseconds; a naive timestamp is
    taken as UTC)."""
    column = table.column(name)
    if name == _INT:
        want = pa.int64()
    elif name == _TIME:
        want = pa.timestamp("ns", tz="UTC")
    else:
        want = pa.large_string()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
    try:
        column = column.cast(want)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise IngestError(f"column {name!r} ({column.type}) cannot be read as {want}: {exc}",
                          source=source, file=str(file)) from exc
    if want == pa.large_string():  # an empty value is a missing one, as readers make it
        empty = pc.equal(column, "")
        if pc.any(empty).as_py():
            column = pc.if_else(empty, pa.scalar(None, want), column)
    return column


def _read_file(file: Path, source: str) -> tuple[pa.Table, np.ndarray, list[str]]:
    """The known columns of one parquet file, typed (a null ``file`` or ``line`` filled
    in); which rows had one filled in; and the unknown column names."""
    schema = _schema(file, source)
    keep = [n for n in schema.names if known(n)]
    try:
        table = pq.read_table(file, columns=keep)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"unreadable parquet: {exc}", source=source, file=str(file)) from exc
    columns = {n: _column(table, n, file, source) for n in keep}
    n = table.num_rows
    if "file" not in columns:
        columns["file"] = pa.chunked_array([pa.nulls(n, pa.large_string())])
    rows = pa.array(np.arange(1, n + 1, dtype=np.int64))
    if _INT not in columns:
        columns[_INT] = pa.chunked_array([pa.nulls(n, pa.int64())])
    filled = (pc.is_null(columns["file"]).to_numpy(zero_copy_only=False)
              | pc.is_null(columns[_INT]).to_numpy(zero_copy_only=False))
    columns["file"] = pc.fill_null(columns["file"], str(file))
    columns[_INT] = pc.coalesce(columns[_INT], rows)
    return pa.table(columns), filled, [n for n in schema.names if not known(n)]


def _empty(name: str, n: int) -> pa.Array:
    if name == _TIME:
        return pa.nulls(n, pa.timestamp("ns", tz="UTC"))
    return pa.nulls(n, pa.int64() if name == _INT else pa.large_string())


def _missing(column: pa.ChunkedArray) -> np.ndarray:
    """Null or blank values of a text column, as a boolean array."""
    blank = pc.equal(pc.utf8_trim_whitespace(column), "")
    return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)


def _repeated(source: pa.ChunkedArray, record_id: pa.ChunkedArray, ok: np.ndarray
              ) -> np.ndarray:
    """Rows among ``ok`` whose (source, record_id) an earlier ``ok`` row has."""
    ids = dictionary_codes(record_id)[0]
    return repeated_keys(dictionary_codes(source)[0] * (int(ids.max(initial=0)) + 2)
                         + ids + 1, ok)


def read(path: str | Path, *, source: str, mapping: ColumnMapping | None = None,
         id_column: str | None = None) -> ReadResult:
    """Read normalised touchpoints as they are: rows without a source or a record id,
    and repeated (source, record_id) after the first, go to rejected."""
    check(path, source=source, mapping=mapping, id_column=id_column)
    files = parquet_files(path, source=source)
    tables, filled, unknown = [], [], []
    for file in files:
        table, was_filled, others = _read_file(file, source)
        tables.append(table)
        filled.append(was_filled)
        unknown += [c for c in others if c not in unknown]
    if unknown:
        log.warning("%s: column(s) %s of %s ignored (not touchpoint, *_norm or x_ "
                    "columns)", source, ", ".join(unknown), path)
    names: list[str] = list(TOUCHPOINT_COLUMNS)
    for table in tables:
        names += [c for c in table.column_names if c not in names]
    names += [c for c in NORM_COLUMNS if c not in names]
    table = pa.concat_tables([
        pa.table({c: t.column(c) if c in t.column_names else _empty(c, t.num_rows)
                  for c in names}) for t in tables])
    in_file = np.concatenate([np.arange(1, t.num_rows + 1, dtype=np.int64) for t in tables])
    file_of = np.repeat(np.arange(len(files)), [t.num_rows for t in tables])

    no_source = _missing(table.column("source"))
    no_id = _missing(table.column("record_id")) & ~no_source
    bad = no_source | no_id
    repeated = _repeated(table.column("source"), table.column("record_id"), ~bad)
    out = bad | repeated
    touchpoints = (table.filter(pa.array(~out)) if out.any() else table).to_pandas(
        types_mapper=_TO_PANDAS.get)

    # the rejected rows only (usually none) get Python objects
    positions = np.flatnonzero(out)
    at = pa.array(positions, pa.int64())
    reasons = np.select([no_source[positions], no_id[positions], repeated[positions]],
                        ["missing source", "missing record_id", "duplicate record_id"], "")
    rows = table.take(at).to_pylist() if len(positions) else []
    for row, was_filled in zip(rows, np.concatenate(filled)[positions], strict=True):
        if was_filled:  # raw: the record as the file holds it, not what was filled in
            row["file"] = row[_INT] = None
    rejected = conform(pd.DataFrame({
        "source": np.where(no_source[positions], source, np.asarray(
            table.column("source").take(at).to_pylist(), dtype=object)),
        "file": [str(files[i]) for i in file_of[positions]],
        "line": in_file[positions],
        "record_id": np.asarray(table.column("record_id").take(at).to_pylist(), dtype=object),
        "reason": reasons,
        "raw": [truncate(json.dumps({k: v for k, v in row.items() if v is not None},
                                    ensure_ascii=False, default=str)) for row in rows],
    }, columns=list(REJECTED_COLUMNS)), REJECTED_COLUMNS)
    log.info("%s: %d normalised touchpoints read from %s, %d accepted, %d rejected",
             source, len(table), path, len(touchpoints), len(rejected))
    return ReadResult(touchpoints, rejected)


__all__ = ["KIND", "REQUIRED", "check", "extra_columns", "known", "parquet_files", "read",
           "source_names"]
