"""Synthetic data generator: formats parse with the stdlib, truth covers every record,
output is deterministic and the traps are there."""

from __future__ import annotations

import csv
import filecmp
import json
import mailbox
from collections import defaultdict
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pandas as pd
import pytest

from cxid.errors import ConfigError
from cxid.normalize.names import normalize_name
from cxid.synth import FILE_NAMES, SOURCES, SynthOptions, SynthPaths, generate
from cxid.synth._lexicon import FEMALE_NAMES, MALE_NAMES, NICKNAMES

ZERO = "00000000-0000-0000-0000-000000000000"
N = 200


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthPaths:
    return generate(N, seed=3, out_dir=tmp_path_factory.mktemp("synth"))


def _truth(paths: SynthPaths) -> list[dict[str, str]]:
    with open(paths.truth, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _csv(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _web(paths: SynthPaths) -> tuple[list[dict], int]:
    events, bad = [], 0
    with open(paths.web, encoding="utf-8") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    return events, bad


def _record_ids(paths: SynthPaths, crm_encoding: str = "utf-8", crm_sep: str = ",") -> dict[str, list[str]]:
    events, _ = _web(paths)
    with open(paths.twitter, encoding="utf-8") as f:
        twitter = [json.loads(line)["id"] for line in f]
    box = mailbox.mbox(paths.email)
    try:
        mail = [m["Message-ID"].strip().strip("<>") for m in box]
    finally:
        box.close()
    return {
        "web": [e["messageId"] for e in events],
        "beacon": [r["sighting_id"] for r in _csv(paths.beacon)],
        "twitter": twitter,
        "email": mail,
        "esp": [str(i + 1) for i, _ in enumerate(_csv(paths.esp))],
        "crm": [r["customer_id"] for r in _csv(paths.crm, crm_encoding, crm_sep)],
    }


def test_paths_and_stats(synth: SynthPaths) -> None:
    assert dict(synth.items()).keys() == {*SOURCES, "truth"}
    for key, name in FILE_NAMES.items():
        assert synth[key].name == name and synth[key].exists()
    stats = synth.stats
    assert stats["persons"] == N
    assert stats["malformed_web_lines"] >= 3
    assert stats["bad_beacon_rows"] >= 1
    assert stats["records_total"] == len(_truth(synth))


def test_every_record_has_exactly_one_truth_row(synth: SynthPaths) -> None:
    truth = _truth(synth)
    keys = [(r["source"], r["record_id"]) for r in truth]
    assert len(keys) == len(set(keys))
    assert {r["linkable"] for r in truth} <= {"True", "False"}
    assert all(r["person_id"] for r in truth)
    ids = _record_ids(synth)
    by_source = defaultdict(list)
    for source, record_id in keys:
        by_source[source].append(record_id)
    for source in SOURCES:
        assert len(ids[source]) == len(set(ids[source])), source
        assert sorted(ids[source]) == sorted(by_source[source]), source
    assert len(ids["web"]) > len(ids["beacon"]) > len(ids["crm"]) > len(ids["esp"])


def test_source_shares_are_realistic(synth: SynthPaths) -> None:
    truth = _truth(synth)
    persons = defaultdict(set)
    for r in truth:
        persons[r["source"]].add(r["person_id"])
    assert 0.45 < len(persons["crm"]) / N < 0.75
    assert 0.25 < len(persons["esp"]) / N < 0.55
    assert 0.05 < len(persons["twitter"]) / N < 0.3
    assert 0.1 < len(persons["email"]) / N < 0.35
    assert 12 < len(truth) / N < 24


def test_deterministic(tmp_path: Path, synth: SynthPaths) -> None:
    again = generate(N, seed=3, out_dir=tmp_path / "again")
    other = generate(N, seed=4, out_dir=tmp_path / "other")
    for key, _ in synth.items():
        assert filecmp.cmp(synth[key], again[key], shallow=False), key
    assert synth.stats_path.read_bytes() == again.stats_path.read_bytes()
    assert not filecmp.cmp(synth.web, other.web, shallow=False)
    assert not filecmp.cmp(synth.truth, other.truth, shallow=False)


def test_malformed_lines_and_bad_rows(synth: SynthPaths) -> None:
    _, bad = _web(synth)
    assert bad == synth.stats["malformed_web_lines"] >= 3
    truth = {(r["source"], r["record_id"]): r for r in _truth(synth)}
    bad_rows = [r for r in _csv(synth.beacon) if not r["timestamp"][:4].isdigit()
                or r["timestamp"][5:7] > "12"]
    assert bad_rows
    for r in bad_rows:
        assert truth[("beacon", r["sighting_id"])]["linkable"] == "False"


def test_account_ids_are_exclusive(synth: SynthPaths) -> None:
    truth = {(r["source"], r["record_id"]): r["person_id"] for r in _truth(synth)}
    owners: dict[str, set[str]] = defaultdict(set)
    persons_accounts: dict[str, set[str]] = defaultdict(set)
    events, _ = _web(synth)
    pairs = [(e["userId"], truth[("web", e["messageId"])]) for e in events if e.get("userId")]
    pairs += [(r["app_user_id"], truth[("beacon", r["sighting_id"])])
              for r in _csv(synth.beacon) if r["app_user_id"]]
    pairs += [(r["customer_id"], truth[("crm", r["customer_id"])]) for r in _csv(synth.crm)]
    for account, person in pairs:
        owners[account].add(person)
        persons_accounts[person].add(account)
    assert pairs
    assert all(len(p) == 1 for p in owners.values())
    assert all(len(a) == 1 for a in persons_accounts.values())


def test_device_traps(synth: SynthPaths) -> None:
    rows = _csv(synth.beacon)
    assert any(r["device_id"] == ZERO for r in rows)
    accounts = defaultdict(set)
    for r in rows:
        if r["app_user_id"]:
            accounts[r["device_id"]].add(r["app_user_id"])
    assert any(len(a) >= 2 for a in accounts.values()), "no family tablet with two accounts"
    assert any(not r["app_user_id"] for r in rows)
    events, _ = _web(synth)
    assert any(e.get("context", {}).get("device", {}).get("advertisingId") for e in events)


def test_namesakes_in_one_city(synth: SynthPaths) -> None:
    truth = {r["record_id"]: r["person_id"] for r in _truth(synth) if r["source"] == "crm"}
    rows = _csv(synth.crm)
    first = normalize_name(pd.Series([r["first_name"] for r in rows])).tolist()
    last = normalize_name(pd.Series([r["last_name"] for r in rows])).tolist()
    groups = defaultdict(set)
    for r, f, la in zip(rows, first, last, strict=True):
        # the CRM may carry a typo or a swap: any spelling match among them is enough
        groups[(f, la, r["postcode"][:2])].add(truth[r["customer_id"]])
        groups[(la, f, r["postcode"][:2])].add(truth[r["customer_id"]])
    assert any(len(p) >= 2 for p in groups.values())


def test_nicknames_used_informally(synth: SynthPaths) -> None:
    given = set(FEMALE_NAMES) | set(MALE_NAMES)
    nicks = {n for n in NICKNAMES if n not in given}
    with open(synth.twitter, encoding="utf-8") as f:
        names = [json.loads(line)["name"] for line in f]
    box = mailbox.mbox(synth.email)
    try:
        names += [parseaddr(str(make_header(decode_header(m["From"]))))[0] for m in box]
    finally:
        box.close()
    assert any(n.split(" ")[0] in nicks for n in names if n)


def test_cookie_churn_and_anonymous_cookies(synth: SynthPaths) -> None:
    truth = {r["record_id"]: r for r in _truth(synth) if r["source"] == "web"}
    events, _ = _web(synth)
    identified = {e["anonymousId"] for e in events if e["type"] == "identify"}
    assert any(e["anonymousId"] not in identified for e in events)
    cookies = defaultdict(set)
    for e in events:
        if e["type"] == "identify":
            cookies[truth[e["messageId"]]["person_id"]].add(e["anonymousId"])
    assert any(len(c) >= 2 for c in cookies.values())
    anon_flags = {truth[e["messageId"]]["linkable"] for e in events
                  if e["anonymousId"] not in identified and "device" not in e["context"]}
    assert "False" in anon_flags


def test_junk_and_variants_present(tmp_path: Path) -> None:
    opts = SynthOptions(junk=0.2, mojibake=0.2, swap_names=0.2, email_typo=0.2, plus_tag=0.5,
                        gmail_dots=0.5, birth_swap=0.3)
    paths = generate(150, seed=1, out_dir=tmp_path, options=opts)
    crm = _csv(paths.crm)
    esp = _csv(paths.esp)
    assert any(r["email"] == "test@test.com" for r in crm)
    assert any(r["Email Address"] in ("test@test.com", "test@test.fr") for r in esp)
    assert any(r["phone"] in ("0000000000", "0123456789", "0600000000", "1111111111") for r in crm)
    assert any("Ã" in r["first_name"] + r["last_name"] for r in crm)
    assert any(r["first_name"] in ("N/A", "n/a", "NA", "Test", "XXX", "-", "inconnu") for r in crm)
    assert any("+" in r["Email Address"] for r in esp)
    phones = {r["phone"][:3] for r in crm if r["phone"]}
    assert {"+33", "003"} & phones and any(" " in r["phone"] for r in crm)


def test_crm_french_excel(tmp_path: Path) -> None:
    paths = generate(120, seed=2, out_dir=tmp_path, crm_french_excel=True)
    raw = paths.crm.read_bytes()
    assert raw.splitlines()[0].decode("ascii").startswith("customer_id;email;phone")
    assert b"\r\n" in raw
    rows = _csv(paths.crm, "cp1252", ";")
    dated = [r["birth_date"] for r in rows if r["birth_date"]]
    assert dated and all(d[2] == "/" and d[5] == "/" and len(d) == 10 for d in dated)
    assert all(r["created_at"][2] == "/" for r in rows)
    ids = _record_ids(paths, "cp1252", ";")
    truth = [r for r in _truth(paths) if r["source"] == "crm"]
    assert sorted(ids["crm"]) == sorted(r["record_id"] for r in truth)


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError) as err:
        SynthOptions(web_share=1.5, junk=-1)
    assert len(err.value.problems) == 2
    with pytest.raises(ValueError):
        generate(0, out_dir="unused")
