"""Opaque identifiers: device, cookie, account, loyalty, IP, Twitter id and handle."""

from __future__ import annotations

import pandas as pd
import pytest

from cxid.normalize.identifiers import (
    normalize_device,
    normalize_device_with_status,
    normalize_handle,
    normalize_id,
    normalize_id_with_status,
    normalize_ip,
    normalize_ip_with_status,
    normalize_loyalty,
    normalize_loyalty_with_status,
    normalize_twitter_id,
)
from cxid.normalize.names import Status


def S(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype="string")


def _na(value: object) -> object:
    return None if pd.isna(value) else value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
        ("  38400000-8cf0-11bd-b23e-10b96e40000d ", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("{38400000-8CF0-11BD-B23E-10B96E40000D}", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("384000008cf011bdb23e10b96e40000d", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("not-a-uuid", None),
        ("38400000-8cf0-11bd-b23e", None),
    ],
)
def test_device(raw: str, expected: str | None) -> None:
    assert _na(normalize_device(S(raw)).iloc[0]) == expected


@pytest.mark.parametrize("raw", ["00000000-0000-0000-0000-000000000000", "null", "undefined"])
def test_device_junk(raw: str) -> None:
    assert normalize_device_with_status(S(raw)).status[0] == Status.JUNK


@pytest.mark.parametrize(
    ("raw", "expected", "status"),
    [
        (" abc-123 ", "abc-123", Status.OK),
        ("AbC", "AbC", Status.OK),  # opaque ids keep their case
        ("null", None, Status.JUNK),
        ("NULL", None, Status.JUNK),
        ("undefined", None, Status.JUNK),
        ("None", None, Status.JUNK),
        ("0", None, Status.JUNK),
        ("", None, Status.MISSING),
        (None, None, Status.MISSING),
    ],
)
def test_cookie_and_account(raw: str | None, expected: str | None, status: Status) -> None:
    result = normalize_id_with_status(S(raw))
    assert (_na(result.values.iloc[0]), result.status[0]) == (expected, status)
    assert _na(normalize_id(S(raw)).iloc[0]) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("fid 0012 3456", "FID00123456"), (" ab-12 ", "AB-12"), ("0000", None), ("null", None)],
)
def test_loyalty(raw: str, expected: str | None) -> None:
    assert _na(normalize_loyalty(S(raw)).iloc[0]) == expected


def test_loyalty_all_zeros_is_junk() -> None:
    assert normalize_loyalty_with_status(S("000 000")).status[0] == Status.JUNK


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.168.1.10", "192.168.1.10"),
        (" 88.12.4.200 ", "88.12.4.200"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("256.1.1.1", None),
        ("1.2.3", None),
        ("hello", None),
    ],
)
def test_ip(raw: str, expected: str | None) -> None:
    assert _na(normalize_ip(S(raw)).iloc[0]) == expected


@pytest.mark.parametrize("raw", ["0.0.0.0", "127.0.0.1", "::1", "255.255.255.255"])
def test_ip_junk(raw: str) -> None:
    assert normalize_ip_with_status(S(raw)).status[0] == Status.JUNK


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" 1234567890 ", "1234567890"), ("1234567890.0", "1234567890"), ("abc", None),
     ("0", None), ("null", None)],
)
def test_twitter_id(raw: str, expected: str | None) -> None:
    assert _na(normalize_twitter_id(S(raw)).iloc[0]) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("@Marie_Dupont", "marie_dupont"), ("marie_dupont", "marie_dupont"),
     (" @@MarieD ", "maried"), ("https://twitter.com/MarieD", "maried"),
     ("x.com/MarieD/", "maried"), ("marie dupont", None), ("@", None)],
)
def test_handle(raw: str, expected: str | None) -> None:
    assert _na(normalize_handle(S(raw)).iloc[0]) == expected
