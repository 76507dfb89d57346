"""The frame flow's per-record stages on Spark equal the local ones: fragments, linked
record pairs (all of them, and a sample), customer ids, profiles and links, on the
bundled samples and on a generated population."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

import cxid.engine.spark as spark_module
import cxid.engine.spark_outputs as spark_outputs
from cxid.engine.spark import SparkEngine, _collect_arrow
from cxid.engine.spark_outputs import (
    customer_ids_frame,
    fragments_frame,
    linked_record_pairs_frame,
    links_frame,
    profiles_frame,
)
from cxid.link.fragments import Fragments, build_fragments
from cxid.link.identifiers import link_identifiers
from cxid.link.match import DEFAULT_COMPARISONS, METHOD_LEVELS, linked_record_pairs
from cxid.pipeline import resolve
from cxid.resolver.graph import build_links
from cxid.resolver.ids import customer_ids_from_clusters
from cxid.resolver.profile import build_profiles
from cxid.schema import ARROW_STRING
from cxid.synth import generate

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}
COMPARISONS = [(s.name, METHOD_LEVELS[s.method]) for s in DEFAULT_COMPARISONS]


@pytest.fixture(scope="module")
def engine(spark_engine):
    return spark_engine


class Case(NamedTuple):
    """A local run and the same touchpoints as a Spark DataFrame."""

    tp: pd.DataFrame
    fragment: np.ndarray
    customer_id: pd.Series
    cluster: np.ndarray
    edges: pd.DataFrame
    pairs: pd.DataFrame | None
    frame: object  # pyspark DataFrame


def make_case(engine: SparkEngine, tp: pd.DataFrame, fragment: np.ndarray,
              customer_id: pd.Series, pairs: pd.DataFrame | None) -> Case:
    cluster = pd.factorize(customer_id)[0].astype(np.int64)
    frame = engine._to_spark(tp.assign(row=np.arange(len(tp)), fragment=fragment,
                                       cluster=cluster, customer_id=customer_id.to_numpy()))
    return Case(tp, fragment, customer_id, cluster, link_identifiers(tp).edges, pairs, frame)


@pytest.fixture(scope="module", params=["samples", "synth"])
def case(request, engine, tmp_path_factory):
    if request.param == "samples":
        sources = {k: str(SAMPLES / v) for k, v in FILES.items()}
    else:
        sources = generate(250, seed=7, out_dir=tmp_path_factory.mktemp("synth")).sources
    res = resolve(sources)
    return make_case(engine, res.touchpoints, res.fragment, res.identities["customer_id"],
                     res.pairs)


def assert_same_fragments(got: Fragments, want: Fragments) -> None:
    for part in ("values", "names", "addresses", "summary"):
        pd.testing.assert_frame_equal(getattr(got, part), getattr(want, part), obj=part)


def test_fragments_equal_local(engine, case):
    got = fragments_frame(engine, case.frame)
    assert_same_fragments(got, build_fragments(case.tp, case.fragment))
    assert got.n > 100


@pytest.mark.parametrize("max_pairs", [200_000, 37])
def test_linked_record_pairs_equal_local(engine, case, max_pairs):
    want = linked_record_pairs(case.tp, case.fragment, max_pairs=max_pairs, seed=3)
    got = linked_record_pairs_frame(engine, case.frame, max_pairs=max_pairs, seed=3)
    assert len(want[1]) > 37 or max_pairs == 37
    assert_same_fragments(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])


def test_sampled_pairs_bring_only_used_records(engine, case, monkeypatch):
    sizes: list[int] = []

    def spy(df):
        table = _collect_arrow(df)
        sizes.append(table.num_rows)
        return table

    monkeypatch.setattr(spark_outputs, "_collect_arrow", spy)
    monkeypatch.setattr(spark_module, "_collect_arrow", spy)
    records, left, _ = linked_record_pairs_frame(engine, case.frame, max_pairs=10, seed=1)
    assert len(left) == 10 and records.n <= 20
    assert max(sizes) <= 20  # range counts, 10 pairs, their records


def test_customer_ids_equal_local(engine, case):
    want = customer_ids_from_clusters(case.tp["source"], case.tp["record_id"], case.cluster)
    got = _collect_arrow(customer_ids_frame(engine, case.frame)).to_pandas()
    got = got.sort_values("row")
    assert got["row"].tolist() == list(range(len(case.tp)))
    assert got["customer_id"].tolist() == want.tolist()
    assert want.nunique() == len(np.unique(case.cluster))


def local_like(got: pd.DataFrame, want: pd.DataFrame) -> pd.DataFrame:
    """Collected Spark columns in the local dtypes (microsecond UTC timestamps become
    nanosecond ones; the values must already be equal)."""
    return pd.DataFrame({c: got[c].astype(want[c].dtype) for c in want.columns})


@pytest.mark.parametrize("rules, priority", [
    (None, None),
    ({"first_name": "most_frequent", "email": "most_trusted", "city": "most_recent"},
     ("web", "crm", "twitter")),
])
def test_profiles_equal_local(engine, case, rules, priority):
    kwargs = {"rules": rules} | ({"source_priority": priority} if priority else {})
    if rules is not None:  # a source of one record: most buckets of customers lack it
        tp = case.tp.assign(source=case.tp["source"].astype(object))
        tp.loc[5, "source"] = "zz_rare"
        case = make_case(engine, tp.astype({"source": ARROW_STRING}), case.fragment,
                         case.customer_id, None)
        assert "records_zz_rare" in build_profiles(case.tp, case.customer_id).columns
    want = build_profiles(case.tp, case.customer_id, **kwargs)
    got = _collect_arrow(profiles_frame(engine, case.frame, **kwargs)).to_pandas()
    assert list(got.columns) == list(want.columns)
    assert any(c.startswith("records_") for c in want.columns)
    pd.testing.assert_frame_equal(local_like(got, want), want)


def test_links_equal_local(engine, case):
    n = len(case.tp)
    pairs = case.pairs
    accepted = pairs[pairs["match_probability"] >= 0.5]
    refused = pairs[pairs["match_probability"] < 0.5].iloc[::-1].head(25).assign(
        reason="would join two account ids")
    want = build_links(case.tp, case.customer_id, case.edges, case.fragment, accepted,
                       refused, COMPARISONS)
    edges = case.edges.assign(node=np.arange(len(case.edges)),
                              kind=case.edges["kind"].astype(str))
    edges_frame = engine._to_spark(edges.sample(frac=1.0, random_state=0))  # any order
    anchor = pd.Series(np.arange(n)).groupby(case.fragment).min().to_numpy()
    got = _collect_arrow(links_frame(engine, case.frame, edges_frame, anchor, accepted,
                                     refused, COMPARISONS)).to_pandas()
    assert len(accepted) and len(refused) and (want["link_type"] == "identifier").any()
    pd.testing.assert_frame_equal(local_like(got, want), want)


def test_no_names_and_a_single_fragment(engine, case):
    """Edge cases: no name on any record (no names table, fewer training pairs), and
    all records in one fragment and one customer."""
    tp = case.tp.head(600).copy()
    for c in ("first_name", "last_name", "first_name_norm", "last_name_norm"):
        tp[c] = pd.Series(pd.NA, index=tp.index, dtype=ARROW_STRING)
    fragment = case.fragment[:600].copy()
    fragment = pd.factorize(fragment)[0].astype(np.int64)
    one = np.zeros(len(tp), np.int64)
    single = pd.Series(["cx-one"] * len(tp), dtype=ARROW_STRING)
    for frag in (fragment, one):
        c = make_case(engine, tp, frag, single, None)
        assert_same_fragments(fragments_frame(engine, c.frame), build_fragments(tp, frag))
        for max_pairs in (200_000, 5):
            want = linked_record_pairs(tp, frag, max_pairs=max_pairs, seed=0)
            got = linked_record_pairs_frame(engine, c.frame, max_pairs=max_pairs, seed=0)
            assert_same_fragments(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            np.testing.assert_array_equal(got[2], want[2])
    assert len(build_fragments(tp, fragment).names) == 0
    want = build_profiles(tp, single)
    got = _collect_arrow(profiles_frame(engine, c.frame)).to_pandas()
    pd.testing.assert_frame_equal(local_like(got, want), want)
