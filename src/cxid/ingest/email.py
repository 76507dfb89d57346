"""Customer e-mails from an mbox file (plain or ``.gz``; a lone ``.eml`` also works).

Each message is one touchpoint: the sender's name and address, a distinct Reply-To
address, the date, and a phone number found in the body (the signature first,
because that is where customers write their own number; quoted replies are skipped,
because they hold the brand's own customer-service number).
"""

from __future__ import annotations

import html
import itertools
import logging
import re
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers

from cxid.ingest._common import (
    ColumnMapping,
    clean_strings,
    finish,
    fix_surrogates,
    flag,
    new_reasons,
    no_mapping,
    read_bytes,
    rejected_frame,
    truncate,
)
from cxid.schema import ReadResult

log = logging.getLogger(__name__)

_FROM_LINE = re.compile(rb"^From .*$", re.MULTILINE)
_REPLY_HEADER = re.compile(
    r"^\s*(-{2,}\s*(original message|message d'origine|message transféré)"
    r"|(le|on)\b.{0,200}\b(a écrit|wrote)\s*:)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(bien |très )?(cordialement|à vous|sincèrement|amicalement|salutations"
    r"|merci( d'avance| beaucoup| par avance)?|bonne (journée|soirée)|à bientôt|a bientot"
    r"|(best |kind )?regards|best|thanks|thank you|sincerely)\b[\s,.!]*$",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]+>")
_SIGNATURE_LINES = 3
_PARSER = BytesParser(policy=policy.default)


def check(
    path: Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> None:
    """The mbox reader has a fixed layout: refuse a mapping or an id column."""
    no_mapping("email", source=source, mapping=mapping, id_column=id_column)


def split_mbox(data: bytes) -> list[bytes]:
    """Messages of an mbox, each without its ``From `` separator line. Text before the
    first separator (or a file with none, like an ``.eml``) is a message of its own."""
    starts = [m.start() for m in _FROM_LINE.finditer(data)]
    if not starts:
        return [data] if data.strip() else []
    messages = [data[: starts[0]]] if data[: starts[0]].strip() else []
    bounds = [*starts, len(data)]
    for begin, end in itertools.pairwise(bounds):
        chunk = data[begin:end]
        newline = chunk.find(b"\n")
        messages.append(chunk[newline + 1 :] if newline >= 0 else b"")
    return messages


def _first_address(message: EmailMessage, name: str) -> tuple[str | None, str | None]:
    """(display name, address) of the first address in header ``name``."""
    header = message.get(name)
    if header is None:
        return None, None
    try:
        addresses = header.addresses
        if addresses:
            return addresses[0].display_name or None, addresses[0].addr_spec or None
    except (AttributeError, IndexError, ValueError):
        pass
    pairs = getaddresses([str(header)])
    if pairs:
        return pairs[0][0] or None, pairs[0][1] or None
    return None, None


def _body_text(message: EmailMessage) -> str:
    """Plain text of the body (HTML stripped), transfer encodings and charsets decoded."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, errors="replace")
        except LookupError:
            content = payload.decode("cp1252", errors="replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = html.unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return content


def _phones(text: str) -> list[str]:
    return [
        m.raw_string
        for m in phonenumbers.PhoneNumberMatcher(text, "FR", leniency=phonenumbers.Leniency.VALID)
    ]


def find_phone(body: str) -> str | None:
    """The customer's phone in a message body: the first one in the signature, else
    the first one in the body; quoted replies are ignored. The signature starts after
    a ``-- `` line, else after the last sign-off line ("Cordialement,"), else it is
    the last three non-empty lines."""
    own: list[str] = []
    for line in body.splitlines():
        if _REPLY_HEADER.match(line):
            break
        if not line.lstrip().startswith(">"):
            own.append(line)
    if not own:
        return None
    marker = max((i for i, line in enumerate(own) if line.rstrip() in ("--", "-- ")), default=None)
    if marker is None:
        marker = max((i for i, line in enumerate(own) if _SIGN_OFF.match(line)), default=None)
    if marker is not None:
        signature = own[marker + 1 :]
    else:
        signature = [line for line in own if line.strip()][-_SIGNATURE_LINES:]
    for block in (signature, own):
        found = _phones("\n".join(block))
        if found:
            return found[0]
    return None


def _parse_date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text(value: Any) -> str | None:
    return None if value is None else fix_surrogates(str(value))


def _message_fields(message: EmailMessage) -> dict[str, Any]:
    """The touchpoint fields of one parsed message (raises on unusable structure)."""
    message_id = _text(message.get("Message-ID"))
    name, address = _first_address(message, "From")
    _, reply_to = _first_address(message, "Reply-To")
    if reply_to and address and reply_to.strip().lower() == address.strip().lower():
        reply_to = None
    raw_date = _text(message.get("Date"))
    return {
        "record_id": message_id.strip().strip("<>") if message_id else None,
        "full_name": _text(name),
        "email": _text(address),
        "reply_to": _text(reply_to),
        "observed_at": _parse_date(raw_date),
        "_raw_date": raw_date,
        "phone": find_phone(fix_surrogates(_body_text(message))),
    }


def read(
    path: str | Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> ReadResult:
    """Read an mbox into touchpoints; a message that cannot be parsed is rejected."""
    no_mapping("email", source=source, mapping=mapping, id_column=id_column)
    path = Path(path)
    file = str(path)
    messages = split_mbox(read_bytes(path, source=source))

    rows: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for number, data in enumerate(messages, start=1):
        try:
            fields = _message_fields(_PARSER.parsebytes(data))
        except Exception as exc:  # any defect in one message must not stop the run
            bad.append({"source": source, "file": file, "line": number,
                        "reason": f"unparseable message: {type(exc).__name__}",
                        "raw": truncate(data.decode("utf-8", "replace"))})
            continue
        fields["line"] = number
        rows.append(fields)

    columns = ["record_id", "full_name", "email", "reply_to", "_raw_date", "phone"]
    frame = pd.DataFrame(rows, columns=[*columns, "observed_at", "line"])
    for name in columns:
        frame[name] = clean_strings(frame[name])
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    raw_date = frame.pop("_raw_date").astype("string")

    reasons = new_reasons(len(frame))
    flag(reasons, frame["record_id"].isna(), "missing Message-ID")
    flag(reasons, raw_date.notna() & frame["observed_at"].isna(),
         "unparseable timestamp", quoted=raw_date)

    line_of = frame["line"].to_numpy()

    def raw_of(positions: np.ndarray) -> list[str | None]:
        return [messages[line_of[p] - 1].decode("utf-8", "replace") for p in positions]

    return finish(frame, reasons, raw_of, source=source, file=file, early=rejected_frame(bad))


__all__ = ["check", "find_phone", "read", "split_mbox"]
