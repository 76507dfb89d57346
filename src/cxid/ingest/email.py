"""Customer e-mails from an mbox file (plain or ``.gz``; a lone ``.eml`` also works).

Each message is one touchpoint: the sender's name and address, a distinct Reply-To
address, the date, and a phone number found in the body (the signature first,
because that is where customers write their own number; quoted replies are skipped,
because they hold the brand's own customer-service number).

The values are those of the ``email`` package's default policy, read faster: plain
single-part messages skip the parser (_split_simple), RFC 5322 dates are converted all
at once (_instants) and phones are searched without parsing most candidates
(:mod:`cxid.ingest._phone_search`); anything unusual takes the exact slow path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import (
    collapse_rfc2231_value,
    format_datetime,
    getaddresses,
    parsedate_to_datetime,
)
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
from cxid.ingest._phone_search import first_phone
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
#: Every reply header holds one of these words in some case: a body whose lower case
#: holds none has no reply header, unless it has one of _ODD_CASES, the only
#: characters besides upper case that re.IGNORECASE matches to their letters (tested)
_REPLY_WORDS = ("message", "a écrit", "wrote")
_ODD_CASES = ("\u0130", "\u0131", "\u017f")  # İ ı ſ
_TAG = re.compile(r"<[^>]+>")
_SIGNATURE_LINES = 3

# Messages are parsed with the compat32 policy, which keeps header values raw: the
# default policy parses every header it is asked for (and Content-Type many times)
# through its header registry, ten times slower than the rest of the reader. The
# headers we use are decoded here: common shapes by the fast paths below, anything
# else by the default policy's own header parser, so the values are the same.
_PARSER = BytesParser(policy=policy.compat32)
_HEADER_FACTORY = policy.default.header_factory
_LINE_BREAK = re.compile(r"\n|\r")  # what the default policy removes from a header value
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*"
_PHRASE = rf"{_ATOM}(?:[ \t]+{_ATOM})*"
#: ``addr``, ``Name Name <addr>`` or ``"Name N." <addr>``, without encoded words (the
#: default policy decodes those in its own way: it keeps the space between two
#: encoded words, tolerates bad charsets...), so they take the exact path
_SIMPLE_ADDRESS = re.compile(
    rf'[ \t]*(?:({_ADDR_SPEC})|(?:({_PHRASE})|"([ !#-\[\]-~]*)")[ \t]*<({_ADDR_SPEC})>)[ \t]*'
)
#: An RFC 2047 encoded word in a common charset, strictly valid (else: exact path)
_ENCODED_WORD = re.compile(
    r"=\?(utf-8|iso-8859-1|iso-8859-15|windows-1252|us-ascii)\?"
    r"(?:[qQ]\?((?:[!->@-~]|=[0-9A-Fa-f]{2})*)|[bB]\?((?:[A-Za-z0-9+/]{4})*"
    r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?))\?=",
    re.IGNORECASE,
)
_SPACES = re.compile(r" +")
_ODD_SPACE = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f]")
_SIMPLE_MESSAGE_ID = re.compile(rf"[ \t]*<{_ADDR_SPEC}>[ \t]*")

# Most messages are one text part under a plain header block: for those the header
# values, the body and its text are taken straight from the bytes, as the compat32
# parser and _body_text would give them; any other message takes the parser.
#: A header block compat32 splits at "\n" only and reads as headers, every line of it
#: (no "\r", no "From " line, no line it would take for the start of the body); it
#: decodes the bytes as ASCII with surrogate escapes, and so does _split_simple
_SIMPLE_HEAD = re.compile(rb"(?:[\x21-\x39\x3b-\x7e]+:[^\r\n]*\n(?:[ \t][^\r\n]*\n)*)+")
#: One header of such a block: its name and its value as compat32 stores it
_HEADER = re.compile(r"^([\x21-\x39\x3b-\x7e]+):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n", re.MULTILINE)
#: A text Content-Type with no parameter but the charset
_TEXT_TYPE = re.compile(
    r'[ \t]*(text/(?:plain|html))[ \t]*'
    r'(?:;[ \t]*charset[ \t]*=[ \t]*("?)([A-Za-z0-9._:-]+)\2[ \t]*)?',
    re.IGNORECASE,
)
_UU = ("x-uuencode", "uuencode", "uue", "x-uue")
#: A Date in the RFC 5322 layout with a numeric zone: its instant is computed for all
#: messages at once (see _instants); other dates go through _date one by one
_RFC_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ((?:19|20|21)[0-9]{2}) "
    r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]) ([+-])([01][0-9]|2[0-3])([0-5][0-9])"
)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}


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


def _first_headers(message: Message) -> dict[str, str]:
    """Raw value of the first header of each name (lower case), as the parser stored it."""
    headers: dict[str, str] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), value)
    return headers


def _split_simple(data: bytes) -> tuple[dict[str, str], bytes] | None:
    """(:func:`_first_headers`, raw body) of a message whose header block matches
    :data:`_SIMPLE_HEAD`, without parsing it; else None."""
    end = data.find(b"\n\n")
    if end < 0:
        return None
    head = data[: end + 1]
    if _SIMPLE_HEAD.fullmatch(head) is None:
        return None
    headers: dict[str, str] = {}
    for name, value in _HEADER.findall(head.decode("ascii", "surrogateescape")):
        headers.setdefault(name.lower(), value)
    return headers, data[end + 2 :]


def _simple_body_text(headers: dict[str, str], body: bytes) -> str | None:
    """:func:`_body_text` of a message split by :func:`_split_simple` when it is one
    text/plain or text/html part in a charset Python knows, else None."""
    if "content-disposition" in headers:
        return None
    content_type = headers.get("content-type")
    if content_type is None:
        content_type, charset = "text/plain", "ASCII"  # compat32's defaults
    else:
        shape = _TEXT_TYPE.fullmatch(content_type)
        if shape is None:
            return None
        content_type, charset = shape[1].lower(), shape[3] or "ASCII"
    encoding = headers.get("content-transfer-encoding", "").lower()
    if not encoding.isascii():  # compat32 would hand it over as a Header object
        return None
    if encoding == "quoted-printable":
        payload = binascii.a2b_qp(body)
    elif encoding == "base64":
        try:  # what compat32 does when the data is strictly valid (it repairs the rest)
            payload = base64.b64decode(b"".join(body.splitlines()), validate=True)
        except binascii.Error:
            return None
    elif encoding in _UU:
        return None
    else:
        payload = body
    try:
        content = payload.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return None
    return _html_text(content) if content_type == "text/html" else content


def _parsed(name: str, raw: str) -> Any:
    """``raw`` parsed by the default policy, exactly as ``EmailMessage.get`` returns it."""
    return _HEADER_FACTORY(name, "".join(_LINE_BREAK.split(raw)))


def _first_address(raw: str | None, name: str) -> tuple[str | None, str | None]:
    """(display name, address) of the first address in header ``name``."""
    if raw is None:
        return None, None
    simple = _SIMPLE_ADDRESS.fullmatch(raw) if raw.isascii() else None
    if simple is not None:
        bare, phrase, quoted, address = simple.groups()
        if bare is not None:
            return None, bare
        if phrase is None:
            display: str | None = quoted if "=?" not in quoted else None
        else:
            display = _phrase_text(phrase)
        if display is not None:
            return display or None, address
    return _parsed_address(name, raw)


def _phrase_text(phrase: str) -> str | None:
    """A display name of atoms and encoded words as the default policy decodes it
    (words joined by one space, encoded words decoded verbatim, even the spaces they
    hold), or None when a word is not one we decode the same way."""
    words = phrase.split()
    if "=?" not in phrase:
        return " ".join(words)
    out = []
    for word in words:
        if "=?" not in word:
            out.append(word)
            continue
        encoded = _ENCODED_WORD.fullmatch(word)
        if encoded is None:
            return None
        charset, q_text, b_text = encoded.groups()
        try:
            if q_text is not None:
                data = binascii.a2b_qp(q_text.encode("ascii"), header=True)
            else:
                data = base64.b64decode(b_text, validate=True)
            text = data.decode(charset)
        except (ValueError, UnicodeDecodeError):
            return None
        if _ODD_SPACE.search(text):  # the default policy has its own rules for those
            return None
        out.append(_SPACES.sub(" ", text))  # each run of spaces is one folding space
    return " ".join(out)


@functools.lru_cache(maxsize=1 << 16)
def _parsed_address(name: str, raw: str) -> tuple[str | None, str | None]:
    """:func:`_first_address` by the default policy (customers write many messages)."""
    header = _parsed(name, raw)
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


def _message_id(raw: str | None) -> str | None:
    """The Message-ID header as the default policy spells it."""
    if raw is None:
        return None
    if _SIMPLE_MESSAGE_ID.fullmatch(raw):
        return raw
    return str(_parsed("Message-ID", raw))


def _date(raw: str | None) -> tuple[str | None, datetime | None]:
    """(Date header as the default policy spells it, the instant it gives)."""
    if raw is None:
        return None, None
    if not raw.isascii() or _LINE_BREAK.search(raw):
        text = str(_parsed("Date", raw))
        return text, _parse_date(text)
    if not raw:
        return "", None
    try:
        parsed = parsedate_to_datetime(raw)
    except ValueError:  # as the default policy: other errors reject the message
        return raw, None
    text = format_datetime(parsed)
    return text, _parse_date(text)


def _is_attachment(part: Message) -> bool:
    disposition = part.get("content-disposition")
    if disposition is None:
        return False
    return str(_parsed("Content-Disposition", part.get_all("content-disposition")[0])
               .content_disposition) == "attachment"


def _find_body(root: Message, part: Message, preferencelist: tuple[str, ...]
               ) -> Iterator[tuple[int, Message]]:
    """``EmailMessage._find_body`` for compat32 messages."""
    if _is_attachment(part):
        return
    maintype, subtype = part.get_content_type().split("/")
    if maintype == "text":
        if subtype in preferencelist:
            yield (preferencelist.index(subtype), part)
        return
    if maintype != "multipart" or not root.is_multipart():
        return
    if subtype != "related":
        for subpart in part.get_payload() if part.is_multipart() else []:
            yield from _find_body(root, subpart, preferencelist)
        return
    candidate = None
    start = part.get_param("start")
    if start:
        for subpart in part.get_payload() if part.is_multipart() else []:
            content_id = subpart.get_all("content-id")
            if content_id and str(_parsed("Content-ID", content_id[0])) == start:
                candidate = subpart
                break
    if candidate is None:
        subparts = part.get_payload()
        candidate = subparts[0] if subparts else None
    if candidate is not None:
        yield from _find_body(root, candidate, preferencelist)


def _get_body(message: Message, preferencelist: tuple[str, ...]) -> Message | None:
    """``EmailMessage.get_body`` for compat32 messages."""
    best_prio = len(preferencelist)
    body = None
    for prio, part in _find_body(message, message, preferencelist):
        if prio < best_prio:
            best_prio = prio
            body = part
            if prio == 0:
                break
    return body


def _body_text(message: Message) -> str:
    """Plain text of the body (HTML stripped), transfer encodings and charsets decoded."""
    part = _get_body(message, ("plain", "html"))
    if part is None:
        return ""
    try:
        # what EmailMessage.get_content does for a text part
        payload = part.get_payload(decode=True)
        charset = part.get_param("charset", "ASCII")
        if isinstance(charset, tuple):  # RFC 2231 (charset*=utf-8''utf-8)
            charset = collapse_rfc2231_value(charset)
        content = payload.decode(charset, errors="replace")
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
        content = _html_text(content)
    return content


def _html_text(content: str) -> str:
    """The text of an HTML body: line breaks kept, tags dropped, entities decoded."""
    return html.unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))


def find_phone(body: str) -> str | None:
    """The customer's phone in a message body: the first one in the signature, else
    the first one in the body; quoted replies are ignored. The signature starts after
    a ``-- `` line, else after the last sign-off line ("Cordialement,"), else it is
    the last three non-empty lines."""
    own = _own_lines(body)
    if not own:
        return None
    marker = None
    if "--" in body:
        marker = _last_index(own, lambda line: line.rstrip() in ("--", "-- "))
    if marker is None:
        marker = _last_index(own, _SIGN_OFF.match)
    if marker is not None:
        signature = own[marker + 1 :]
    else:
        signature = [line for line in own if line.strip()][-_SIGNATURE_LINES:]
    for block in (signature, own):
        found = first_phone("\n".join(block))
        if found:
            return found
    return None


def _own_lines(body: str) -> list[str]:
    """The lines of ``body`` up to a reply header, quoted lines (``>``) left out."""
    lines = body.splitlines()
    if ">" not in body and not _may_hold_reply_header(body):  # the common case
        return lines
    own: list[str] = []
    for line in lines:
        if _REPLY_HEADER.match(line):
            break
        if not line.lstrip().startswith(">"):
            own.append(line)
    return own


def _may_hold_reply_header(body: str) -> bool:
    """False when no line of ``body`` can match :data:`_REPLY_HEADER` (a cheap test:
    the regex is case-insensitive, so searching for its words is slow)."""
    if any(odd in body for odd in _ODD_CASES):
        return True
    lower = body.lower()
    return any(word in lower for word in _REPLY_WORDS)


def _last_index(lines: list[str], test: Callable[[str], Any]) -> int | None:
    """Position of the last line passing ``test``, or None."""
    return next((i for i in range(len(lines) - 1, -1, -1) if test(lines[i])), None)


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


#: One message's fields: record_id, full_name, email, reply_to, the Date header (as
#: the default policy spells it, or raw when it matches _RFC_DATE), the instant (a
#: datetime, None, or the _RFC_DATE groups to compute later) and phone
Fields = tuple[str | None, str | None, str | None, str | None, str | None,
               datetime | tuple[str, ...] | None, str | None]


def _message_fields(data: bytes) -> Fields:
    """The touchpoint fields of one message (raises on unusable structure)."""
    simple = _split_simple(data)
    if simple is None:
        message = _PARSER.parsebytes(data)
        headers = _first_headers(message)
    else:
        headers, body = simple
    message_id = _text(_message_id(headers.get("message-id")))
    name, address = _first_address(headers.get("from"), "From")
    _, reply_to = _first_address(headers.get("reply-to"), "Reply-To")
    if reply_to and address and reply_to.strip().lower() == address.strip().lower():
        reply_to = None
    raw_date = headers.get("date")
    rfc_date = None if raw_date is None else _RFC_DATE.fullmatch(raw_date)
    observed_at: datetime | tuple[str, ...] | None
    if rfc_date is not None:
        observed_at = rfc_date.groups()
    else:
        raw_date, observed_at = _date(raw_date)
    text = None if simple is None else _simple_body_text(headers, body)
    if text is None:
        text = _body_text(_PARSER.parsebytes(data) if simple is not None else message)
    return (
        message_id.strip().strip("<>") if message_id else None,
        _text(name),
        _text(address),
        _text(reply_to),
        _text(raw_date),
        observed_at,
        find_phone(fix_surrogates(text)),
    )


def _instants(values: list[datetime | tuple[str, ...] | None]) -> pd.Series:
    """``pd.to_datetime(values, utc=True)``, the _RFC_DATE groups among ``values``
    converted all at once (an impossible day, such as 30 Feb, gives NaT as
    :func:`_date` does)."""
    positions = [i for i, v in enumerate(values) if isinstance(v, tuple)]
    instants = np.full(len(values), np.datetime64("NaT", "ns"))
    if positions:
        parts = np.array([values[i] for i in positions], dtype=str).T
        day, year, hour, minute, second, zone_h, zone_m = (
            parts[i].astype(np.int64) for i in (0, 2, 3, 4, 5, 7, 8))
        month = pd.Series(parts[1]).map(_MONTHS).to_numpy(np.int64)
        first = ((year - 1970) * 12 + month).astype("datetime64[M]")
        date = first.astype("datetime64[D]") + (day - 1)
        # pandas' nanosecond range (1677-2262): beyond it, numpy would wrap around
        valid = ((day >= 1) & (date.astype("datetime64[M]") == first)
                 & (year > 1677) & (year < 2262))
        zone = np.where(parts[6] == "-", -1, 1) * (zone_h * 3600 + zone_m * 60)
        seconds = (date.astype("datetime64[s]").astype(np.int64)
                   + hour * 3600 + minute * 60 + second - zone)
        instants[positions] = np.where(valid, seconds.astype("datetime64[s]"),
                                       np.datetime64("NaT", "s")).astype("datetime64[ns]")
    others = [i for i, v in enumerate(values) if v is not None and not isinstance(v, tuple)]
    if not others:
        return pd.Series(pd.DatetimeIndex(instants, tz="UTC"))
    # as before: one pd.to_datetime over every value; a date beyond pandas' range
    # (year 1600) is NaT, so its record is rejected as an unparseable timestamp
    column = np.full(len(values), None, dtype=object)
    column[others] = [values[i] for i in others]
    column[positions] = list(pd.DatetimeIndex(instants[positions], tz="UTC"))
    return pd.to_datetime(pd.Series(column), utc=True, errors="coerce")


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

    rows: list[Fields] = []
    lines: list[int] = []
    bad: list[dict[str, Any]] = []
    for number, data in enumerate(messages, start=1):
        try:
            rows.append(_message_fields(data))
        except Exception as exc:  # any defect in one message must not stop the run
            bad.append({"source": source, "file": file, "line": number,
                        "reason": f"unparseable message: {type(exc).__name__}",
                        "raw": truncate(data.decode("utf-8", "replace"))})
            continue
        lines.append(number)

    record_id, full_name, email, reply_to, raw_date, observed_at, phone = (
        [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 7)
    frame = pd.DataFrame({
        "record_id": clean_strings(record_id),
        "full_name": clean_strings(full_name),
        "email": clean_strings(email),
        "reply_to": clean_strings(reply_to),
        "phone": clean_strings(phone),
        "observed_at": _instants(observed_at),
        "line": np.array(lines, dtype=np.int64),
    })
    raw_date = clean_strings(raw_date)

    reasons = new_reasons(len(frame))
    flag(reasons, frame["record_id"].isna(), "missing Message-ID")
    flag(reasons, raw_date.notna() & frame["observed_at"].isna(),
         "unparseable timestamp", quoted=raw_date)

    line_of = frame["line"].to_numpy()

    def raw_of(positions: np.ndarray) -> list[str | None]:
        return [messages[line_of[p] - 1].decode("utf-8", "replace") for p in positions]

    return finish(frame, reasons, raw_of, source=source, file=file, early=rejected_frame(bad))


__all__ = ["check", "find_phone", "read", "split_mbox"]
