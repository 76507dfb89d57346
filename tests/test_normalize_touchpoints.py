"""normalize_touchpoints: the schema contract, the report, extras and scale."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from cxid.normalize import (
    COUNT_KEYS,
    NormalizationReport,
    normalize_extra,
    normalize_touchpoints,
)
from cxid.normalize import phone as phone_module
from cxid.progress import Progress
from cxid.schema import NORM_COLUMNS, conform_touchpoints, empty_touchpoints

RECORDS = [
    {   # CRM
        "source": "crm", "record_id": "1", "account_id": " C001 ", "loyalty_id": "fid 123",
        "email": "Marie.Dupont+promo@GoogleMail.com", "phone": "06 11 22 33 44",
        "first_name": "Mme Marie-Hélène", "last_name": "DE LA FONTAINE",
        "birth_date": "07/03/1985", "street": "3 av. Foch", "postcode": "6000",
        "city": "Nice", "country": "France", "x_segment": "  Gold  Élite ",
    },
    {   # ESP export: one free-text address, placeholders
        "source": "esp", "record_id": "2", "email": "test@test.com", "phone": "0000000000",
        "full_name": "DUPONT Jean-Pierre", "birth_date": "03/07",
        "address": "12 rue de la Paix, 75002 Paris", "x_segment": None,
    },
    {   # Twitter
        "source": "twitter", "record_id": "3", "twitter_id": "123456789",
        "twitter_handle": "@Marie_D", "full_name": "Marie D. 🌸", "city": "Lyon, France",
    },
    {   # web + beacon
        "source": "web", "record_id": "4", "cookie_id": "undefined",
        "device_id": "00000000-0000-0000-0000-000000000000", "ip": "88.12.4.200",
        "first_name": "N/A", "birth_date": "31/02/1985", "reply_to": "jean@free.fr",
    },
]


@pytest.fixture
def touchpoints() -> pd.DataFrame:
    return conform_touchpoints(pd.DataFrame(RECORDS))


def _na(value: object) -> object:
    return None if pd.isna(value) else value


def test_adds_every_norm_column_as_string(touchpoints: pd.DataFrame) -> None:
    out, _ = normalize_touchpoints(touchpoints)
    for name in NORM_COLUMNS:
        assert name in out.columns
        assert isinstance(out[name].dtype, pd.StringDtype), name
    assert list(out.columns[: len(touchpoints.columns)]) == list(touchpoints.columns)
    assert out.columns[-1] == "x_segment_norm"


def test_values(touchpoints: pd.DataFrame) -> None:
    out, _ = normalize_touchpoints(touchpoints)
    rows = [{k: _na(v) for k, v in row.items()} for row in out.to_dict("records")]
    crm, esp, twitter, web = rows
    assert {k: crm[k] for k in (
        "account_norm", "loyalty_norm", "email_norm", "email_local_norm", "phone_norm",
        "first_name_norm", "last_name_norm", "birth_date_norm", "street_norm",
        "postcode_norm", "city_norm", "country_norm", "x_segment_norm")} == {
        "account_norm": "C001", "loyalty_norm": "FID123",
        "email_norm": "mariedupont@gmail.com", "email_local_norm": "mariedupont",
        "phone_norm": "+33611223344", "first_name_norm": "marie helene",
        "last_name_norm": "de la fontaine", "birth_date_norm": "1985-03-07",
        "street_norm": "3 avenue foch", "postcode_norm": "06000", "city_norm": "nice",
        "country_norm": "FR", "x_segment_norm": "gold elite",
    }
    assert (esp["email_norm"], esp["phone_norm"]) == (None, None)
    assert (esp["first_name_norm"], esp["last_name_norm"]) == ("jean pierre", "dupont")
    assert esp["birth_date_norm"] == "--03-07"
    assert (esp["street_norm"], esp["postcode_norm"], esp["city_norm"], esp["country_norm"]) \
        == ("12 rue de la paix", "75002", "paris", "FR")
    assert (twitter["twitter_norm"], twitter["handle_norm"]) == ("123456789", "marie_d")
    assert (twitter["first_name_norm"], twitter["last_name_norm"]) == ("marie", "d")
    assert (twitter["city_norm"], twitter["country_norm"]) == ("lyon", None)
    assert (web["cookie_norm"], web["device_norm"], web["ip_norm"]) == (
        None, None, "88.12.4.200")
    assert (web["first_name_norm"], web["birth_date_norm"]) == (None, None)
    assert web["reply_to_norm"] == "jean@free.fr"


def test_report_counts(touchpoints: pd.DataFrame) -> None:
    _, report = normalize_touchpoints(touchpoints)
    assert isinstance(report, NormalizationReport)
    assert report.rows == 4
    c = report.columns
    assert c["email_norm"] == {"present": 2, "normalised": 1, "invalid": 0, "junk": 1}
    assert c["phone_norm"] == {"present": 2, "normalised": 1, "invalid": 0, "junk": 1}
    assert c["device_norm"] == {"present": 1, "normalised": 0, "invalid": 0, "junk": 1}
    assert c["cookie_norm"] == {"present": 1, "normalised": 0, "invalid": 0, "junk": 1}
    assert c["birth_date_norm"] == {"present": 3, "normalised": 2, "invalid": 1, "junk": 0}
    # full_name fills first/last for the ESP and Twitter rows; "N/A" stays junk.
    assert c["first_name_norm"] == {"present": 4, "normalised": 3, "invalid": 0, "junk": 1}
    assert c["x_segment_norm"]["normalised"] == 1
    for counts in c.values():
        assert counts["present"] == counts["normalised"] + counts["invalid"] + counts["junk"]
        assert set(counts) == set(COUNT_KEYS)
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert set(as_dict["columns"]) == {*NORM_COLUMNS, "x_segment_norm"}


def test_report_is_frozen(touchpoints: pd.DataFrame) -> None:
    _, report = normalize_touchpoints(touchpoints)
    with pytest.raises(AttributeError):
        report.rows = 0  # type: ignore[misc]


def test_input_not_modified(touchpoints: pd.DataFrame) -> None:
    before = touchpoints.copy()
    normalize_touchpoints(touchpoints)
    pd.testing.assert_frame_equal(touchpoints, before)


def test_missing_columns_and_empty_frame() -> None:
    out, report = normalize_touchpoints(pd.DataFrame({"email": ["ab@x.fr"]}))
    assert out["email_norm"].tolist() == ["ab@x.fr"]
    assert out["phone_norm"].isna().all()
    out, report = normalize_touchpoints(empty_touchpoints())
    assert len(out) == 0 and set(NORM_COLUMNS) <= set(out.columns)
    assert report.columns["email_norm"]["present"] == 0


def test_default_region(touchpoints: pd.DataFrame) -> None:
    frame = pd.DataFrame({"phone": ["0470 12 34 56"], "postcode": ["75002"]}, dtype="string")
    out, _ = normalize_touchpoints(frame, default_region="BE")
    assert out["phone_norm"].iloc[0] == "+32470123456"
    assert pd.isna(out["country_norm"].iloc[0])


def test_progress_and_logs_carry_no_values(
    touchpoints: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    updates: list[tuple[str, int, int | None]] = []

    class Recorder(Progress):
        def update(self, stage: str, done: int, total: int | None = None, unit: str = "") -> None:
            updates.append((stage, done, total))

    with caplog.at_level("DEBUG", logger="cxid.normalize"):
        normalize_touchpoints(touchpoints, progress=Recorder())
    assert updates[-1][1] == updates[-1][2]
    text = caplog.text.lower()
    assert "dupont" not in text and "gmail" not in text and "+336" not in text


def test_normalize_extra() -> None:
    out = normalize_extra(pd.Series(["  Élite  GOLD ", "", None], dtype="string"))
    assert [_na(v) for v in out] == ["elite gold", None, None]


def _letters(i: int) -> str:
    return "".join(chr(65 + (i // 26**p) % 26) for p in range(3))


def test_200k_rows_parse_each_distinct_phone_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None, *args, **kwargs):
        calls.append(number)
        return real_parse(number, region, *args, **kwargs)

    monkeypatch.setattr(phone_module.phonenumbers, "parse", counting_parse)
    rng = np.random.default_rng(3)
    k = 5000
    pool = pd.DataFrame({
        "email": [f"client.{i}+{i % 3}@gmail.com" for i in range(k)],
        # French numbers (settled without phonenumbers.parse) and Belgian ones (parsed).
        "phone": [f"06 {i // 100 % 100:02d} {i % 100:02d} 4{i % 10} 5{i % 7}" if i % 2
                  else f"+32 470 {i // 100 % 100:02d} {i % 100:02d} 4{i % 10}"
                  for i in range(k)],
        "full_name": [f"DUPONT{_letters(i)} Marie" for i in range(k)],
        "birth_date": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1950 + i % 50}" for i in range(k)],
        "city": [f"Paris {1 + i % 20}e" for i in range(k)],
    }, dtype="string")
    frame = pool.take(rng.integers(0, k, 200_000)).reset_index(drop=True)
    out, report = normalize_touchpoints(frame)
    assert len(out) == 200_000
    belgian = frame["phone"][frame["phone"].str.startswith("+32")]
    assert len(calls) == len(set(calls)) == belgian.nunique() > 0
    phones = report.columns["phone_norm"]
    assert phones["normalised"] == out["phone_norm"].notna().sum() > 190_000
    assert phones["present"] == 200_000
    assert out["city_norm"].eq("paris").all()
    assert out["last_name_norm"].str.startswith("dupont").all()
    assert out["first_name_norm"].eq("marie").all()


def test_columns_a_source_never_fills_stay_arrow_nulls_from_end_to_end(monkeypatch):
    """A beacon or web source leaves most columns empty: their normalised columns are
    built as Arrow nulls, never as one Python NA per row converted afterwards (which
    cost ~0.1 us per row and column, seconds at 10M rows)."""
    from cxid.normalize import names

    tp = conform_touchpoints(pd.DataFrame({"source": ["beacon"] * 3,
                                           "record_id": ["a", "b", "c"],
                                           "cookie_id": ["c-101", "c-102", None]}))
    seen = []
    real = names.on_distinct

    def spy(series, kernel):
        out = real(series, kernel)
        seen.append((series.name, out.values.array.dtype.storage))
        return out

    monkeypatch.setattr(names, "on_distinct", spy)
    monkeypatch.setattr("cxid.normalize.on_distinct", spy, raising=False)
    out, _ = normalize_touchpoints(tp)
    assert out["email_norm"].isna().all() and out["cookie_norm"].notna().sum() == 2
    assert all(storage == "pyarrow" for _, storage in seen), seen
    assert all(out[c].array.dtype.storage == "pyarrow" for c in NORM_COLUMNS)
