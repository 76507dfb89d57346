"""Phone normalisation to E.164 with phonenumbers, once per distinct value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from cxid.normalize import phone as phone_module
from cxid.normalize.names import Status
from cxid.normalize.phone import clean_phone, normalize_phone, normalize_phone_with_status


@pytest.mark.parametrize(
    "raw",
    ["06 11 22 33 44", "06.11.22.33.44", "06-11-22-33-44", "0611223344",
     "+33 (0)6 11 22 33 44", "+33 6 11 22 33 44", "+33611223344", "0033611223344",
     "0033 (0)6 11 22 33 44", "33611223344", "611223344", " 06 11 22 33 44 ",
     "06 11 22 33 44 / 01 45 67 89 12", "06 11 22 33 44 poste 12"],
)
def test_french_mobile_forms(raw: str) -> None:
    assert normalize_phone(pd.Series([raw], dtype="string")).iloc[0] == "+33611223344"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("01 45 67 89 12", "FR", "+33145678912"),
        ("0606060606", "FR", "+33606060606"),
        ("+32 470 12 34 56", "FR", "+32470123456"),
        ("0470 12 34 56", "BE", "+32470123456"),
        ("+44 20 7946 0958", "FR", "+442079460958"),
        ("06 92 50 38 12", "FR", "+262692503812"),  # Réunion mobile, mainland style
        ("+33 6 92 50 38 12", "FR", "+262692503812"),
        ("+262 692 50 38 12", "FR", "+262692503812"),
        ("06 96 72 14 45", "FR", "+596696721445"),  # Martinique
        ("0590 12 34 56", "FR", "+590590123456"),  # Guadeloupe landline
    ],
)
def test_regions(raw: str, region: str, expected: str) -> None:
    out = normalize_phone(pd.Series([raw], dtype="string"), default_region=region)
    assert out.iloc[0] == expected


@pytest.mark.parametrize(
    "raw",
    ["0000000000", "1111111111", "0123456789", "0612345678", "06 12 34 56 78",
     "+33 6 12 34 56 78", "0600000000", "N/A", "pas de téléphone", "00 00 00 00 00"],
)
def test_junk(raw: str) -> None:
    result = normalize_phone_with_status(pd.Series([raw], dtype="string"))
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.JUNK


@pytest.mark.parametrize("raw", ["12", "06 11 22 33", "+33 6 11 22 33 44 55 66", "0711223344"])
def test_invalid(raw: str) -> None:
    result = normalize_phone_with_status(pd.Series([raw], dtype="string"))
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.INVALID


def test_number_read_as_float() -> None:
    s = pd.Series([611223344.0, None]).astype("string")
    assert normalize_phone(s).tolist()[0] == "+33611223344"


def test_clean_phone_is_vectorised_text_cleaning() -> None:
    s = pd.Series(["+33 (0)6 11 22 33 44", "0033611223344", "06.11.22.33.44 ext 5", "abc"],
                  dtype="string")
    assert clean_phone(s).tolist() == ["+33611223344", "+33611223344", "0611223344", ""]


def test_parser_called_once_per_distinct_cleaned_value(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None, *args, **kwargs):
        calls.append(number)
        return real_parse(number, region, *args, **kwargs)

    monkeypatch.setattr(phone_module.phonenumbers, "parse", counting_parse)
    rng = np.random.default_rng(7)
    # Belgian mobiles: not French, so every one goes through phonenumbers.parse.
    distinct = [f"+32 470 {i // 100 % 100:02d} {i % 100:02d} 1{i % 10}" for i in range(2000)]
    # Same numbers in a second spelling: cleaned to the same digits, parsed once.
    distinct += [d.replace(" ", ".") for d in distinct[:500]]
    rows = pd.Series(distinct, dtype="string").take(rng.integers(0, len(distinct), 200_000))
    out = normalize_phone(rows.reset_index(drop=True))
    assert len(out) == 200_000
    assert len(calls) == len(set(calls)) <= 2000
    assert len(calls) == clean_phone(pd.Series(distinct, dtype="string")).nunique()
    assert out.notna().mean() > 0.9


def test_french_numbers_skip_the_parser_and_agree_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(11)
    national = [str(n) for n in rng.integers(100_000_000, 1_000_000_000, 3000)]
    # Every leading block, overseas departments (0692…, 0590…) and invalid ranges.
    national += [f"{p}{n % 1_000_000:06d}" for p in range(100, 1000, 7)
                 for n in rng.integers(0, 1_000_000, 3)]
    raw = [("0" if i % 2 else "+33") + n for i, n in enumerate(national)]
    expected = [phone_module._e164(v, "FR") for v in raw]

    calls = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None, *args, **kwargs):
        calls.append(number)
        return real_parse(number, region, *args, **kwargs)

    monkeypatch.setattr(phone_module.phonenumbers, "parse", counting_parse)
    out = normalize_phone(pd.Series(raw, dtype="string"))
    assert [None if pd.isna(v) else v for v in out] == expected
    assert calls == []
    assert any(v and v.startswith("+262") for v in expected)
