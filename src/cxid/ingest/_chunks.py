"""Reading one large file as chunks: split it, read each chunk with the same reader,
put the results back together as if the file had been read whole.

Shared by the local engine's process pool (:mod:`cxid.pipeline`) and the Spark
engine's chunked reads (:mod:`cxid.engine.spark`): JSON Lines files split at line ends,
mbox files at ``From `` separators; gzip streams are never split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cxid.ingest._common import is_gzip
from cxid.ingest.email import split_mbox
from cxid.schema import REJECTED_COLUMNS, ReadResult, conform

#: Reader kinds whose files can be split into chunks read independently.
SPLITTABLE = ("web", "twitter", "email")
#: Relative reading + normalising cost per byte of each reader kind (measured on the
#: generated samples: an mbox or CRM byte costs ~10x a Segment JSON byte), used to
#: size chunks and order the work.
WORK_PER_BYTE = {"web": 1, "twitter": 1, "beacon": 2, "email": 10, "crm": 10, "esp": 10,
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


def line_chunks(path: str, folder: str, kind: str, size: int) -> Iterator[tuple[str, int]]:
    """Split a JSON Lines file into line-aligned chunk files of about ``size`` bytes (or
    an mbox into chunks that start at a ``From `` separator) in ``folder``, yielding
    (chunk path, records before it: lines, or messages for an mbox) as each chunk is
    written, so a worker can start on it at once."""
    records_before = 0
    mbox = kind == "email"
    with open(path, "rb") as handle:
        index = 0
        pending = b""
        while True:
            block = pending + handle.read(max(size - len(pending), 1))
            pending = b""
            if not block:
                break
            if mbox:  # end before the last separator; that message starts the next chunk
                while True:
                    cut = block.rfind(b"\nFrom ")
                    if cut >= 0:
                        pending, block = block[cut + 1:], block[:cut + 1]
                        break
                    more = handle.read(1 << 20)
                    if not more:
                        break
                    block += more
            else:
                block += handle.readline()  # finish the current line
            name = f"{folder}/chunk-{index:05d}{Path(path).suffix}"
            with open(name, "wb") as out:
                out.write(block)
            yield name, records_before
            records_before += len(split_mbox(block)) if mbox else block.count(b"\n")
            index += 1


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
    tp = pd.concat(tps, ignore_index=True)
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


__all__ = ["SPLITTABLE", "WORK_PER_BYTE", "line_chunks", "merge_chunks", "splittable"]
