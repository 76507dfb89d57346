"""CSV and parquet readers: beacon, esp, crm, tabular, and the CSV handling they share
(encodings, delimiters, gzip, header checks)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxid.errors import ConfigError, IngestError
from cxid.ingest import check_source, read_source

BEACON_HEADER = "sighting_id,timestamp,store_id,beacon_uuid,major,minor,device_id,rssi,app_user_id\n"
CRM_HEADER = (
    "customer_id,email,phone,first_name,last_name,birth_date,street,postcode,city,country,"
    "loyalty_id,created_at\n"
)


def test_beacon_gzip_keeps_zero_device_id(tmp_path: Path) -> None:
    path = tmp_path / "sightings.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(
            BEACON_HEADER
            + "S-1,2024-03-06T10:15:02+01:00,ST-LYON-01,f7826da6-4fa2-4e98-8024-bc5b71e0893e,"
            "1,7,00000000-0000-0000-0000-000000000000,-67,C0042\n"
            "S-2,06/03/2024 10:16,ST-LYON-01,f7826da6-4fa2-4e98-8024-bc5b71e0893e,1,7,"
            "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f,-70,\n"
        )
    tp = read_source("beacon", path).touchpoints
    assert list(tp["record_id"]) == ["S-1", "S-2"]
    assert tp.loc[0, "device_id"] == "00000000-0000-0000-0000-000000000000"
    assert tp.loc[0, "account_id"] == "C0042"
    assert tp.loc[0, "store_id"] == "ST-LYON-01"
    assert pd.isna(tp.loc[1, "account_id"])
    assert tp.loc[0, "observed_at"] == pd.Timestamp("2024-03-06 09:15:02", tz="UTC")


def test_beacon_missing_id_bad_timestamp_and_short_row(tmp_path: Path) -> None:
    path = tmp_path / "sightings.csv"
    path.write_text(
        BEACON_HEADER
        + ",2024-03-06 10:15:02,ST-1,u,1,7,dev-a,-67,\n"
        + "S-2,31/02/2024 25:99,ST-1,u,1,7,dev-b,-67,\n"
        + "S-3,2024-03-06 10:17:00,ST-1\n"
        + "S-4,2024-03-06 10:18:00,ST-1,u,1,7,dev-d,-60,\n",
        encoding="utf-8",
    )
    result = read_source("beacon", path)
    assert list(result.touchpoints["record_id"]) == ["S-4"]
    assert list(result.touchpoints["line"]) == [4]
    rej = result.rejected
    assert list(rej["line"]) == [1, 2, 3]
    assert list(rej["reason"]) == [
        "missing sighting_id",
        "unparseable timestamp '31/02/2024 25:99'",
        "expected 9 fields, found 3",
    ]
    assert rej.loc[2, "raw"] == "S-3,2024-03-06 10:17:00,ST-1"


def test_esp_french_cp1252_semicolon_export_with_mapping(tmp_path: Path) -> None:
    path = tmp_path / "export_audience.csv"
    path.write_bytes(
        (
            "Adresse e-mail;Prénom;Nom;Adresse;Téléphone;Anniversaire;OPTIN_TIME;MEMBER_RATING\n"
            "elodie.lefevre@orange.fr;Élodie;Lefèvre;12 rue de la Paix  Lyon  69002 FR;"
            "06 12 34 56 78;04/12;2023-05-01 10:12:44;2\n"
            "   ;Anaïs;Dupré;;;;2023-05-02 08:00:00;1\n"
            "francois.muller@free.fr;François;Müller;;;;;3\n"
        ).encode("cp1252")
    )
    mapping = {"Email Address": "Adresse e-mail", "First Name": "Prénom", "Last Name": "Nom",
               "Address": "Adresse", "Phone Number": "Téléphone", "Birthday": "Anniversaire"}
    result = read_source("esp", path, mapping=mapping)
    tp = result.touchpoints
    assert list(tp["record_id"]) == ["1", "3"]
    assert tp.loc[0, "first_name"] == "Élodie"
    assert tp.loc[0, "last_name"] == "Lefèvre"
    assert tp.loc[1, "last_name"] == "Müller"
    assert tp.loc[0, "address"] == "12 rue de la Paix  Lyon  69002 FR"
    assert tp.loc[0, "phone"] == "06 12 34 56 78"
    assert tp.loc[0, "birth_date"] == "04/12"
    assert pd.isna(tp.loc[1, "observed_at"])
    assert list(result.rejected["reason"]) == ["missing Adresse e-mail"]
    assert result.rejected.loc[0, "record_id"] == "2"


def test_esp_default_headers_and_missing_email_reason(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        "\ufeffEmail Address,First Name,Last Name,Address,Phone Number,Birthday,OPTIN_TIME\n"
        "anais.dupre@laposte.net,Anaïs,Dupré,,,,2023-05-02 08:00:00\n"
        ",Sans,Adresse,,,,\n",
        encoding="utf-8",
    )
    result = read_source("esp", path)
    assert result.touchpoints.loc[0, "email"] == "anais.dupre@laposte.net"
    assert list(result.rejected["reason"]) == ["missing Email Address"]


def test_crm_tab_separated_utf8_bom_and_day_first_dates(tmp_path: Path) -> None:
    rows = [
        CRM_HEADER.replace(",", "\t"),
        "C1\télodie.lefevre@orange.fr\t06 12 34 56 78\tÉlodie\tLefèvre\t12/04/1988\t"
        "12 rue de la Paix\t69002\tLyon\tFR\tLOY-1\t25/12/2023\n",
        "C2\tfrancois.muller@free.fr\t\tFrançois\tMüller\t\t\t75011\tParis\tFR\t\t05/03/2024\n",
    ]
    path = tmp_path / "clients.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(rows).encode("utf-8"))
    tp = read_source("crm", path).touchpoints
    assert list(tp["record_id"]) == ["C1", "C2"]
    assert list(tp["account_id"]) == ["C1", "C2"]
    assert tp.loc[0, "loyalty_id"] == "LOY-1"
    assert tp.loc[0, "first_name"] == "Élodie"
    assert tp.loc[0, "birth_date"] == "12/04/1988"  # kept raw
    assert list(tp["observed_at"]) == [
        pd.Timestamp("2023-12-25", tz="UTC"), pd.Timestamp("2024-03-05", tz="UTC")]


def test_crm_parquet_with_typed_columns(tmp_path: Path) -> None:
    path = tmp_path / "customers.parquet"
    table = pa.table({
        "customer_id": pa.array([1001, 1002, None], pa.int64()),
        "email": ["elodie.lefevre@orange.fr", None, "sans.id@free.fr"],
        "postcode": pa.array([69002.0, None, 75011.0]),
        "created_at": pa.array(pd.to_datetime(["2021-01-01 10:00", None, "2022-02-02 00:00"]).tz_localize("UTC")),
    })
    pq.write_table(table, path)
    result = read_source("crm", path)
    tp = result.touchpoints
    assert list(tp["record_id"]) == ["1001", "1002"]
    assert tp.loc[0, "postcode"] == "69002"
    assert tp.loc[0, "observed_at"] == pd.Timestamp("2021-01-01 10:00", tz="UTC")
    assert list(result.rejected["reason"]) == ["missing customer_id"]


def test_header_only_gives_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CRM_HEADER, encoding="utf-8")
    result = read_source("crm", path)
    assert len(result.touchpoints) == 0 and len(result.rejected) == 0
    assert "email" in result.touchpoints.columns


def test_header_check_lists_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id_client;courriel;prenom\nC1;a@b.fr;Zoé\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        check_source("crm", path, mapping={"email": "mail", "Prénom": "prenom",
                                           "first_name": "given"})
    message = str(info.value)
    for expected in ("'mail'", "'Prénom'", "'given'", "'customer_id'"):
        assert expected in message
    assert len(info.value.problems) == 4
    # with the right mapping the same file passes and reads
    mapping = {"customer_id": "id_client", "email": "courriel", "first_name": "prenom"}
    check_source("crm", path, mapping=mapping)
    tp = read_source("crm", path, mapping=mapping).touchpoints
    assert (tp.loc[0, "record_id"], tp.loc[0, "email"], tp.loc[0, "first_name"]) == (
        "C1", "a@b.fr", "Zoé")


def test_undecodable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b"customer_id,email\nC1,\x81\x8d\x8f\x90@x.fr\n")
    with pytest.raises(IngestError) as info:
        read_source("crm", path)
    assert str(path) in str(info.value)


def test_tabular_febrl_mapping_join_extras_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "febrl.csv"
    path.write_text(
        "rec_id, given_name, surname, street_number, address_1, suburb, postcode, soc_sec_id\n"
        "rec-0-org, élodie, lefèvre, 12, rue de la paix, lyon, 69002, 5304218\n"
        "rec-0-dup-0, elodie, lefevre, , rue de la paix, lyon, 69002, 5304218\n"
        ", anaïs, dupré, 3, avenue foch, paris, 75016, 7203311\n",
        encoding="utf-8",
    )
    mapping = {"first_name": "given_name", "last_name": "surname",
               "street": ["street_number", "address_1"], "city": "suburb",
               "postcode": "postcode", "x_soc_sec_id": "soc_sec_id"}
    result = read_source("tabular", path, source="febrl", mapping=mapping, id_column="rec_id")
    tp = result.touchpoints
    assert list(tp["record_id"]) == ["rec-0-org", "rec-0-dup-0"]
    assert list(tp["street"]) == ["12 rue de la paix", "rue de la paix"]
    assert list(tp["x_soc_sec_id"]) == ["5304218", "5304218"]
    assert isinstance(tp["x_soc_sec_id"].dtype, pd.StringDtype)
    assert tp.loc[0, "first_name"] == "élodie"
    assert list(result.rejected["reason"]) == ["missing rec_id"]

    by_row = read_source("tabular", path, mapping=mapping).touchpoints
    assert list(by_row["record_id"]) == ["1", "2", "3"]


def test_tabular_requires_a_known_mapping(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("nom,prenom\nDupré,Anaïs\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping is required"):
        check_source("tabular", path)
    with pytest.raises(ConfigError) as info:
        check_source("tabular", path, mapping={"surname": "nom", "x_": "prenom"})
    assert "'surname'" in str(info.value) and "'x_'" in str(info.value)
