"""The contract every source reader must honour, checked on one small real-shaped file
per reader that mixes good records with bad ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxid import schema
from cxid.ingest import NORMALISED_KINDS, READERS, read_source


def _web(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    events = [
        {"messageId": "msg-001", "type": "identify", "anonymousId": "ck-9f2a",
         "userId": "C0001", "timestamp": "2024-03-05T14:02:11.123Z",
         "traits": {"email": "elodie.lefevre@orange.fr", "firstName": "Élodie",
                    "lastName": "Lefèvre"}},
        {"messageId": "msg-002", "type": "page", "anonymousId": "ck-9f2a",
         "timestamp": "2024-03-05T14:03:00Z", "context": {"ip": "90.12.4.7"}},
    ]
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    lines.insert(1, '{"messageId": "msg-bad", "type": "page", "anonym')  # truncated
    path = tmp / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, {}, 3


def _beacon(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    path = tmp / "sightings.csv"
    path.write_text(
        "sighting_id,timestamp,store_id,beacon_uuid,major,minor,device_id,rssi,app_user_id\n"
        "s1,2024-03-06 10:15:02,ST-LYON-01,f7826da6-4fa2-4e98-8024-bc5b71e0893e,1,7,"
        "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f,-67,C0001\n"
        "s2,2024-03-06 10:16:40,ST-LYON-01,f7826da6\n"
        ",2024-03-06 10:17:00,ST-LYON-01,f7826da6-4fa2-4e98-8024-bc5b71e0893e,1,7,"
        "00000000-0000-0000-0000-000000000000,-80,\n"
        "s4,2024-03-06 10:18:00,ST-PARIS-02,f7826da6-4fa2-4e98-8024-bc5b71e0893e,2,3,"
        "00000000-0000-0000-0000-000000000000,-71,\n",
        encoding="utf-8",
    )
    return path, {}, 4


def _twitter(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    body = {"data": [
        {"id": "1456789012345678901", "username": "elodie_lfv", "name": "Élodie Lefèvre",
         "location": "Lyon, France", "created_at": "2015-06-01T09:30:00.000Z",
         "description": "Fan de cuisine. Pro : elodie.lefevre@orange.fr"},
        {"username": "sans_id", "name": "Sans Identifiant"},
        "garbage",
        {"id": "2001", "username": "francois_m", "name": "François Müller"},
    ]}
    path = tmp / "users.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path, {}, 4


def _email(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    path = tmp / "inbox.mbox"
    path.write_bytes(
        b"From elodie@orange.fr Tue Mar  5 14:02:11 2024\n"
        b"From: =?utf-8?q?=C3=89lodie_Lef=C3=A8vre?= <elodie.lefevre@orange.fr>\n"
        b"Date: Tue, 05 Mar 2024 14:02:11 +0100\n"
        b"Message-ID: <a1@orange.fr>\n"
        b"Subject: Commande\n\n"
        b"Bonjour,\nMa commande n'est pas arrivee.\n-- \nElodie\n06 12 34 56 78\n\n"
        b"From nobody Tue Mar  5 15:00:00 2024\n"
        b"From: Sans Id <sans.id@free.fr>\n"
        b"Date: Tue, 05 Mar 2024 15:00:00 +0100\n\n"
        b"Pas de Message-ID.\n\n"
        b"From francois@free.fr Wed Mar  6 09:00:00 2024\n"
        b"From: =?iso-8859-1?q?Fran=E7ois_M=FCller?= <francois.muller@free.fr>\n"
        b"Date: le six mars\n"
        b"Message-ID: <b2@free.fr>\n\n"
        b"Date illisible.\n"
    )
    return path, {}, 3


def _esp(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    path = tmp / "audience.csv"
    path.write_text(
        "Email Address,First Name,Last Name,Address,Phone Number,Birthday,OPTIN_TIME\n"
        "elodie.lefevre@orange.fr,Élodie,Lefèvre,\"12 rue de la Paix  Lyon  69002 FR\","
        "06 12 34 56 78,03/14,2023-05-01 10:12:44\n"
        ",Anaïs,Dupré,,,,2023-05-02 08:00:00\n"
        "francois.muller@free.fr,François,Müller,,,,pas une date\n",
        encoding="utf-8",
    )
    return path, {}, 3


def _crm(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    path = tmp / "customers.csv"
    path.write_text(
        "customer_id,email,phone,first_name,last_name,birth_date,street,postcode,city,"
        "country,loyalty_id,created_at\n"
        "C0001,elodie.lefevre@orange.fr,06 12 34 56 78,Élodie,Lefèvre,1988-04-12,"
        "12 rue de la Paix,69002,Lyon,FR,LOY-778812,2019-02-03\n"
        ",anais.dupre@laposte.net,,Anaïs,Dupré,,,,,,,2020-01-01\n"
        "C0001,doublon@laposte.net,,Élodie,Lefèvre,,,,,,,2020-01-02\n"
        "C0003,francois.muller@free.fr,,François,Müller,1975-11-30,,75011,Paris,FR,,"
        "2021-07-14T08:00:00Z\n",
        encoding="utf-8",
    )
    return path, {}, 4


def _tabular(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    path = tmp / "febrl.csv"
    path.write_text(
        "rec_id,given_name,surname,street_number,address_1,suburb,postcode,state,"
        "date_of_birth,soc_sec_id\n"
        "rec-1-org,élodie,lefèvre,12,rue de la paix,lyon,69002,ara,19880412,5304218\n"
        "rec-2-org,françois,müller\n"
        "rec-3-org,anaïs,dupré,,avenue foch,paris,75016,idf,19900101,7203311\n",
        encoding="utf-8",
    )
    mapping = {"first_name": "given_name", "last_name": "surname",
               "street": ["street_number", "address_1"], "city": "suburb",
               "postcode": "postcode", "birth_date": "date_of_birth",
               "x_soc_sec_id": "soc_sec_id"}
    return path, {"mapping": mapping, "id_column": "rec_id"}, 3


def _touchpoints(tmp: Path) -> tuple[Path, dict[str, Any], int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp / "touchpoints.parquet"
    pq.write_table(pa.table({  # normalised touchpoints (no file or line: filled in)
        "source": ["touchpoints_src"] * 4,
        "record_id": ["C0001", None, "C0002", "C0001"],
        "email": ["Elodie.Lefevre@Orange.fr", "a@b.fr", None, "doublon@laposte.net"],
        "email_norm": ["elodie.lefevre@orange.fr", "a@b.fr", None, "doublon@laposte.net"],
    }), path)
    return path, {}, 4


SAMPLES: dict[str, Callable[[Path], tuple[Path, dict[str, Any], int]]] = {
    "web": _web,
    "beacon": _beacon,
    "twitter": _twitter,
    "email": _email,
    "esp": _esp,
    "crm": _crm,
    "tabular": _tabular,
    "touchpoints": _touchpoints,
}


def test_every_reader_has_a_contract_sample() -> None:
    assert set(SAMPLES) == set(READERS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_reader_contract(kind: str, tmp_path: Path) -> None:
    path, options, n_records = SAMPLES[kind](tmp_path)
    result = read_source(kind, path, source=f"{kind}_src", **options)

    assert isinstance(result, schema.ReadResult)
    tp, rej = result.touchpoints, result.rejected
    canonical = list(schema.TOUCHPOINT_COLUMNS)
    assert list(tp.columns[: len(canonical)]) == canonical
    # then x_ extras (and the *_norm columns of a kind read normalised already)
    assert all(str(c).startswith(schema.EXTRA_PREFIX)
               or (kind in NORMALISED_KINDS and c in schema.NORM_COLUMNS)
               for c in tp.columns[len(canonical):])
    for name in canonical:
        if name == "line":
            assert tp[name].dtype == "Int64"
        elif name == "observed_at":
            assert isinstance(tp[name].dtype, pd.DatetimeTZDtype)
            assert str(tp[name].dtype.tz) == "UTC"
        else:
            assert isinstance(tp[name].dtype, pd.StringDtype), name
    assert list(rej.columns) == list(schema.REJECTED_COLUMNS)
    assert rej["line"].dtype == "Int64"

    for name in ("source", "record_id", "file", "line"):
        assert tp[name].notna().all(), name
    assert (tp["source"] == f"{kind}_src").all()
    assert (rej["source"] == f"{kind}_src").all()
    assert (tp["file"] == str(path)).all()
    assert tp["record_id"].is_unique

    # every input record is counted exactly once, in touchpoints or in rejected
    assert len(tp) + len(rej) == n_records
    assert sorted([*tp["line"], *rej["line"]]) == list(range(1, n_records + 1))

    # the bad records are rejected with a reason, and the good ones are kept
    assert len(rej) >= 1 and len(tp) >= 1
    assert rej["reason"].notna().all() and (rej["reason"].str.len() > 0).all()
    assert rej["raw"].notna().all()
    assert (rej["raw"].str.len() <= 500).all()

    # raw values are kept as found, only trimmed: no empty strings anywhere
    strings = tp.select_dtypes("string")
    assert not (strings == "").any().any()


def test_zoned_iso_timestamps_take_arrows_parser_with_pandas_results():
    """Columns of zoned ISO 8601 values are parsed by Arrow; the result must be what
    pandas' ISO 8601 parser gives. Any other value sends the column to pandas."""
    import pandas as pd

    import cxid.ingest._common as common

    zoned = ["2025-04-01T00:00:07.086Z", "2025-04-01T07:03:59+02:00", None,
             "2025-04-01T07:03:59.123456789Z", "2025-04-01T07:03Z", "1999-12-31T23:59:59-05:30"]
    for dtype in ("string", "string[pyarrow]", object):
        raw = pd.Series(zoned, dtype=dtype)
        fast = common._arrow_iso_utc(raw)
        assert fast is not None
        pd.testing.assert_series_equal(
            fast, pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601"))
        pd.testing.assert_series_equal(common.parse_timestamps(raw), fast)
    for other in ("2025-04-01T07:03:59", "2025-04-01", "25/12/2023 10:00", "hier"):
        raw = pd.Series([zoned[0], other], dtype="string")
        assert common._arrow_iso_utc(raw) is None
    day_first = common.parse_timestamps(pd.Series([zoned[0], "25/12/2023"], dtype="string"))
    assert str(day_first[1].date()) == "2023-12-25"
