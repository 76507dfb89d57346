"""Deterministic linking and its guardrails, on hand-built normalised touchpoints."""

import pandas as pd

from cxid.config import IdentifierRule, default_identifier_rules
from cxid.link.identifiers import link_identifiers, people_key

COLS = ["account_norm", "loyalty_norm", "email_norm", "reply_to_norm", "phone_norm",
        "device_norm", "cookie_norm", "twitter_norm", "first_name_norm", "last_name_norm"]


def frame(rows):
    df = pd.DataFrame(rows)
    for c in COLS:
        if c not in df.columns:
            df[c] = None
    return df[COLS].astype("string")


def same(result, i, j):
    return result.fragment[i] == result.fragment[j]


def test_chain_through_identifiers_is_one_fragment():
    tp = frame([
        {"account_norm": "C1", "email_norm": "marie@x.fr", "first_name_norm": "marie",
         "last_name_norm": "martin"},
        {"cookie_norm": "ck1", "account_norm": "C1"},  # login on the web
        {"cookie_norm": "ck1"},  # anonymous page view before login
        {"email_norm": "marie@x.fr", "phone_norm": "+33612345678"},  # ESP
        {"phone_norm": "+33612345678"},  # support e-mail signature
        {"cookie_norm": "ck2"},  # a stranger
    ])
    res = link_identifiers(tp)
    assert all(same(res, 0, k) for k in range(1, 5))
    assert not same(res, 0, 5)
    assert res.n_fragments == 2
    assert res.fragment.tolist() == [0, 0, 0, 0, 0, 1]


def test_shared_device_with_two_accounts_is_suppressed():
    tp = frame([
        {"account_norm": "C1", "device_norm": "tablet", "first_name_norm": "marie",
         "last_name_norm": "martin"},
        {"account_norm": "C2", "device_norm": "tablet", "first_name_norm": "paul",
         "last_name_norm": "martin"},
        {"device_norm": "tablet"},
    ])
    res = link_identifiers(tp)
    assert not same(res, 0, 1)
    assert len(res.suppressed) == 1
    row = res.suppressed.iloc[0]
    assert row["kind"] == "device" and row["accounts"] == 2
    assert "account ids" in row["reason"]
    assert not (res.edges["kind"] == "device").any()


def test_email_shared_by_two_people_is_suppressed():
    tp = frame([
        {"email_norm": "famille@x.fr", "first_name_norm": "marie", "last_name_norm": "martin"},
        {"email_norm": "famille@x.fr", "first_name_norm": "paul", "last_name_norm": "martin"},
    ])
    res = link_identifiers(tp)
    assert not same(res, 0, 1)
    assert "people" in res.suppressed.iloc[0]["reason"]


def test_swapped_names_and_nicknames_count_as_one_person():
    tp = frame([
        {"email_norm": "f@x.fr", "first_name_norm": "frederic", "last_name_norm": "dupont"},
        {"email_norm": "f@x.fr", "first_name_norm": "fred", "last_name_norm": "dupont"},
        {"email_norm": "f@x.fr", "first_name_norm": "dupont", "last_name_norm": "frederic"},
    ])
    res = link_identifiers(tp)
    assert res.n_fragments == 1 and res.suppressed.empty
    assert people_key(tp).nunique() == 1


def test_chain_joining_two_accounts_is_refused():
    # each value alone sees one account; together they would chain C1 -- C2
    tp = frame([
        {"account_norm": "C1", "cookie_norm": "ck"},
        {"cookie_norm": "ck", "email_norm": "e@x.fr"},
        {"account_norm": "C2", "email_norm": "e@x.fr"},
    ])
    res = link_identifiers(tp)
    assert not same(res, 0, 2)
    assert len(res.refused) == 1
    # cookie is stronger than email? no: email (3) before cookie (6), so cookie is refused
    assert res.refused.iloc[0]["kind"] == "cookie"
    assert same(res, 1, 2)


def test_ip_is_never_deterministic_and_rules_are_configurable():
    tp = frame([
        {"device_norm": "d1", "first_name_norm": "a", "last_name_norm": "b"},
        {"device_norm": "d1", "first_name_norm": "c", "last_name_norm": "d"},
    ])
    assert not same(link_identifiers(tp), 0, 1)
    loose = [r if r.kind != "device" else IdentifierRule(kind="device", max_people=None,
                                                          priority=5)
             for r in default_identifier_rules()]
    assert same(link_identifiers(tp, loose), 0, 1)
    off = [IdentifierRule(kind=r.kind, deterministic=False) for r in default_identifier_rules()]
    assert link_identifiers(tp, off).n_fragments == 2


def test_no_identifiers_gives_singletons():
    tp = frame([{"first_name_norm": "a"}, {"first_name_norm": "b"}])
    res = link_identifiers(tp)
    assert res.fragment.tolist() == [0, 1]


def test_components_over_records_equal_the_bipartite_components():
    """The engine is given record-only star edges; the components must be exactly those
    of the record--value graph, with the same dense labels."""
    import numpy as np

    from cxid.engine import LocalEngine
    from cxid.link.identifiers import _components, _Graph

    rng = np.random.default_rng(11)
    engine = LocalEngine()
    for _ in range(50):
        n_rows, n_nodes = int(rng.integers(1, 60)), int(rng.integers(1, 40))
        n_edges = int(rng.integers(0, 80))
        row = rng.integers(0, n_rows, n_edges)
        node = rng.integers(0, n_nodes, n_edges)
        graph = _Graph(row, node, np.array(["email"] * n_nodes, object),
                       np.array([f"v{i}" for i in range(n_nodes)], object))
        keep = rng.random(n_edges) < 0.8
        got = _components(n_rows, graph, keep, engine)
        want = engine.connected_components(n_rows + n_nodes, row[keep],
                                           n_rows + node[keep])[:n_rows]
        if not keep.any():
            want = np.arange(n_rows)
        np.testing.assert_array_equal(got, want)
