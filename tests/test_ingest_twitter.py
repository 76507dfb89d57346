"""Twitter reader: API v2 user objects as a response body or JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cxid.ingest import read_source

ELODIE = {
    "id": "1456789012345678901",
    "username": "elodie_lfv",
    "name": "Élodie Lefèvre 🌿",
    "location": "Lyon, France",
    "created_at": "2015-06-01T09:30:00.000Z",
    "description": "Cuisine & rando. Pro : Elodie.Lefevre@orange.fr / perso ailleurs@x.fr",
    "public_metrics": {"followers_count": 210},
}
FRANCOIS = {"id": "2001", "username": "francois_m", "name": "François Müller",
            "location": " ", "description": "Pas d'adresse ici."}


def test_response_body_maps_fields(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"data": [ELODIE, FRANCOIS], "meta": {"result_count": 2}},
                               ensure_ascii=False, indent=2), encoding="utf-8")
    tp = read_source("twitter", path).touchpoints
    row = tp.iloc[0]
    assert row["record_id"] == row["twitter_id"] == "1456789012345678901"
    assert row["twitter_handle"] == "elodie_lfv"
    assert row["full_name"] == "Élodie Lefèvre 🌿"
    assert row["city"] == "Lyon, France"
    assert row["email"] == "Elodie.Lefevre@orange.fr"  # first address in the bio
    assert row["observed_at"] == pd.Timestamp("2015-06-01 09:30", tz="UTC")
    assert pd.isna(tp.loc[1, "email"]) and pd.isna(tp.loc[1, "city"])
    assert list(tp["line"]) == [1, 2]


def test_json_lines_of_users_and_of_pages(tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    lines = [
        json.dumps(ELODIE, ensure_ascii=False),
        "{broken",
        json.dumps({"data": [FRANCOIS, {"username": "no_id"}]}, ensure_ascii=False),
        json.dumps({**ELODIE, "name": "doublon"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_source("twitter", path, source="x")
    assert list(result.touchpoints["record_id"]) == ["1456789012345678901", "2001"]
    assert list(result.touchpoints["line"]) == [1, 3]
    rej = result.rejected
    assert list(rej["line"]) == [2, 3, 4]
    assert rej.loc[0, "reason"].startswith("malformed JSON")
    assert list(rej["reason"][1:]) == ["missing id", "duplicate record_id"]


def test_mapping_overrides_a_path(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    user = {**ELODIE, "profile": {"contact": "contact@boutique-lyon.fr"}}
    path.write_text(json.dumps({"data": user}, ensure_ascii=False), encoding="utf-8")
    tp = read_source("twitter", path, mapping={"email": "profile.contact"}).touchpoints
    assert tp.loc[0, "email"] == "contact@boutique-lyon.fr"
    assert tp.loc[0, "twitter_id"] == "1456789012345678901"
