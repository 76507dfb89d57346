"""Deterministic linking on Spark DataFrames (the frame flow): every field equals the
local engine's ``link_identifiers`` on the same rows, with no per-record table brought
to the driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

import cxid.engine.spark_links as spark_links
from cxid.config import IdentifierRule, SourceConfig, default_identifier_rules
from cxid.engine.spark import SparkEngine, _collect_arrow
from cxid.engine.spark_links import FrameLinks, link_identifiers_frame
from cxid.engine.spark_read import read_touchpoints_frame
from cxid.link.identifiers import DeterministicLinks, link_identifiers
from cxid.pipeline import read_sources

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}
COLS = ["account_norm", "loyalty_norm", "email_norm", "reply_to_norm", "phone_norm",
        "device_norm", "cookie_norm", "twitter_norm", "first_name_norm", "last_name_norm"]


def assert_same_as_local(got: FrameLinks, want: DeterministicLinks) -> None:
    fragment = _collect_arrow(got.fragment).to_pandas().sort_values("row")
    assert fragment["row"].tolist() == list(range(len(want.fragment)))
    np.testing.assert_array_equal(fragment["fragment"].to_numpy(), want.fragment)
    assert got.n_fragments == want.n_fragments

    edges = _collect_arrow(got.edges).to_pandas().sort_values(["row", "node"])
    assert list(edges.columns) == ["row", "node", "kind", "value"]
    assert edges["row"].tolist() == want.edges["row"].tolist()
    assert edges["kind"].tolist() == want.edges["kind"].astype(str).tolist()
    assert edges["value"].tolist() == want.edges["value"].astype(object).tolist()

    pd.testing.assert_frame_equal(got.suppressed, want.suppressed)
    pd.testing.assert_frame_equal(got.refused, want.refused)
    assert got.stats == want.stats


def samples() -> list[SourceConfig]:
    return [SourceConfig(name=k, kind=k, path=str(SAMPLES / v)) for k, v in FILES.items()]


def hand_made(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in COLS:
        if c not in df.columns:
            df[c] = None
    return df[COLS].astype("string")


def spark_frame(engine: SparkEngine, frame: pd.DataFrame):
    return engine._to_spark(frame.assign(row=np.arange(len(frame), dtype=np.int64)))


def test_links_equal_local_on_the_samples(spark_engine, collected):
    read = read_touchpoints_frame(spark_engine, samples())
    local = read_sources(samples())[0]
    collected.clear()
    got = link_identifiers_frame(spark_engine, read.touchpoints)
    want = link_identifiers(local)
    # nothing per record came to the driver: suppressed values, per-block counts
    assert sum(rows for rows, _ in collected) <= len(want.suppressed) + 10 < len(local)
    assert len(want.suppressed) > 0
    assert_same_as_local(got, want)


def test_links_equal_local_on_generated_data_with_traps(spark_engine, tmp_path,
                                                        monkeypatch):
    from cxid.synth import generate

    generate(250, seed=1, out_dir=tmp_path / "data")
    sources = [SourceConfig(name=k, kind=k, path=str(tmp_path / "data" / v))
               for k, v in FILES.items() if (tmp_path / "data" / v).exists()]
    read = read_touchpoints_frame(spark_engine, sources)
    local = read_sources(sources)[0]
    want = link_identifiers(local)
    assert len(want.suppressed) > 0 and len(want.refused) > 0  # seed 1 has a conflict
    # fragments numbered over several blocks of rows
    monkeypatch.setattr(spark_links, "_BLOCK_BITS", 6)
    assert_same_as_local(link_identifiers_frame(spark_engine, read.touchpoints), want)
    # rules as configured: looser devices, no cookies
    rules = [IdentifierRule(kind="device", max_people=3, priority=5) if r.kind == "device"
             else IdentifierRule(kind="cookie", deterministic=False) if r.kind == "cookie"
             else r for r in default_identifier_rules()]
    assert_same_as_local(link_identifiers_frame(spark_engine, read.touchpoints, rules),
                         link_identifiers(local, rules))


def trap_frame() -> pd.DataFrame:
    """Two accounts chained by e-mail and phone (the weaker link is refused), a
    family tablet and a shared e-mail (suppressed), an address first seen as a
    reply-to, a reply-to equal to the e-mail, a second chain through a cookie."""
    m, p, j = ({"first_name_norm": f, "last_name_norm": "martin"}
               for f in ("marie", "paul", "jeanne"))
    return hand_made([
        {"cookie_norm": "ck9"},                                          # 0
        {"account_norm": "C1", "email_norm": "m@x.fr", **m},             # 1
        {"email_norm": "m@x.fr", "phone_norm": "+3361", **m},            # 2
        {"phone_norm": "+3361", "email_norm": "p@x.fr"},                 # 3
        {"account_norm": "C2", "email_norm": "p@x.fr", **p},             # 4
        {"device_norm": "tablet", **m},                                  # 5
        {"device_norm": "tablet", **p},                                  # 6
        {"device_norm": "tablet", **j},                                  # 7
        {"email_norm": "fam@x.fr", "reply_to_norm": "late@x.fr", **m},   # 8
        {"email_norm": "fam@x.fr", **p},                                 # 9
        {"email_norm": "late@x.fr", "reply_to_norm": "late@x.fr", **m},  # 10
        {"account_norm": "C3", "cookie_norm": "ck1"},                    # 11
        {"cookie_norm": "ck1", "loyalty_norm": "L1"},                    # 12
        {"account_norm": "C4", "loyalty_norm": "L1", "cookie_norm": "ck9"},  # 13
        {"first_name_norm": "solo"},                                     # 14
    ])


def test_suppression_and_conflict_replay_equal_local(spark_engine, collected):
    frame = trap_frame()
    want = link_identifiers(frame)
    assert set(want.suppressed["value"]) == {"tablet", "fam@x.fr"}
    assert len(want.refused) >= 2  # phone between C1 and C2, a cookie between C3 and C4
    collected.clear()
    got = link_identifiers_frame(spark_engine, spark_frame(spark_engine, frame))
    assert_same_as_local(got, want)
    assert sum(rows for rows, _ in collected) < 40  # the conflicting components' rows, counts


def test_node_key_gives_the_local_node_order(spark_engine):
    """Values of a rule are numbered by first appearance over its columns one after the
    other: an address first seen as a reply-to (row 0) comes after one first seen as an
    e-mail (row 1). The replay visits them in that order (so r@x.fr is refused, not
    e@x.fr), and the edges of a row are in that order (row 6: s@x.fr, then q@x.fr)."""
    frame = hand_made([
        {"account_norm": "A", "reply_to_norm": "r@x.fr"},
        {"email_norm": "e@x.fr"},
        {"email_norm": "r@x.fr", "phone_norm": "+1"},
        {"account_norm": "B", "email_norm": "e@x.fr", "phone_norm": "+1"},
        {"reply_to_norm": "e@x.fr", "email_norm": "r@x.fr"},
        {"reply_to_norm": "q@x.fr"},
        {"email_norm": "s@x.fr", "reply_to_norm": "q@x.fr"},
    ])
    want = link_identifiers(frame)
    assert want.refused["value"].tolist() == ["r@x.fr"]
    assert want.edges[want.edges["row"] == 6]["value"].tolist() == ["s@x.fr", "q@x.fr"]
    assert_same_as_local(link_identifiers_frame(spark_engine, spark_frame(spark_engine, frame)),
                         want)


def test_no_identifiers_and_no_rows(spark_engine):
    frame = hand_made([{"first_name_norm": "a"}, {"first_name_norm": "b"}])
    assert_same_as_local(link_identifiers_frame(spark_engine, spark_frame(spark_engine, frame)),
                         link_identifiers(frame))
    empty = frame.iloc[:0]
    got = link_identifiers_frame(spark_engine, spark_frame(spark_engine, empty))
    assert got.n_fragments == 0 and got.stats == link_identifiers(empty).stats
