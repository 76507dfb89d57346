"""Fragments, blocking and probabilistic matching on hand-built normalised touchpoints."""

import numpy as np
import pandas as pd
import pytest

from cxid.errors import ConfigError, CxidError
from cxid.link.blocking import candidate_pairs, rule_keys, skeleton
from cxid.link.fragments import build_fragments
from cxid.link.match import ComparisonSpec, compare_pairs, match_fragments

NORM = ["first_name_norm", "last_name_norm", "birth_date_norm", "email_norm", "reply_to_norm",
        "email_local_norm", "phone_norm", "street_norm", "postcode_norm", "city_norm",
        "handle_norm", "account_norm", "loyalty_norm"]


def touchpoints(rows):
    df = pd.DataFrame(rows)
    for c in NORM:
        if c not in df.columns:
            df[c] = None
    df["source"] = df["source"].fillna("crm") if "source" in df else "crm"
    return df.astype({c: "string" for c in NORM})


def test_fragment_profiles_are_set_valued():
    tp = touchpoints([
        {"first_name_norm": "frederic", "last_name_norm": "dupont", "city_norm": "lyon"},
        {"first_name_norm": "fred", "last_name_norm": "dupont", "city_norm": "lyon",
         "source": "twitter"},
        {"first_name_norm": "anne", "last_name_norm": "roux"},
    ])
    frags = build_fragments(tp, np.array([0, 0, 1]))
    assert frags.n == 2
    assert sorted(frags.attribute("first_name").query("fragment == 0")["value"]) == [
        "fred", "frederic"]
    assert frags.attribute("city")["value"].tolist() == ["lyon"]  # deduplicated
    assert frags.summary.loc[0, "sources"] == "crm+twitter"
    assert frags.summary["records"].tolist() == [2, 1]


def test_skeleton_survives_vowel_typos():
    s = skeleton(pd.Series(["lefebvre", "lefevre", "lefeebvre", "martin", None]))
    assert s[0] == s[2]
    assert s[3] == "mrtn"
    assert pd.isna(s[4])


def test_blocking_catches_typos_swaps_and_reports():
    tp = touchpoints([
        {"first_name_norm": "helene", "last_name_norm": "lefebvre", "birth_date_norm": "1985-03-07"},
        {"first_name_norm": "helene", "last_name_norm": "lefeebvre"},  # typo
        {"first_name_norm": "lefebvre", "last_name_norm": "helene"},  # swapped
        {"first_name_norm": "helene", "last_name_norm": "zzz", "birth_date_norm": "1985-07-03"},
        {"first_name_norm": "paul", "last_name_norm": "roux"},
    ])
    frags = build_fragments(tp, np.arange(5))
    cands = candidate_pairs(frags, [("last_name:skeleton", "first_name:initial"),
                                    ("name:name_pair",),
                                    ("birth_date:digits_sorted",)])
    pairs = set(zip(cands.left.tolist(), cands.right.tolist(), strict=True))
    assert {(0, 1), (0, 2), (1, 2), (0, 3)} <= pairs
    assert not any(4 in p for p in pairs)
    assert cands.report["pairs"].tolist() == [1, 3, 1]


def test_runaway_blocks_are_skipped_and_max_pairs_refuses():
    tp = touchpoints([{"first_name_norm": "jean", "last_name_norm": "martin"}] * 30)
    frags = build_fragments(tp, np.arange(30))
    capped = candidate_pairs(frags, [("last_name",)], max_block_size=10)
    assert len(capped) == 0
    assert capped.report.loc[0, "skipped_blocks"] == 1
    assert capped.report.loc[0, "skipped_pairs"] == 435
    with pytest.raises(CxidError, match="max_pairs"):
        candidate_pairs(frags, [("last_name",)], max_pairs=100)
    with pytest.raises(ConfigError, match="transform"):
        candidate_pairs(frags, [("last_name:soundex",)])


def test_multi_part_keys_and_pooled_attributes():
    tp = touchpoints([
        {"handle_norm": "mdupont75"},
        {"email_local_norm": "mdupont75", "email_norm": "mdupont75@free.fr"},
    ])
    frags = build_fragments(tp, np.arange(2))
    keys = rule_keys(frags, ("email_local+handle",))
    assert keys["key"].nunique() == 1
    specs = [ComparisonSpec(name="handle", method="handle_email")]
    levels, _ = compare_pairs(frags, np.array([0]), np.array([1]), specs)
    assert levels[0, 0] == 2  # handle equals e-mail local part


def people(n, seed):
    """n persons each seen twice with small variations, as separate fragments."""
    rng = np.random.default_rng(seed)
    firsts = np.array(["marie", "jean", "helene", "pierre", "sophie", "luc", "anne", "paul",
                       "claire", "louis", "emma", "hugo", "lea", "tom", "zoe", "ines"])
    lasts = np.array(["martin", "bernard", "dubois", "thomas", "robert", "richard", "petit",
                      "durand", "leroy", "moreau", "simon", "laurent", "lefebvre", "michel",
                      "garcia", "david", "bertrand", "roux", "vincent", "fournier"])
    rows, truth = [], []
    for i in range(n):
        f, last = rng.choice(firsts), rng.choice(lasts)
        dob = f"19{rng.integers(40, 99)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
        pc = f"{rng.integers(10, 95)}{rng.integers(0, 999):03d}"
        phone = f"+336{rng.integers(10**7, 10**8)}"
        for k in range(2):
            typo = last if k == 0 or rng.random() < 0.5 else last[:-1] + "x"
            rows.append({"first_name_norm": f, "last_name_norm": typo, "birth_date_norm": dob,
                         "postcode_norm": pc, "phone_norm": phone if rng.random() < 0.7 else None,
                         "email_local_norm": f"{f}{last}{i}" if rng.random() < 0.6 else None})
            truth.append(i)
    return touchpoints(rows), np.array(truth)


def test_unsupervised_matching_separates_namesakes():
    tp, truth = people(400, seed=1)
    frags = build_fragments(tp, np.arange(len(tp)))
    result = match_fragments(frags)
    pairs = result.pairs
    assert {"match_weight", "match_probability", "w_name", "l_name"} <= set(pairs.columns)
    pred = pairs["match_probability"] >= 0.9
    is_true = truth[pairs["fragment_l"]] == truth[pairs["fragment_r"]]
    precision = (pred & is_true).sum() / pred.sum()
    recall = (pred & is_true).sum() / 400
    assert precision > 0.99 and recall > 0.97, (precision, recall)
    # contributions explain the weight
    w = pairs.filter(like="w_").sum(axis=1) + result.model.prior_log2_odds_
    assert np.allclose(w, pairs["match_weight"])
    assert result.stats["em_iterations"] >= 1
