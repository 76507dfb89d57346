"""Opaque identifiers: advertising ids, cookies, account and loyalty ids, IPs, Twitter.

These are compared for exact equality, so normalisation is mostly trimming and case;
its real job is to null the placeholder values systems emit when the id is unknown
(``null``, ``undefined``, ``0``, the all-zeros advertising id of users who opted
out of tracking), which would otherwise link every such record to every other.
"""

from __future__ import annotations

import ipaddress
import re

import numpy as np
import pandas as pd

from cxid.normalize.names import (
    Normalized,
    Status,
    arrow_ascii_lower_isin,
    arrow_fullmatch,
    blank,
    map_values,
    on_distinct,
    status_array,
    values_where_ok,
)

__all__ = [
    "JUNK_IDS",
    "normalize_device",
    "normalize_device_with_status",
    "normalize_handle",
    "normalize_handle_with_status",
    "normalize_id",
    "normalize_id_with_status",
    "normalize_ip",
    "normalize_ip_with_status",
    "normalize_loyalty",
    "normalize_loyalty_with_status",
    "normalize_twitter_id",
    "normalize_twitter_id_with_status",
]

#: Placeholder ids (compared lower case after trimming).
JUNK_IDS: frozenset[str] = frozenset({
    "null", "undefined", "none", "nil", "nan", "0", "-", "n/a", "na", "unknown", "(null)",
    "[object object]", "false", "true",
})

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _junk(s: pd.Series) -> np.ndarray:
    return s.str.lower().isin(JUNK_IDS).to_numpy(bool)


def _id_rule(raw: str) -> tuple[str | None, int]:
    text = raw.strip()
    if not text:
        return None, Status.MISSING
    if text.lower() in JUNK_IDS:
        return None, Status.JUNK
    return text, Status.OK


def _id_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    # Printable ASCII without spaces (nearly every id): nothing to trim, junk by lookup.
    plain = arrow_fullmatch(u, "[!-~]+")
    junk = arrow_ascii_lower_isin(u, JUNK_IDS)
    status = np.where(junk, Status.JUNK, Status.OK).astype(np.int8)
    return map_values(u, _id_rule, fast=(plain, status))


def normalize_id_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_id` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _id_kernel)


def normalize_id(series: pd.Series) -> pd.Series:
    """Trim an opaque id (account, cookie); placeholders (``null``, ``undefined``,
    ``none``, ``0``) → null. Case is kept: ids are case-sensitive."""
    return normalize_id_with_status(series).values


_BARE_UUID_RE = re.compile(
    r"^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$")
_UUID_RE = re.compile(_UUID)
_ZEROS_RE = re.compile(r"[0-]+")


def _device_rule(raw: str) -> tuple[str | None, int]:
    if not raw.strip():
        return None, Status.MISSING
    text = _BARE_UUID_RE.sub(r"\1-\2-\3-\4-\5", raw.strip().lower().strip("{}"))
    if text.lower() in JUNK_IDS or _ZEROS_RE.fullmatch(text):
        return None, Status.JUNK
    if not _UUID_RE.fullmatch(text):
        return None, Status.INVALID
    return text, Status.OK


def _device_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    # Already a lower-case hyphenated UUID: valid, or junk when only zeros.
    canonical = arrow_fullmatch(u, _UUID)
    zeros = arrow_fullmatch(u, "[0-]+")
    status = np.where(zeros, Status.JUNK, Status.OK).astype(np.int8)
    return map_values(u, _device_rule, fast=(canonical, status))


def normalize_device_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_device` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _device_kernel)


def normalize_device(series: pd.Series) -> pd.Series:
    """Advertising ids (IDFA/GAID): lower-case UUID ``8-4-4-4-12`` (32 bare hex digits
    are hyphenated); other shapes → null; the all-zeros id (tracking opt-out) → null."""
    return normalize_device_with_status(series).values


def _loyalty_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = u.str.replace(r"\s+", "", regex=True).str.upper()
    junk = _junk(s) | s.str.fullmatch(r"0+").fillna(False).to_numpy(bool)
    status = status_array(len(u), junk=junk, missing=missing)
    return values_where_ok(s, status), status


def normalize_loyalty_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_loyalty` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _loyalty_kernel)


def normalize_loyalty(series: pd.Series) -> pd.Series:
    """Loyalty card numbers: upper case, no spaces (``fid 0012 3456`` →
    ``FID00123456``); placeholders and all zeros → null."""
    return normalize_loyalty_with_status(series).values


def _twitter_id_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = u.str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)  # read as a float
    invalid = ~s.str.fullmatch(r"\d+").fillna(False).to_numpy(bool)
    junk = _junk(s) | s.str.fullmatch(r"0+").fillna(False).to_numpy(bool)
    status = status_array(len(u), invalid=invalid, junk=junk, missing=missing)
    return values_where_ok(s, status), status


def normalize_twitter_id_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_twitter_id` plus per-row status codes."""
    return on_distinct(series, _twitter_id_kernel)


def normalize_twitter_id(series: pd.Series) -> pd.Series:
    """Twitter user ids: trimmed digit strings (``123.0`` from a float column →
    ``123``); non-numeric → null; placeholders → null."""
    return normalize_twitter_id_with_status(series).values


def _canonical_ip(value: str) -> tuple[str | None, bool]:
    """(canonical text or None, is a placeholder address)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None, False
    placeholder = ip.is_unspecified or ip.is_loopback or str(ip) == "255.255.255.255"
    return str(ip), placeholder


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: Dotted IPv4 that :mod:`ipaddress` accepts as is (ASCII digits, no leading zeros);
#: its canonical text is the input itself.
_CANONICAL_IPV4_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_IP_SHAPE_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*(?:%\w+)?")


def _ip_rule(raw: str) -> tuple[str | None, int]:
    if not raw.strip():
        return None, Status.MISSING
    text = raw.strip().lower().strip("[]")
    if _CANONICAL_IPV4_RE.fullmatch(text):  # the common case, without ipaddress
        value = text
        placeholder = text in ("0.0.0.0", "255.255.255.255") or text.startswith("127.")
    elif _IP_SHAPE_RE.fullmatch(text):
        value, placeholder = _canonical_ip(text)
    else:
        value, placeholder = None, False
    if placeholder or text.lower() in JUNK_IDS:
        return None, Status.JUNK
    if value is None:
        return None, Status.INVALID
    return value, Status.OK


def _ip_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    # Canonical dotted IPv4 (the bulk of web traffic) is its own normal form: settle it
    # in bulk; ``_ip_rule`` sees only the rest.
    v4 = arrow_fullmatch(u, _CANONICAL_IPV4_RE.pattern)
    placeholder = arrow_fullmatch(u, r"0\.0\.0\.0|255\.255\.255\.255|127\..*")
    status = np.where(placeholder, Status.JUNK, Status.OK).astype(np.int8)
    return map_values(u, _ip_rule, fast=(v4, status))


def normalize_ip_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_ip` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _ip_kernel)


def normalize_ip(series: pd.Series) -> pd.Series:
    """IP addresses: trimmed, checked and written canonically (IPv6 compressed, lower
    case); other shapes → null; ``0.0.0.0``, loopback and broadcast → null. Parsed
    with :mod:`ipaddress` once per distinct value."""
    return normalize_ip_with_status(series).values


def _handle_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = u.str.strip().str.lower()
    s = s.str.replace(r"^(?:https?://)?(?:www\.|mobile\.)?(?:twitter|x)\.com/", "", regex=True)
    s = s.str.replace(r"^@+", "", regex=True).str.rstrip("/")
    invalid = ~s.str.fullmatch(r"[a-z0-9_]{1,20}").fillna(False).to_numpy(bool)
    status = status_array(len(u), invalid=invalid, junk=_junk(s), missing=missing)
    return values_where_ok(s, status), status


def normalize_handle_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_handle` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _handle_kernel)


def normalize_handle(series: pd.Series) -> pd.Series:
    """Twitter handles: lower case, without ``@`` or a profile URL prefix;
    characters outside ``[a-z0-9_]`` → null."""
    return normalize_handle_with_status(series).values
