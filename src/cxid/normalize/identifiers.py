"""Opaque identifiers: advertising ids, cookies, account and loyalty ids, IPs, Twitter.

These are compared for exact equality, so normalisation is mostly trimming and case;
its real job is to null the placeholder values systems emit when the id is unknown
(``null``, ``undefined``, ``0``, the all-zeros advertising id of users who opted
out of tracking), which would otherwise link every such record to every other.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd

from cxid.normalize.names import (
    Normalized,
    blank,
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


def _id_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = u.str.strip()
    status = status_array(len(u), junk=_junk(s), missing=missing)
    return values_where_ok(s, status), status


def normalize_id_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_id` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _id_kernel)


def normalize_id(series: pd.Series) -> pd.Series:
    """Trim an opaque id (account, cookie); placeholders (``null``, ``undefined``,
    ``none``, ``0``) → null. Case is kept: ids are case-sensitive."""
    return normalize_id_with_status(series).values


def _device_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = u.str.strip().str.lower().str.strip("{}")
    s = s.str.replace(
        r"^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$",
        r"\1-\2-\3-\4-\5", regex=True,
    )
    junk = _junk(s) | s.str.fullmatch(r"[0-]+").fillna(False).to_numpy(bool)
    invalid = ~s.str.fullmatch(_UUID).fillna(False).to_numpy(bool)
    status = status_array(len(u), invalid=invalid, junk=junk, missing=missing)
    return values_where_ok(s, status), status


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


def _ip_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = u.str.strip().str.lower().str.strip("[]")
    shaped = s.str.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*(?:%\w+)?")
    shaped = shaped.fillna(False).to_numpy(bool)
    parsed = [
        _canonical_ip(v) if ok else (None, False)
        for v, ok in zip(s.tolist(), shaped, strict=True)
    ]
    value = pd.Series([p[0] for p in parsed], index=u.index, dtype="string")
    junk = np.fromiter((p[1] for p in parsed), dtype=bool, count=len(parsed)) | _junk(s)
    invalid = value.isna().to_numpy(bool)
    status = status_array(len(u), invalid=invalid, junk=junk, missing=missing)
    return values_where_ok(value, status), status


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
