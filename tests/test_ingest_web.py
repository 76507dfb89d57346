"""Web reader: Segment-spec JSON Lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxid.errors import ConfigError
from cxid.ingest import check_source, read_source

IDENTIFY = {
    "messageId": "ajs-msg-1",
    "type": "identify",
    "anonymousId": "507f191e810c19729de860ea",
    "userId": "C0042",
    "timestamp": "2024-03-05T14:02:11.123+01:00",
    "traits": {
        "email": " Elodie.Lefevre@Orange.fr ",
        "firstName": "Élodie",
        "lastName": "Lefèvre",
        "phone": "",
        "birthday": "1988-04-12",
        "address": {"street": "12 rue de la Paix", "city": "Lyon", "postalCode": "69002",
                    "country": "FR"},
    },
    "context": {
        "ip": "90.12.4.7",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X)",
        "device": {"advertisingId": "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F"},
        "traits": {"email": "ancienne.adresse@free.fr", "phone": "06 12 34 56 78"},
    },
}
TRACK = {
    "messageId": "ajs-msg-2",
    "type": "track",
    "event": "Product Viewed",
    "anonymousId": "507f191e810c19729de860ea",
    "timestamp": "2024-03-05T14:05:00Z",
    "properties": {"sku": "CH-42", "price": 89.9},
    "context": {"traits": {"name": "François Müller"}},
}


def _write(path: Path, rows: list[Any]) -> Path:
    text = "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_identify_maps_traits_and_context(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.jsonl", [IDENTIFY, TRACK])
    tp = read_source("web", path).touchpoints
    first = tp.iloc[0]
    assert first["record_id"] == "ajs-msg-1"
    assert first["source"] == "web"
    assert first["cookie_id"] == "507f191e810c19729de860ea"
    assert first["account_id"] == "C0042"
    assert first["email"] == "Elodie.Lefevre@Orange.fr"  # traits win, only trimmed
    assert first["phone"] == "06 12 34 56 78"  # empty in traits: context.traits fills it
    assert (first["first_name"], first["last_name"]) == ("Élodie", "Lefèvre")
    assert first["birth_date"] == "1988-04-12"
    assert (first["street"], first["city"], first["postcode"], first["country"]) == (
        "12 rue de la Paix", "Lyon", "69002", "FR")
    assert first["ip"] == "90.12.4.7"
    assert first["user_agent"].startswith("Mozilla/5.0 (iPhone")
    assert first["device_id"] == "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F"
    assert first["observed_at"] == pd.Timestamp("2024-03-05 13:02:11.123", tz="UTC")
    second = tp.iloc[1]
    assert second["full_name"] == "François Müller"
    assert pd.isna(second["account_id"]) and pd.isna(second["email"])
    assert list(tp["line"]) == [1, 2]


def test_bad_lines_are_rejected_with_reasons(tmp_path: Path) -> None:
    rows: list[Any] = [
        IDENTIFY,
        "",  # blank line: skipped, still counted in line numbers
        {**TRACK, "type": "alias"},
        '{"messageId": "x", "type": ',
        "[1, 2, 3]",
        {**TRACK, "messageId": None},
        {"messageId": "m-no-ids", "type": "page", "timestamp": "2024-03-05T10:00:00Z"},
        {**TRACK, "messageId": "m-bad-ts", "timestamp": "hier soir"},
        {**TRACK, "messageId": "ajs-msg-1"},
        {**TRACK, "messageId": "m-numeric", "userId": 12345, "anonymousId": None},
    ]
    path = _write(tmp_path / "events.jsonl", rows)
    result = read_source("web", path, source="site")
    tp, rej = result.touchpoints, result.rejected
    assert list(tp["record_id"]) == ["ajs-msg-1", "m-numeric"]
    assert tp.loc[1, "account_id"] == "12345"
    assert list(tp["line"]) == [1, 10]
    reasons = dict(zip(rej["line"], rej["reason"], strict=True))
    assert reasons[3] == "unsupported event type 'alias'"
    assert reasons[4].startswith("malformed JSON: ")
    assert reasons[5] == "not a JSON object"
    assert reasons[6] == "missing messageId"
    assert reasons[7] == "missing anonymousId and userId"
    assert reasons[8] == "unparseable timestamp 'hier soir'"
    assert reasons[9] == "duplicate record_id"
    assert rej.loc[rej["line"] == 5, "raw"].item() == "[1, 2, 3]"
    assert (rej["source"] == "site").all()


def test_fast_and_line_by_line_paths_agree(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jsonl", [IDENTIFY, TRACK])
    mixed = _write(tmp_path / "mixed.jsonl", [IDENTIFY, "{oops", TRACK])
    a = read_source("web", good).touchpoints.drop(columns=["file", "line"])
    b = read_source("web", mixed).touchpoints.drop(columns=["file", "line"])
    pd.testing.assert_frame_equal(a, b)


def test_gzip_and_mapping_override(tmp_path: Path) -> None:
    event = {**TRACK, "properties": {"email": "anais.dupre@laposte.net"}}
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(event, ensure_ascii=False) + "\n")
    tp = read_source(
        "web", path, mapping={"email": "properties.email", "x_sku": "properties.sku"}
    ).touchpoints
    assert tp.loc[0, "email"] == "anais.dupre@laposte.net"
    assert tp.loc[0, "full_name"] == "François Müller"  # default paths still apply


def test_unknown_mapping_keys_are_listed_together(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.jsonl", [IDENTIFY])
    with pytest.raises(ConfigError) as info:
        check_source("web", path, mapping={"courriel": "traits.email", "prenom": "traits.x"})
    assert "'courriel'" in str(info.value) and "'prenom'" in str(info.value)
    assert len(info.value.problems) == 2


def test_empty_file_gives_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    result = read_source("web", path)
    assert len(result.touchpoints) == 0 and len(result.rejected) == 0


def test_segments_isolate_bad_lines_anywhere(tmp_path: Path, monkeypatch: Any) -> None:
    """Arrow parses the file in segments and halves the ones it refuses: every bad line
    is rejected, every other line is read, wherever they are."""
    from cxid.ingest import _common

    monkeypatch.setattr(_common, "_JSON_SEGMENT_LINES", 8)
    monkeypatch.setattr(_common, "_JSON_LEAF_LINES", 2)
    rows: list[Any] = []
    for i in range(60):
        rows.append({**TRACK, "messageId": f"m{i}", "anonymousId": f"  ck{i} "})
        if i % 13 == 5:
            rows.append('{"messageId": "broken", "type": ')
        if i % 17 == 3:
            rows.append("   ")
        if i == 40:
            rows.append({**TRACK, "messageId": "numeric", "userId": 7})
        if i == 50:
            rows.append('"just a string"')
    path = _write(tmp_path / "events.jsonl", rows)
    result = read_source("web", path)
    tp, rej = result.touchpoints, result.rejected
    expected = [n for n, r in enumerate(rows, start=1) if isinstance(r, dict)]
    assert list(tp["line"]) == expected
    assert tp.loc[tp["record_id"] == "m7", "cookie_id"].item() == "ck7"
    assert tp.loc[tp["record_id"] == "numeric", "account_id"].item() == "7"
    bad = [n for n, r in enumerate(rows, start=1) if isinstance(r, str) and r.strip()]
    assert list(rej["line"]) == bad
    assert rej["reason"].str.startswith("malformed JSON").sum() == len(bad) - 1
    assert (rej["reason"] == "not a JSON object").sum() == 1
