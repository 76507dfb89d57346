"""Helpers shared by the source readers: files, encodings, CSV/parquet tables, JSON
paths, timestamps and the split of records into touchpoints and rejected rows.

Readers stay small: they declare where each canonical column comes from and which
records are unusable; everything else (decoding, header checks, cleaning, duplicate
ids, logging counts) lives here so every source behaves the same way.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxid.errors import ConfigError, IngestError
from cxid.schema import (
    EXTRA_PREFIX,
    REJECTED_COLUMNS,
    TOUCHPOINT_COLUMNS,
    ReadResult,
    conform,
    conform_touchpoints,
)

log = logging.getLogger(__name__)

#: A reader's ``mapping=`` argument: target column -> file column(s) or JSON path(s).
ColumnMapping = Mapping[str, str | list[str]]

#: Canonical columns a mapping may fill (the reader sets source, file and line itself).
MAPPABLE_COLUMNS: tuple[str, ...] = tuple(
    c for c in TOUCHPOINT_COLUMNS if c not in ("source", "file", "line")
)

RAW_LIMIT = 500
DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 24


# --------------------------------------------------------------------------- files


def is_gzip(path: Path) -> bool:
    """True when ``path`` is gzip-compressed (by magic number, whatever its name)."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def read_bytes(path: Path, *, source: str) -> bytes:
    """The whole content of ``path``, gunzipped when it is a ``.gz`` file."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise IngestError(f"cannot read file: {exc}", source=source, file=str(path)) from exc


def read_head(path: Path, *, source: str, size: int = _SAMPLE_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (decompressed), for header checks."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        with open(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError) as exc:
        raise IngestError(f"cannot read file: {exc}", source=source, file=str(path)) from exc


# ------------------------------------------------------------------------ encodings


def _decodes(data: bytes, encoding: str, *, final: bool = True) -> bool:
    """Whether ``data`` decodes as ``encoding``, checked in chunks to bound memory."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), _CHUNK_BYTES):
            decoder.decode(data[start : start + _CHUNK_BYTES], final=False)
        if final:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes, *, source: str, file: str, final: bool = True) -> str:
    """Pick the encoding of ``data``: UTF-16 by BOM, else UTF-8 (with or without BOM),
    else cp1252 (French spreadsheet exports). Raises :class:`IngestError` when none fits.

    ``final=False`` accepts a truncated trailing character (used on file samples).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif _decodes(data, "utf-8", final=final):
        encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    elif _decodes(data, "cp1252", final=final):
        encoding = "cp1252"
    else:
        raise IngestError(
            "undecodable text: neither UTF-8 nor cp1252", source=source, file=file
        )
    if b"\x00" in data[:_SAMPLE_BYTES] and encoding != "utf-16":
        raise IngestError("binary content, expected text", source=source, file=file)
    return encoding


def decode_text(data: bytes, *, source: str, file: str) -> str:
    """Decode a whole file's bytes (see :func:`detect_encoding`), logging the encoding."""
    encoding = detect_encoding(data, source=source, file=file)
    log.info("%s: decoded %s as %s", source, file, encoding)
    return data.decode(encoding)


def as_utf8(data: bytes, *, source: str, file: str) -> bytes:
    """``data`` re-encoded as UTF-8 without BOM (Arrow parsers need UTF-8)."""
    encoding = detect_encoding(data, source=source, file=file)
    log.info("%s: decoded %s as %s", source, file, encoding)
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return data[len(codecs.BOM_UTF8) :]
    return data.decode(encoding).encode("utf-8")


def fix_surrogates(text: str) -> str:
    """Repair text decoded with ``surrogateescape`` (raw 8-bit e-mail headers): try the
    bytes as UTF-8, then cp1252; never return lone surrogates (they break parquet)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


# ------------------------------------------------------------------- string columns


def clean_strings(values: pd.Series | Sequence[Any]) -> pd.Series:
    """Strip surrounding whitespace and turn empty strings into null (string dtype)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype="object")
    series = series.astype("string").str.strip()
    return series.mask(series == "")


def join_columns(parts: Sequence[pd.Series]) -> pd.Series:
    """Join cleaned string columns with one space, skipping nulls (null when all are)."""
    out = parts[0]
    for part in parts[1:]:
        both = (out + " " + part).where(out.notna(), part)
        out = both.where(part.notna(), out)
    return out


def coalesce(parts: Sequence[pd.Series]) -> pd.Series:
    """First non-null value across cleaned string columns."""
    out = parts[0]
    for part in parts[1:]:
        out = out.fillna(part)
    return out


def truncate(text: str | None) -> str | None:
    """A raw record as stored in ``rejected.raw``: at most 500 characters."""
    return None if text is None else text[:RAW_LIMIT]


# ----------------------------------------------------------------------- timestamps

_DAY_FIRST = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}")


def parse_timestamps(raw: pd.Series) -> pd.Series:
    """Parse timestamps to UTC (naive ones are taken as UTC); NaT where unparseable.

    ISO 8601 goes through pandas' fast path; only the rest is parsed value by value.
    Slash dates are read day-first when some value can only be day-first (French
    exports write 25/12/2023).
    """
    raw = raw.reset_index(drop=True)
    parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
    rest = raw.notna() & parsed.isna()
    if rest.any():
        others = raw[rest]
        parts = others.str.extract(_DAY_FIRST).astype("float")
        dayfirst = bool((parts[0] > 12).any() and not (parts[1] > 12).any())
        parsed[rest] = pd.to_datetime(
            others, utc=True, errors="coerce", format="mixed", dayfirst=dayfirst
        )
    return parsed


# ----------------------------------------------------------------------- rejections


def new_reasons(n: int) -> pd.Series:
    """An all-null reason per record; :func:`flag` fills the first reason that applies."""
    return pd.Series(pd.array([None] * n, dtype="string"))


def flag(
    reasons: pd.Series,
    mask: pd.Series | np.ndarray,
    reason: str,
    quoted: pd.Series | None = None,
) -> None:
    """Set ``reason`` where ``mask`` holds and no earlier reason was set (in place).

    With ``quoted``, the record's value is appended in quotes (cut to 60 characters):
    ``unparseable timestamp 'hier'``; it is built only for the flagged records.
    """
    mask = np.asarray(pd.Series(mask).fillna(False), dtype=bool) & reasons.isna().to_numpy()
    if not mask.any():
        return
    if quoted is None:
        reasons[mask] = reason
    else:
        values = quoted.reset_index(drop=True)[mask].astype("string").str.slice(0, 60)
        reasons[mask] = (f"{reason} '" + values.fillna("") + "'").to_numpy()


def flag_timestamps(frame: pd.DataFrame, reasons: pd.Series, column: str = "observed_at") -> None:
    """Parse ``frame[column]`` in place; records whose non-empty value does not parse
    are flagged ``unparseable timestamp '<value>'``."""
    raw = frame[column].astype("string").reset_index(drop=True)
    parsed = parse_timestamps(raw)
    flag(reasons, raw.notna() & parsed.isna(), "unparseable timestamp", quoted=raw)
    frame[column] = parsed.set_axis(frame.index)


def rejected_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A Rejected frame from dicts with the keys of ``schema.REJECTED_COLUMNS``."""
    return conform(pd.DataFrame(list(rows), columns=list(REJECTED_COLUMNS)), REJECTED_COLUMNS)


def _reason_kind(reason: str) -> str:
    """A reason without the values it quotes, safe for logs."""
    return reason.split(" '", 1)[0].split(":", 1)[0]


def finish(
    records: pd.DataFrame,
    reasons: pd.Series,
    raw_of: Callable[[np.ndarray], Sequence[str | None]],
    *,
    source: str,
    file: str,
    early: pd.DataFrame | None = None,
) -> ReadResult:
    """Split ``records`` into touchpoints and rejected rows and log the counts.

    ``records`` holds one row per parsed record with canonical columns (``line`` and
    ``record_id`` included); ``reasons`` is null for usable records. A later record
    repeating the ``record_id`` of an accepted one is rejected as a duplicate (keep
    first). ``raw_of(positions)`` returns the raw text of rejected records;
    ``early`` holds records rejected before they could be parsed.
    """
    records = records.reset_index(drop=True)
    reasons = reasons.reset_index(drop=True)
    record_id = records["record_id"].astype("string")
    ok = reasons.isna().to_numpy()
    duplicate = record_id.where(ok).duplicated(keep="first").to_numpy() & ok
    duplicate &= record_id.notna().to_numpy()
    flag(reasons, duplicate, "duplicate record_id")
    ok = reasons.isna().to_numpy()

    accepted = records[ok].copy()
    accepted["source"] = source
    accepted["file"] = file
    touchpoints = conform_touchpoints(accepted)

    positions = np.flatnonzero(~ok)
    rejected = pd.DataFrame(
        {
            "source": source,
            "file": file,
            "line": records["line"].to_numpy()[positions],
            "record_id": record_id.to_numpy()[positions],
            "reason": reasons.to_numpy()[positions],
            "raw": [truncate(text) for text in raw_of(positions)],
        }
    )
    frames = [f for f in (early, rejected) if f is not None and len(f)]
    if frames:
        rejected = conform(pd.concat(frames, ignore_index=True), REJECTED_COLUMNS)
        rejected = rejected.sort_values("line", kind="stable").reset_index(drop=True)
    else:
        rejected = conform(rejected, REJECTED_COLUMNS)

    by_kind = rejected["reason"].map(_reason_kind).value_counts()
    log.info(
        "%s: %d records read from %s, %d accepted, %d rejected%s",
        source,
        len(touchpoints) + len(rejected),
        file,
        len(touchpoints),
        len(rejected),
        "".join(f"; {n} {kind}" for kind, n in by_kind.items()),
    )
    return ReadResult(touchpoints, rejected)


# ---------------------------------------------------------------------- mappings


def _mapping_targets(value: Any) -> list[str] | None:
    """The file columns or paths of one mapping value, or None when malformed."""
    if isinstance(value, str) and value.strip():
        return [value]
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, str) and v.strip() for v in value)
    ):
        return list(value)
    return None


def is_extra(name: str) -> bool:
    """An ``x_`` extra column name (carried through as an attribute)."""
    return name.startswith(EXTRA_PREFIX) and len(name) > len(EXTRA_PREFIX)


def no_mapping(
    kind: str, *, source: str, mapping: ColumnMapping | None, id_column: str | None
) -> None:
    """Raise :class:`ConfigError` when a reader that takes no mapping is given one."""
    problems = []
    if mapping:
        problems.append(f"source {source!r} ({kind}): this kind takes no mapping")
    if id_column:
        problems.append(f"source {source!r} ({kind}): this kind takes no id_column")
    if problems:
        raise ConfigError(problems)


# -------------------------------------------------------------------- JSON records


def json_paths(
    defaults: Mapping[str, tuple[str, ...]],
    *,
    kind: str,
    source: str,
    mapping: ColumnMapping | None,
    id_column: str | None,
) -> dict[str, tuple[str, ...]]:
    """Resolve a JSON reader's paths: ``defaults`` maps a column to dotted paths tried
    in order (first non-empty wins); ``mapping`` replaces them per column (a list is
    tried in order too); ``id_column`` is the dotted path of ``record_id``. Unknown
    keys raise one :class:`ConfigError` listing them all."""
    paths = dict(defaults)
    problems = []
    for key, value in (mapping or {}).items():
        if key not in MAPPABLE_COLUMNS and not is_extra(key):
            problems.append(
                f"source {source!r} ({kind}): unknown mapping key {key!r}; expected a "
                f"canonical column ({', '.join(MAPPABLE_COLUMNS)}) or an x_ extra"
            )
            continue
        targets = _mapping_targets(value)
        if targets is None:
            problems.append(
                f"source {source!r} ({kind}): mapping {key!r} must be a dotted path "
                "or a list of paths"
            )
            continue
        paths[key] = tuple(targets)
    if id_column is not None:
        if not isinstance(id_column, str) or not id_column.strip():
            problems.append(f"source {source!r} ({kind}): id_column must be a dotted path")
        else:
            paths["record_id"] = (id_column,)
    if problems:
        raise ConfigError(problems)
    return paths


def _scalar_text(value: Any) -> str | None:
    """A JSON leaf as text: strings as is, numbers and booleans spelled as in JSON;
    objects, arrays and null give None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def dig(obj: Any, keys: tuple[str, ...]) -> str | None:
    """The text at a dotted path (already split) in a parsed JSON object, or None."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
        if obj is None:
            return None
    return _scalar_text(obj)


def extract_json(records: Sequence[Any], paths: Mapping[str, tuple[str, ...]]) -> pd.DataFrame:
    """One cleaned string column per entry of ``paths`` from parsed JSON objects."""
    split = {path: tuple(path.split(".")) for alts in paths.values() for path in alts}
    columns = {
        path: clean_strings([dig(record, keys) for record in records])
        for path, keys in split.items()
    }
    return _coalesce_paths(columns, paths, len(records))


def _coalesce_paths(
    columns: Mapping[str, pd.Series], paths: Mapping[str, tuple[str, ...]], n: int
) -> pd.DataFrame:
    out = {name: coalesce([columns[p] for p in alts]) for name, alts in paths.items()}
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _schema_tree(paths: Iterable[str]) -> pa.DataType:
    """An Arrow struct type holding every dotted path as a string leaf. A path that is
    also the parent of another path is an object: its own leaf value reads as null."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})

    def build(node: dict[str, Any]) -> pa.DataType:
        return pa.struct(
            [pa.field(k, build(v) if v else pa.string()) for k, v in node.items()]
        )

    return build(tree)


def extract_json_lines_arrow(
    data: bytes, paths: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame | None:
    """Fast path for JSON Lines: parse with Arrow, keeping only ``paths``.

    Returns None when Arrow cannot take the file as is (a malformed line, a line that
    is not an object, a value of another type than expected); the caller then parses
    line by line to find and reject the bad lines.
    """
    import pyarrow.json as pajson

    all_paths = sorted({p for alts in paths.values() for p in alts})
    struct = _schema_tree(all_paths)
    schema = pa.schema(list(struct))
    try:
        table = pajson.read_json(
            pa.BufferReader(data),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    columns = {}
    for path in all_paths:
        if path in table.column_names and pa.types.is_string(table.schema.field(path).type):
            columns[path] = _clean_arrow(table.column(path))
        else:
            columns[path] = pd.Series(pd.array([None] * table.num_rows, dtype="string"))
    return _coalesce_paths(columns, paths, table.num_rows)


def read_json_lines(
    data: bytes,
    paths: Mapping[str, tuple[str, ...]],
    *,
    source: str,
    file: str,
) -> tuple[pd.DataFrame, pd.DataFrame, list[bytes]]:
    """Read UTF-8 JSON Lines into one cleaned column per entry of ``paths`` plus
    ``line`` (1-based; blank lines are skipped but counted).

    Arrow parses the whole file when it can. Otherwise each line is parsed once to
    reject malformed lines and non-objects (``early``), and the good lines go back
    to Arrow, or, when their value types differ from plain strings (a numeric
    ``userId``), through the per-record extractor. Returns the frame, the early
    rejections and the lines (for raw text of later rejections).
    """
    lines = data.split(b"\n")
    numbers = [i for i, line in enumerate(lines, start=1) if line.strip()]
    frame = extract_json_lines_arrow(data, paths)
    early = rejected_frame([])
    if frame is None or len(frame) != len(numbers):
        records: list[dict[str, Any]] = []
        kept: list[int] = []
        bad: list[tuple[int, str]] = []
        for number in numbers:
            try:
                record = json.loads(lines[number - 1])
            except json.JSONDecodeError as exc:
                bad.append((number, f"malformed JSON: {exc.msg} at column {exc.colno}"))
                continue
            if isinstance(record, dict):
                records.append(record)
                kept.append(number)
            else:
                bad.append((number, "not a JSON object"))
        log.info("%s: %d of %d lines are not JSON objects", source, len(bad), len(numbers))
        frame = None
        if bad:
            frame = extract_json_lines_arrow(b"\n".join(lines[n - 1] for n in kept), paths)
        if frame is None or len(frame) != len(kept):
            log.info("%s: mixed value types, extracting %d records one by one", source, len(kept))
            frame = extract_json(records, paths)
        numbers = kept
        early = rejected_frame(
            {"source": source, "file": file, "line": n, "reason": reason,
             "raw": truncate(lines[n - 1].decode("utf-8", "replace"))}
            for n, reason in bad
        )
    frame["line"] = np.asarray(numbers, dtype=np.int64)
    return frame, early, lines


# ----------------------------------------------------------------- CSV and parquet


@dataclass(frozen=True)
class TableLayout:
    """What a CSV/parquet reader expects: ``columns`` maps each expected header name
    to the column it fills; ``required`` lists the header names that must exist."""

    kind: str
    columns: Mapping[str, str]
    required: tuple[str, ...] = ()
    #: column copied to ``record_id`` when no column is mapped to it (None: row number)
    record_id_from: str | None = None
    #: columns whose empty value makes a record unusable (``missing <file column>``)
    must_have: tuple[str, ...] = ()


@dataclass(frozen=True)
class TablePlan:
    """Where each target column comes from in one file (after mapping and header)."""

    sources: dict[str, list[str]]  # target column -> file column(s), joined by a space
    header: list[str]
    is_parquet: bool


def is_parquet(path: Path) -> bool:
    """Parquet by extension or by magic number."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``, ; TAB |`` that splits the header into the most fields
    (ties go to the earliest; quotes are honoured)."""
    lines = sample.splitlines()
    header = lines[0] if lines else ""
    best, best_n = ",", 1
    for delimiter in DELIMITERS:
        n = len(next(csv.reader([header], delimiter=delimiter), []))
        if n > best_n:
            best, best_n = delimiter, n
    return best


def unique_names(names: Sequence[str]) -> list[str]:
    """Header names stripped, with repeats suffixed ``.1``, ``.2`` like pandas."""
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = str(raw).strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def table_header(path: Path, *, source: str) -> tuple[list[str], bool]:
    """Column names of a CSV (sniffed delimiter) or parquet file, and whether parquet."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(f"unreadable parquet: {exc}", source=source, file=str(path)) from exc
        return unique_names(names), True
    head = read_head(path, source=source)
    encoding = detect_encoding(head, source=source, file=str(path), final=False)
    sample = head.decode(encoding, errors="ignore")
    if not sample.strip():
        raise IngestError("empty file: no header row", source=source, file=str(path))
    delimiter = sniff_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter))
    return unique_names(header), False


def plan_table(
    path: Path,
    layout: TableLayout,
    *,
    source: str,
    mapping: ColumnMapping | None,
    id_column: str | None,
) -> TablePlan:
    """Resolve ``mapping`` against ``layout`` and the file header, before any work.

    Mapping keys may be an expected header name, a canonical column or an ``x_``
    extra; values are file column names (a list is joined with a space).
    ``id_column`` names the record-id column. Raises one :class:`ConfigError` naming
    every unknown key and every named or required column missing from the header.
    """
    header, parquet = table_header(path, source=source)
    where = f"source {source!r} ({layout.kind})"
    sources: dict[str, list[str]] = {target: [name] for name, target in layout.columns.items()}
    explicit: set[str] = set()
    problems: list[str] = []
    for key, value in (mapping or {}).items():
        if key in layout.columns:
            target = layout.columns[key]
        elif key in MAPPABLE_COLUMNS or is_extra(key):
            target = key
        else:
            expected = sorted(set(layout.columns) | set(MAPPABLE_COLUMNS))
            problems.append(
                f"{where}: unknown mapping key {key!r}; expected one of "
                f"{', '.join(expected)} or an x_ extra"
            )
            continue
        targets = _mapping_targets(value)
        if targets is None:
            problems.append(f"{where}: mapping {key!r} must be a column name or a list of names")
            continue
        sources[target] = targets
        explicit.add(target)
    if id_column is not None:
        sources["record_id"] = [id_column]
        explicit.add("record_id")

    required = {layout.columns[name] for name in layout.required}
    present = set(header)
    shown = ", ".join(header[:40]) + (", ..." if len(header) > 40 else "")
    absent_optional = []
    for target, columns in list(sources.items()):
        missing = [c for c in columns if c not in present]
        if not missing:
            continue
        if target in explicit or target in required:
            problems.extend(
                f"{where}: column {c!r} (for {target}) not in the header of {path}; "
                f"header: {shown}"
                for c in missing
            )
        else:
            absent_optional.extend(missing)
            del sources[target]
    if problems:
        raise ConfigError(problems)
    if absent_optional:
        log.info(
            "%s: optional column(s) %s absent from %s, left empty",
            source,
            ", ".join(absent_optional),
            path,
        )
    return TablePlan(sources=sources, header=header, is_parquet=parquet)


def _clean_arrow(column: pa.ChunkedArray) -> pd.Series:
    """Arrow strings trimmed, empty to null, as a pandas ``string`` Series."""
    trimmed = pc.utf8_trim_whitespace(column)
    cleaned = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    return cleaned.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get).astype("string")


def _as_strings(table: pa.Table, *, source: str, file: str) -> pa.Table:
    """Every column of ``table`` cast to strings (parquet ints, dates, timestamps)."""
    arrays = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(column.type):
            arrays.append(column)
            continue
        try:
            arrays.append(pc.cast(column, pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise IngestError(
                f"column {name!r} has type {column.type}, expected text: {exc}",
                source=source,
                file=file,
            ) from exc
    return pa.table(arrays, names=table.column_names)


@dataclass
class LoadedTable:
    """A CSV/parquet file read for a reader: target columns, bad rows, raw text."""

    frame: pd.DataFrame  # one cleaned string column per target, plus ``line``
    early: pd.DataFrame  # rows rejected by the CSV parser (wrong number of fields)
    raw_of: Callable[[np.ndarray], list[str | None]]


def _read_csv_arrow(
    data: bytes, *, delimiter: str, use_threads: bool
) -> tuple[pa.Table, list[tuple[int | None, str, int, int]]]:
    import pyarrow.csv as pacsv

    bad: list[tuple[int | None, str, int, int]] = []

    def on_invalid(row: Any) -> str:
        bad.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    header = next(csv.reader(io.StringIO(data[:_SAMPLE_BYTES].decode("utf-8", "ignore")),
                             delimiter=delimiter), [])
    table = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(use_threads=use_threads),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        ),
    )
    return table, bad


def load_table(path: Path, plan: TablePlan, *, source: str) -> LoadedTable:
    """Read the columns ``plan`` needs from a CSV (any delimiter/encoding, gz) or parquet
    file as cleaned strings. ``line`` is the 1-based data-row number; CSV rows with
    the wrong number of fields are rejected, not fatal."""
    file = str(path)
    if plan.is_parquet:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(f"unreadable parquet: {exc}", source=source, file=file) from exc
        table = _as_strings(table, source=source, file=file).rename_columns(
            unique_names(table.column_names)
        )
        bad: list[tuple[int | None, str, int, int]] = []
        delimiter = ","
    else:
        data = as_utf8(read_bytes(path, source=source), source=source, file=file)
        delimiter = sniff_delimiter(data[:_SAMPLE_BYTES].decode("utf-8", "ignore"))
        try:
            table, bad = _read_csv_arrow(data, delimiter=delimiter, use_threads=True)
            if any(number is None for number, *_ in bad):
                table, bad = _read_csv_arrow(data, delimiter=delimiter, use_threads=False)
        except pa.ArrowInvalid as exc:
            raise IngestError(f"unreadable CSV: {exc}", source=source, file=file) from exc
        table = _as_strings(table, source=source, file=file).rename_columns(
            unique_names(table.column_names)
        )

    # Data-row numbers: the parser reports bad rows by line (header = 1).
    total = table.num_rows + len(bad)
    bad_rows = np.array([(n or 0) - 1 for n, *_ in bad], dtype=np.int64)
    good_rows = np.setdiff1d(np.arange(1, total + 1), bad_rows)[: table.num_rows]
    if len(good_rows) < table.num_rows:  # defensive: never leave a row without a number
        good_rows = np.arange(1, table.num_rows + 1)

    cleaned = {name: _clean_arrow(table.column(name)) for name in
               {c for cols in plan.sources.values() for c in cols}}
    frame = pd.DataFrame(
        {target: join_columns([cleaned[c] for c in cols]) for target, cols in plan.sources.items()},
        index=pd.RangeIndex(table.num_rows),
    )
    frame["line"] = good_rows

    early = rejected_frame(
        {
            "source": source,
            "file": file,
            "line": row,
            "record_id": None,
            "reason": f"expected {expected} fields, found {actual}",
            "raw": truncate(text),
        }
        for row, (_, text, expected, actual) in zip(bad_rows, bad, strict=True)
    )

    def raw_of(positions: np.ndarray) -> list[str | None]:
        if not len(positions):
            return []
        rows = table.take(pa.array(positions)).to_pylist()
        return [delimiter.join("" if v is None else str(v) for v in row.values()) for row in rows]

    return LoadedTable(frame=frame, early=early, raw_of=raw_of)


def json_dumps_raw(record: Any) -> str:
    """A parsed JSON record back to compact text for ``rejected.raw``."""
    try:
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))[:RAW_LIMIT]
    except (TypeError, ValueError):
        return repr(record)[:RAW_LIMIT]


def read_table_source(
    path: str | Path,
    layout: TableLayout,
    *,
    source: str,
    mapping: ColumnMapping | None,
    id_column: str | None,
) -> ReadResult:
    """Read a CSV/parquet source declared by ``layout`` into touchpoints.

    ``record_id`` comes from a mapped or expected column (empty: rejected), else from
    ``layout.record_id_from``, else it is the 1-based data-row number. Records with
    an empty ``must_have`` column or an unparseable ``observed_at`` are rejected.
    """
    path = Path(path)
    plan = plan_table(path, layout, source=source, mapping=mapping, id_column=id_column)
    loaded = load_table(path, plan, source=source)
    frame = loaded.frame
    reasons = new_reasons(len(frame))
    if "record_id" in plan.sources:
        flag(reasons, frame["record_id"].isna(),
             f"missing {' + '.join(plan.sources['record_id'])}")
    elif layout.record_id_from is not None and layout.record_id_from in frame:
        frame["record_id"] = frame[layout.record_id_from]
    else:
        frame["record_id"] = frame["line"].astype("string")
    for target in layout.must_have:
        if target in plan.sources:
            flag(reasons, frame[target].isna(), f"missing {' + '.join(plan.sources[target])}")
    if "observed_at" in frame:
        flag_timestamps(frame, reasons)
    return finish(frame, reasons, loaded.raw_of, source=source, file=str(path),
                  early=loaded.early)


def check_table_source(
    path: str | Path,
    layout: TableLayout,
    *,
    source: str,
    mapping: ColumnMapping | None,
    id_column: str | None,
) -> None:
    """Check the header of a CSV/parquet source against ``layout`` and ``mapping``."""
    plan_table(Path(path), layout, source=source, mapping=mapping, id_column=id_column)
