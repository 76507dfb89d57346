"""Twitter (X) API v2 user objects: a response body ``{"data": [...]}`` (``.json``), a
bare array, or JSON Lines of user objects or of whole responses (as twarc writes).

The user id is the record id and the identifier; username, display name and the
free-text location are people-level evidence. The bio is kept only for the first
e-mail address it shows (customers often write "contact: prenom.nom@mail.fr").
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from cxid.ingest._common import (
    ColumnMapping,
    decode_text,
    extract_json,
    finish,
    flag,
    flag_timestamps,
    json_dumps_raw,
    json_paths,
    new_reasons,
    read_bytes,
    rejected_frame,
    truncate,
)
from cxid.schema import ReadResult

log = logging.getLogger(__name__)

#: Canonical column -> dotted paths tried in order (first non-empty wins).
DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "record_id": ("id",),
    "twitter_id": ("id",),
    "twitter_handle": ("username",),
    "full_name": ("name",),
    "city": ("location",),
    "observed_at": ("created_at",),
    "_description": ("description",),
}

_EMAIL = r"([A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"


def _paths(
    source: str, mapping: ColumnMapping | None, id_column: str | None
) -> dict[str, tuple[str, ...]]:
    paths = json_paths(
        DEFAULT_PATHS, kind="twitter", source=source, mapping=mapping, id_column=id_column
    )
    if mapping and "twitter_id" in mapping and "record_id" not in mapping and not id_column:
        paths["record_id"] = paths["twitter_id"]
    return paths


def check(
    path: Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> None:
    """Validate the mapping (canonical column -> dotted path) before reading."""
    _paths(source, mapping, id_column)


def _users(text: str) -> tuple[list[Any], list[int], list[tuple[int, str, str]]]:
    """Split a file into user objects with their line (JSONL) or array index, plus
    the lines that could not be parsed as ``(line, reason, raw)``."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None  # JSON Lines, or a broken document handled line by line
        if isinstance(document, dict) and "data" in document and "id" not in document:
            document = document["data"]
        if isinstance(document, dict):
            return [document], [1], []
        if isinstance(document, list):
            return document, list(range(1, len(document) + 1)), []

    users: list[Any] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((number, f"malformed JSON: {exc.msg} at column {exc.colno}", line))
            continue
        if isinstance(obj, dict) and "data" in obj and "id" not in obj:
            page = obj["data"] if isinstance(obj["data"], list) else [obj["data"]]
            users.extend(page)
            numbers.extend([number] * len(page))
        else:
            users.append(obj)
            numbers.append(number)
    return users, numbers, bad


def read(
    path: str | Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> ReadResult:
    """Read Twitter user objects into touchpoints; objects without id are rejected."""
    path = Path(path)
    file = str(path)
    paths = _paths(source, mapping, id_column)
    text = decode_text(read_bytes(path, source=source), source=source, file=file)
    users, numbers, bad = _users(text)

    is_object = np.array([isinstance(u, dict) for u in users], dtype=bool)
    frame = extract_json(users, paths)
    frame["line"] = np.asarray(numbers, dtype=np.int64)
    description = frame.pop("_description")
    if not mapping or "email" not in mapping:
        frame["email"] = description.str.extract(_EMAIL, expand=False)

    reasons = new_reasons(len(frame))
    flag(reasons, ~is_object, "not a JSON object")
    flag(reasons, frame["record_id"].isna(), "missing id")
    flag_timestamps(frame, reasons)

    early = rejected_frame(
        {"source": source, "file": file, "line": n, "reason": reason, "raw": truncate(raw)}
        for n, reason, raw in bad
    )

    def raw_of(positions: np.ndarray) -> list[str | None]:
        return [json_dumps_raw(users[p]) for p in positions]

    return finish(frame, reasons, raw_of, source=source, file=file, early=early)


__all__ = ["DEFAULT_PATHS", "check", "read"]
