"""Reading one large file as chunks: split it, read each chunk with the same reader,
put the results back together as if the file had been read whole.

Shared by the local engine's process pool (:mod:`cxid.pipeline`) and the Spark
engine's chunked reads (:mod:`cxid.engine.spark`): JSON Lines files split at line ends,
mbox files at ``From `` separators; gzip streams are never split.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cxid._frames import concat_rows
from cxid.ingest._common import is_gzip
from cxid.ingest.email import split_mbox
from cxid.schema import REJECTED_COLUMNS, ReadResult, conform

#: Reader kinds whose files can be split into chunks read independently.
SPLITTABLE = ("web", "twitter", "email")
#: Relative reading + normalising cost per byte of each reader kind (CPU seconds per MB
#: measured on the generated 1M-touchpoint set, web = 1: a Segment JSON byte is the
#: cheapest, an mbox byte ~18x dearer, parsed message by message), used to size chunks
#: and to order the work longest first.
WORK_PER_BYTE = {"web": 1, "twitter": 10, "beacon": 2, "email": 18, "crm": 9, "esp": 14,
                 "tabular": 4}


def splittable(kind: str, path: str | Path) -> bool:
    """True when a file of ``kind`` at ``path`` can be read in chunks: a splittable
    kind, not gzip-compressed, and for Twitter only JSON Lines (a ``{"data": [...]}``
    document or a bare array spans many lines and must be read whole)."""
    if kind not in SPLITTABLE or is_gzip(Path(path)):
        return False
    if kind != "twitter":
        return True
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    first = next((line for line in head.split(b"\n") if line.strip()), b"")
    if not head.count(b"\n") or not first.lstrip().startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def line_ranges(path: str, kind: str, size: int) -> list[tuple[int, int]]:
    """Byte ranges ``[start, end)`` covering a JSON Lines file in pieces of about
    ``size`` bytes that start at a line start (an mbox's at a ``From `` separator
    line). Only the bytes around each cut are read."""
    total = Path(path).stat().st_size
    cuts = [0]
    mbox = kind == "email"
    with open(path, "rb") as handle:
        while cuts[-1] + size < total:
            handle.seek(cuts[-1] + size - 1)  # a line starting at the target counts
            if mbox:
                cut, tail = -1, b""
                while cut < 0:
                    more = handle.read(1 << 20)
                    if not more:
                        break
                    at = (tail + more).find(b"\nFrom ")
                    if at >= 0:
                        cut = handle.tell() - len(more) - len(tail) + at + 1
                    tail = more[-6:]
                if cut < 0:
                    break
            else:
                handle.readline()  # to the end of the line the target falls in
                cut = handle.tell()
            if cut >= total:
                break
            cuts.append(cut)
    cuts.append(total)
    return [(start, end) for start, end in itertools.pairwise(cuts) if end > start]


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of ``path``."""
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def count_records(data: bytes, kind: str) -> int:
    """What a reader numbers in ``data``: lines, or messages for an mbox."""
    return len(split_mbox(data)) if kind == "email" else data.count(b"\n")


def line_chunks(path: str, folder: str, kind: str, size: int) -> Iterator[tuple[str, int]]:
    """Split a JSON Lines file into line-aligned chunk files of about ``size`` bytes (or
    an mbox into chunks that start at a ``From `` separator) in ``folder`` (see
    :func:`line_ranges`), yielding (chunk path, records before it: lines, or messages
    for an mbox) as each chunk is written, so a worker can start on it at once."""
    records_before = 0
    for index, (start, end) in enumerate(line_ranges(path, kind, size)):
        block = read_range(path, start, end)
        name = f"{folder}/chunk-{index:05d}{Path(path).suffix}"
        with open(name, "wb") as out:
            out.write(block)
        yield name, records_before
        records_before += count_records(block, kind)


def _as_file(frame: pd.DataFrame, path: str) -> pd.Series:
    """A ``file`` column holding ``path`` on every row of ``frame``, typed like the
    frame's own (a categorical stays one)."""
    dtype = frame["file"].dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [path]),
                         index=frame.index)
    return pd.Series(path, index=frame.index, dtype=dtype)


def merge_chunks(parts: Sequence[ReadResult], offsets: Sequence[int], path: str
                 ) -> ReadResult:
    """Chunk results (in file order, with the records before each chunk) -> one file's
    result: the original file name, global line numbers, and record ids repeated across
    chunks rejected like the reader rejects them within one file (the first one
    kept; the later ones are appended to rejected, without their raw text). The
    touchpoints may be read or already normalised: only ``source``, ``file``,
    ``line`` and ``record_id`` are used."""
    tps, rjs = [], []
    for (tp, rj), offset in zip(parts, offsets, strict=True):
        tps.append(tp.assign(file=_as_file(tp, path), line=tp["line"] + offset))
        rjs.append(rj.assign(file=path, line=rj["line"] + offset))
    tp = concat_rows(tps)  # user agents stay categorical across pieces
    rj = pd.concat(rjs, ignore_index=True)
    dup = (tp["record_id"].duplicated(keep="first") & tp["record_id"].notna()).to_numpy()
    if dup.any():
        moved = tp[dup]
        rj = pd.concat([rj, conform(pd.DataFrame({
            "source": moved["source"], "file": moved["file"], "line": moved["line"],
            "record_id": moved["record_id"], "reason": "duplicate record_id",
        }), REJECTED_COLUMNS)], ignore_index=True)
        tp = tp[~dup].reset_index(drop=True)
    return ReadResult(tp, conform(rj, REJECTED_COLUMNS))


__all__ = ["SPLITTABLE", "WORK_PER_BYTE", "count_records", "line_chunks", "line_ranges",
           "merge_chunks", "read_range", "splittable"]
