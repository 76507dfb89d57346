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

from cxid._frames import arrow_strings, dictionary_codes, repeated_keys
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


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (as strict as Python's codec), checked by Arrow
    without decoding: several times faster than ``bytes.decode``."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _decodes(data: bytes, encoding: str, *, final: bool = True) -> bool:
    """Whether ``data`` decodes as ``encoding``, checked in chunks to bound memory."""
    if final and encoding == "utf-8":
        return _is_utf8(data)
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


def _arrow_iso_utc(raw: pd.Series) -> pd.Series | None:
    """Every value ISO 8601 with a zone (``...Z``, ``...+02:00``), as event streams and
    exports write them: Arrow's parser, ~6x faster than pandas'. None when some value
    is not (naive, a date, another format, out of range): the caller parses them all."""
    if not len(raw) or raw.isna().all():
        return None
    try:
        stamps = pc.cast(arrow_strings(raw, large=False), pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
            ValueError):
        return None
    return pd.Series(stamps.to_pandas(), index=raw.index)


def parse_timestamps(raw: pd.Series) -> pd.Series:
    """Parse timestamps to UTC (naive ones are taken as UTC); NaT where unparseable.

    ISO 8601 goes through pandas' fast path; only the rest is parsed value by value.
    Slash dates are read day-first when some value can only be day-first (French
    exports write 25/12/2023).
    """
    raw = raw.reset_index(drop=True)
    fast = _arrow_iso_utc(raw)
    if fast is not None:
        return fast
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


class Reasons:
    """Why each record of a reader's frame is unusable: the first reason that applied,
    None for a usable record. A mask says which records are flagged, so checks cost a
    boolean array rather than a null test over one Python object per record."""

    def __init__(self, n: int) -> None:
        self.flagged = np.zeros(n, dtype=bool)
        self.text = np.full(n, None, dtype=object)


def new_reasons(n: int) -> Reasons:
    """No reason yet for any of ``n`` records; :func:`flag` fills the first that applies."""
    return Reasons(n)


def flag(
    reasons: Reasons,
    mask: pd.Series | np.ndarray,
    reason: str,
    quoted: pd.Series | None = None,
) -> None:
    """Set ``reason`` where ``mask`` holds and no earlier reason was set (in place).

    With ``quoted``, the record's value is appended in quotes (cut to 60 characters):
    ``unparseable timestamp 'hier'``; it is built only for the flagged records.
    """
    mask = np.asarray(pd.Series(mask).fillna(False), dtype=bool) & ~reasons.flagged
    if not mask.any():
        return
    if quoted is None:
        reasons.text[mask] = reason
    else:
        values = quoted.reset_index(drop=True)[mask].astype("string").str.slice(0, 60)
        reasons.text[mask] = (f"{reason} '" + values.fillna("") + "'").to_numpy(object)
    reasons.flagged |= mask


def flag_timestamps(frame: pd.DataFrame, reasons: Reasons, column: str = "observed_at") -> None:
    """Parse ``frame[column]`` in place; records whose non-empty value does not parse
    are flagged ``unparseable timestamp '<value>'``."""
    current = frame[column]
    if isinstance(current.dtype, pd.StringDtype) and current.dtype.storage == "pyarrow":
        # Arrow strings that all parse as ISO 8601 with a zone flag nothing: skip the
        # copy to Python strings below (one per row, ~0.25 s on 660k events).
        fast = _arrow_iso_utc(current.reset_index(drop=True))
        if fast is not None:
            frame[column] = fast.set_axis(frame.index)
            return
    raw = current.astype("string").reset_index(drop=True)
    parsed = parse_timestamps(raw)
    flag(reasons, raw.notna() & parsed.isna(), "unparseable timestamp", quoted=raw)
    frame[column] = parsed.set_axis(frame.index)


def rejected_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A Rejected frame from dicts with the keys of ``schema.REJECTED_COLUMNS``."""
    return conform(pd.DataFrame(list(rows), columns=list(REJECTED_COLUMNS)), REJECTED_COLUMNS)


def _reason_kind(reason: str) -> str:
    """A reason without the values it quotes, safe for logs."""
    return reason.split(" '", 1)[0].split(":", 1)[0]


def _repeated_ids(record_id: pd.Series, ok: np.ndarray) -> np.ndarray:
    """Usable records whose non-null ``record_id`` an earlier usable record has. Arrow
    strings are compared by their dictionary codes (no Python string per row)."""
    if isinstance(record_id.dtype, pd.StringDtype) and record_id.dtype.storage == "pyarrow":
        return repeated_keys(dictionary_codes(pa.chunked_array(pa.array(record_id.array)))[0],
                             ok)
    text = record_id.astype("string")
    duplicate = text.where(ok).duplicated(keep="first").to_numpy() & ok
    return duplicate & text.notna().to_numpy()


def _keep_rows(records: pd.DataFrame, ok: np.ndarray) -> pd.DataFrame:
    """``records[ok]`` with a fresh RangeIndex. Arrow string columns are filtered chunk
    by chunk and chunks losing no row are kept as they are: a reader's columns come
    in hundreds of chunks, and filtering each costs more than the data it copies."""
    index = pd.RangeIndex(int(ok.sum()))
    out = {}
    for name in records.columns:
        array = records[name].array
        if isinstance(array, pd.arrays.ArrowStringArray):
            column = pa.chunked_array(pa.array(array))
            parts, start = [], 0
            for chunk in column.chunks:
                keep = ok[start : start + len(chunk)]
                start += len(chunk)
                if keep.all():
                    parts.append(chunk)
                elif keep.any():
                    parts.append(chunk.filter(pa.array(keep)))
            array = pd.arrays.ArrowStringArray(pa.chunked_array(parts, column.type))
        else:
            array = array[ok]
        out[name] = pd.Series(array, index=index)
    return pd.DataFrame(out, columns=records.columns, index=index)


def finish(
    records: pd.DataFrame,
    reasons: Reasons,
    raw_of: Callable[[np.ndarray], Sequence[str | None]],
    *,
    source: str,
    file: str,
    early: pd.DataFrame | None = None,
) -> ReadResult:
    """Split ``records`` into touchpoints and rejected rows and log the counts.

    ``records`` holds one row per parsed record with canonical columns (``line`` and
    ``record_id`` included); ``reasons`` flags the unusable ones. A later record
    repeating the ``record_id`` of an accepted one is rejected as a duplicate (keep
    first). ``raw_of(positions)`` returns the raw text of rejected records;
    ``early`` holds records rejected before they could be parsed.
    """
    records = records.reset_index(drop=True)
    ok = ~reasons.flagged
    flag(reasons, _repeated_ids(records["record_id"], ok), "duplicate record_id")
    ok = ~reasons.flagged

    # a boolean row filter copies every column: skip it when every record is kept
    accepted = (records if ok.all() else _keep_rows(records, ok)).copy(deep=False)
    n_ok = len(accepted)  # one Arrow value repeated: no Python string per record
    accepted["source"] = pd.arrays.ArrowStringArray(pa.repeat(pa.scalar(source, pa.string()), n_ok))
    accepted["file"] = pd.arrays.ArrowStringArray(pa.repeat(pa.scalar(file, pa.string()), n_ok))
    touchpoints = conform_touchpoints(accepted)

    positions = np.flatnonzero(~ok)
    rejected = pd.DataFrame(
        {
            "source": source,
            "file": file,
            "line": records["line"].to_numpy()[positions],
            "record_id": records["record_id"].iloc[positions].astype("string").to_numpy(),
            "reason": reasons.text[positions],
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
    also the parent of another path is an object: its own leaf value reads as null.
    Leaves are large strings, the storage of pandas' Arrow ``string`` dtype, so the
    parsed columns become Series without a cast (a new offsets buffer per column)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})

    def build(node: dict[str, Any]) -> pa.DataType:
        return pa.struct(
            [pa.field(k, build(v) if v else pa.large_string()) for k, v in node.items()]
        )

    return build(tree)


#: Lines per segment Arrow parses at once. A segment that Arrow refuses (a malformed
#: line, a number where a string is expected) is halved until the bad lines sit in
#: segments of at most ``_JSON_LEAF_LINES`` lines, which are parsed line by line: one
#: bad line costs a few re-parsed segments, not a Python pass over the whole file.
_JSON_SEGMENT_LINES = 4096
_JSON_LEAF_LINES = 32
_ASCII_SPACE = np.array([9, 10, 11, 12, 13, 32], dtype=np.uint8)
_MAX_BLOCK = 1 << 30


class LineIndex(Sequence[bytes]):
    """The lines of a byte buffer split on ``\\n`` (like ``data.split(b"\\n")``) without
    copying them: ``index[i]`` is the bytes of line ``i`` (0-based)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        view = np.frombuffer(data, dtype=np.uint8)
        parts = [np.zeros(1, dtype=np.int64)]
        for begin in range(0, len(view), _CHUNK_BYTES):
            newlines = np.flatnonzero(view[begin : begin + _CHUNK_BYTES] == 10)
            parts.append(newlines.astype(np.int64) + (begin + 1))
        parts.append(np.array([len(data) + 1], dtype=np.int64))
        #: start offset of each line, then len(data) + 1 (so line i ends at starts[i+1]-1)
        self.starts = np.concatenate(parts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        i = int(item)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("line index out of range")
        return self.data[self.starts[i] : self.starts[i + 1] - 1]

    def span(self, first: int, stop: int) -> tuple[int, int]:
        """Byte range of lines ``first`` to ``stop - 1`` (without the last newline)."""
        return int(self.starts[first]), int(self.starts[stop] - 1)

    def non_blank(self) -> np.ndarray:
        """Whether each line holds more than ASCII whitespace (``bytes.strip``)."""
        begin, end = self.starts[:-1], self.starts[1:] - 1
        if not len(self.data):
            return np.zeros(len(begin), dtype=bool)
        view = np.frombuffer(self.data, dtype=np.uint8)
        first = view[np.minimum(begin, len(view) - 1)]
        maybe_blank = (end == begin) | np.isin(first, _ASCII_SPACE)
        result = ~maybe_blank
        for i in np.flatnonzero(maybe_blank & (end > begin)):
            result[i] = bool(self.data[begin[i] : end[i]].strip())
        return result


def _arrow_json(data: Any, schema: pa.Schema) -> pa.Table | None:
    """``data`` (JSON Lines) parsed by Arrow as one block, or None when Arrow refuses it."""
    import pyarrow.json as pajson

    size = len(data)
    if size >= _MAX_BLOCK:
        return None
    try:
        return pajson.read_json(
            pa.BufferReader(data),
            read_options=pajson.ReadOptions(use_threads=False, block_size=max(size + 1, 1 << 20)),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _arrow_leaves(table: pa.Table, paths: Sequence[str]) -> list[pa.ChunkedArray]:
    """One large-string column per dotted path of a table parsed with
    :func:`_schema_tree` (null where the path holds an object), chunked as the table."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    out = []
    for path in paths:
        if path in table.column_names and pa.types.is_large_string(
            table.schema.field(path).type
        ):
            out.append(table.column(path))
        else:
            out.append(pa.chunked_array([pa.nulls(table.num_rows, pa.large_string())]))
    return out


def _string_array(values: list[str | None]) -> pa.Array:
    """Python strings as an Arrow large-string array; lone surrogates (from ``\\ud800``
    escapes, which Arrow refuses) become U+FFFD."""
    try:
        return pa.array(values, type=pa.large_string())
    except (UnicodeEncodeError, pa.ArrowException):
        return pa.array(
            [None if v is None else v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
             for v in values],
            type=pa.large_string(),
        )


@dataclass
class _JsonPieces:
    """What segments of a JSON Lines file gave, in line order: Arrow tables (parsed
    with ``schema``) or, for lines Arrow refused, one string array per path; the line
    numbers of the records; the lines rejected before extraction."""

    paths: list[str]
    schema: pa.Schema
    lines: LineIndex
    non_blank: np.ndarray
    parts: list[pa.Table | list[pa.Array]]
    numbers: list[np.ndarray]
    bad: list[tuple[int, str]]

    def add(self, part: pa.Table | list[pa.Array], numbers: np.ndarray) -> None:
        self.parts.append(part)
        self.numbers.append(numbers)

    def leaves(self) -> list[pa.ChunkedArray]:
        """One large-string column per path over every part, chunked as parsed. Runs of
        tables are concatenated (no copy) and flattened once: flattening segment by
        segment cost a few Python calls per path and segment (~0.2 s on 660k events),
        and concatenating the chunks into one array ~0.5 s (fresh memory, mostly)."""
        chunks: list[list[pa.Array]] = [[] for _ in self.paths]
        run: list[pa.Table] = []

        def flush() -> None:
            if run:
                for column, array in zip(chunks, _arrow_leaves(pa.concat_tables(run),
                                                               self.paths), strict=True):
                    column.extend(array.chunks)
                run.clear()

        for part in self.parts:
            if isinstance(part, pa.Table):
                run.append(part)
                continue
            flush()
            for column, array in zip(chunks, part, strict=True):
                column.append(array)
        flush()
        return [pa.chunked_array(arrays, pa.large_string()) for arrays in chunks]

    def segment(self, first: int, stop: int) -> None:
        """Parse lines ``first`` to ``stop - 1``: with Arrow when it takes them, else
        halves recursively, else line by line."""
        numbers = np.flatnonzero(self.non_blank[first:stop]) + (first + 1)
        if not len(numbers):
            return
        begin, end = self.lines.span(first, stop)
        table = _arrow_json(memoryview(self.lines.data)[begin:end], self.schema)
        if table is not None and table.num_rows == len(numbers):
            self.add(table, numbers)
        elif stop - first > _JSON_LEAF_LINES:
            middle = (first + stop) // 2
            self.segment(first, middle)
            self.segment(middle, stop)
        else:
            self.line_by_line(numbers)

    def line_by_line(self, numbers: np.ndarray) -> None:
        """Reject malformed lines and non-objects; extract the others (with Arrow when
        it takes them, else value by value: numbers as JSON spells them)."""
        records: list[dict[str, Any]] = []
        kept: list[int] = []
        for number in numbers.tolist():
            try:
                record = json.loads(self.lines[number - 1])
            except json.JSONDecodeError as exc:
                self.bad.append((number, f"malformed JSON: {exc.msg} at column {exc.colno}"))
                continue
            if isinstance(record, dict):
                records.append(record)
                kept.append(number)
            else:
                self.bad.append((number, "not a JSON object"))
        if not kept:
            return
        table = _arrow_json(b"\n".join(self.lines[n - 1] for n in kept), self.schema)
        arrays: pa.Table | list[pa.Array]
        if table is not None and table.num_rows == len(kept):
            arrays = table
        else:
            arrays = [
                _string_array([dig(record, tuple(path.split("."))) for record in records])
                for path in self.paths
            ]
        self.add(arrays, np.asarray(kept, dtype=np.int64))


#: Bytes that start or end no whitespace character: printable ASCII but the space.
_NOT_SPACE_EDGE = np.zeros(256, dtype=bool)
_NOT_SPACE_EDGE[0x21:0x7F] = True


def _maybe_space_edges(column: pa.ChunkedArray | pa.Array) -> bool:
    """False when no value can start or end with whitespace: every non-empty value's
    first and last bytes are printable ASCII other than the space (read from the
    offsets, without building a string per value). True means "check"."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if chunk.null_count == len(chunk):
            continue
        if pa.types.is_string(chunk.type):
            width: type = np.int32
        elif pa.types.is_large_string(chunk.type):
            width = np.int64
        else:
            return True
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=width)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts  # null slots hold no bytes or, at worst, give a "check"
        if not filled.any():
            continue
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        if not (_NOT_SPACE_EDGE[data[starts[filled]]].all()
                and _NOT_SPACE_EDGE[data[ends[filled] - 1]].all()):
            return True
    return False


def _clean_array(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Arrow strings trimmed (like ``str.strip``), empty to null. Trimming and nulling
    copy every string, so they run only when some value needs them (whitespace at an
    edge is looked for in the raw bytes first: nearly no value has any)."""
    if column.null_count == len(column):
        return column
    if not _maybe_space_edges(column):
        edges = None
    else:
        edges = pc.or_(
            pc.utf8_is_space(pc.utf8_slice_codeunits(column, 0, 1)),
            pc.utf8_is_space(pc.utf8_slice_codeunits(column, -1)),
        )
    if edges is not None and pc.any(edges).as_py():
        column = pc.utf8_trim_whitespace(column)
    empty = pc.equal(pc.binary_length(column), 0)
    if pc.any(empty).as_py():
        column = pc.if_else(empty, pa.scalar(None, column.type), column)
    return column


def _string_series(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Arrow strings as a pandas Arrow-backed ``string`` Series (no Python string per
    row: normalisers work once per distinct value)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(column))


def _first_present(columns: Sequence[pa.ChunkedArray]) -> pa.ChunkedArray:
    """The first non-null value across ``columns`` (``pc.coalesce``). Columns without
    a value are left out and a single one is returned as is: coalesce copies every
    string even when there is nothing to fill (~0.35 s on 660k web events)."""
    present = [c for c in columns if c.null_count < len(c)]
    if len(present) <= 1:
        return present[0] if present else columns[0]
    return pc.coalesce(*present)


def read_json_lines(
    data: bytes,
    paths: Mapping[str, tuple[str, ...]],
    *,
    source: str,
    file: str,
) -> tuple[pd.DataFrame, pd.DataFrame, LineIndex]:
    """Read UTF-8 JSON Lines into one cleaned column per entry of ``paths`` plus
    ``line`` (1-based; blank lines are skipped but counted).

    Arrow parses the file in segments of lines, keeping only ``paths``. A segment
    Arrow refuses is halved until the culprits are in small segments, parsed line by
    line: malformed lines and non-objects are rejected (``early``), the other lines
    go back to Arrow, or, when their value types differ from plain strings (a numeric
    ``userId``), through the per-record extractor. Returns the frame, the early
    rejections and the lines (for raw text of later rejections).
    """
    lines = LineIndex(data)
    all_paths = sorted({p for alts in paths.values() for p in alts})
    pieces = _JsonPieces(
        paths=all_paths,
        schema=pa.schema(list(_schema_tree(all_paths))),
        lines=lines,
        non_blank=lines.non_blank(),
        parts=[],
        numbers=[],
        bad=[],
    )
    for first in range(0, len(lines), _JSON_SEGMENT_LINES):
        pieces.segment(first, min(first + _JSON_SEGMENT_LINES, len(lines)))

    numbers = (
        np.concatenate(pieces.numbers) if pieces.numbers else np.zeros(0, dtype=np.int64)
    )
    cleaned = {
        path: _clean_array(array)
        for path, array in zip(all_paths, pieces.leaves(), strict=True)
    }
    frame = pd.DataFrame(
        {name: _string_series(_first_present([cleaned[p] for p in alts]))
         for name, alts in paths.items()},
        index=pd.RangeIndex(len(numbers)),
    )
    frame["line"] = numbers.astype(np.int64)

    early = rejected_frame([])
    if pieces.bad:
        log.info("%s: %d of %d lines are not JSON objects", source, len(pieces.bad),
                 len(numbers) + len(pieces.bad))
        early = rejected_frame(
            {"source": source, "file": file, "line": n, "reason": reason,
             "raw": truncate(lines[n - 1].decode("utf-8", "replace"))}
            for n, reason in sorted(pieces.bad)
        )
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


def _clean_arrow(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Arrow strings trimmed, empty to null, as a pandas ``string`` Series."""
    return _string_series(_clean_array(column))


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


@dataclass(frozen=True)
class TableReader:
    """The ``check`` and ``read`` of a CSV/parquet source kind, from its layout: the
    beacon, ESP and CRM readers differ only in their :class:`TableLayout`."""

    layout: TableLayout

    def check(self, path: str | Path, *, source: str, mapping: ColumnMapping | None = None,
              id_column: str | None = None) -> None:
        """Check the header and the mapping before reading."""
        check_table_source(path, self.layout, source=source, mapping=mapping,
                           id_column=id_column)

    def read(self, path: str | Path, *, source: str, mapping: ColumnMapping | None = None,
             id_column: str | None = None) -> ReadResult:
        """Read the table; rows missing a required value, with an unparseable timestamp
        or a repeated record id are rejected."""
        return read_table_source(path, self.layout, source=source, mapping=mapping,
                                 id_column=id_column)
