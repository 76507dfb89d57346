"""Birth dates to ISO, by format class, French day-first."""

from __future__ import annotations

import pandas as pd
import pytest

from cxid.normalize.dates import normalize_date, normalize_date_with_status
from cxid.normalize.names import Status

TODAY = pd.Timestamp("2025-06-01")


def _one(raw: str, **kwargs) -> object:
    out = normalize_date(pd.Series([raw], dtype="string"), today=TODAY, **kwargs).iloc[0]
    return None if pd.isna(out) else out


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1985-03-07", "1985-03-07"),
        ("07/03/1985", "1985-03-07"),
        ("7/3/1985", "1985-03-07"),
        ("07-03-1985", "1985-03-07"),
        ("07.03.1985", "1985-03-07"),
        ("19850307", "1985-03-07"),
        ("1985/03/07", "1985-03-07"),
        ("7 mars 1985", "1985-03-07"),
        ("1er février 1990", "1990-02-01"),
        ("12 DÉCEMBRE 1970", "1970-12-12"),
        ("7 sept. 1985", "1985-09-07"),
        ("March 7, 1985", "1985-03-07"),
        ("1985-03-07T00:00:00Z", "1985-03-07"),
        ("1985-03-07T23:30:00+02:00", "1985-03-07"),
        ("1985-03-07 00:00:00", "1985-03-07"),
        ("07/03/1985 00:00", "1985-03-07"),
        ("03/25/1985", "1985-03-25"),  # only the month-first reading is a date
        ("07/03/85", "1985-03-07"),
        ("03/07", "--03-07"),  # Mailchimp birthday, month first
        ("12/25", "--12-25"),
        ("02/29", "--02-29"),
        ("--03-07", "--03-07"),
        ("2000-02-29", "2000-02-29"),
    ],
)
def test_parses(raw: str, expected: str) -> None:
    assert _one(raw) == expected


def test_month_first_option() -> None:
    assert _one("03/07/1985", dayfirst=False) == "1985-03-07"
    assert _one("03/07/1985") == "1985-07-03"


@pytest.mark.parametrize(
    "raw", ["31/02/1985", "1985-13-01", "2030-01-01", "02/06/2025",
            "1850-05-01", "13/25", "1999-02-29", "bientôt", "32/01/1985", "1985-03"],
)
def test_invalid(raw: str) -> None:
    result = normalize_date_with_status(pd.Series([raw], dtype="string"), today=TODAY)
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.INVALID


@pytest.mark.parametrize(
    "raw", ["01/01/1900", "1900-01-01", "1970-01-01", "0000-00-00", "00/00/0000"]
)
def test_junk(raw: str) -> None:
    result = normalize_date_with_status(pd.Series([raw], dtype="string"), today=TODAY)
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.JUNK


def test_datetime_column_and_missing() -> None:
    s = pd.Series(pd.to_datetime(["1985-03-07", None]))
    result = normalize_date_with_status(s, today=TODAY)
    assert result.values.iloc[0] == "1985-03-07"
    assert list(result.status) == [Status.OK, Status.MISSING]


def test_today_boundary() -> None:
    assert _one("2025-06-01") == "2025-06-01"
    assert _one("2025-06-02") is None
