"""Guarded clustering: strongest edges first, exclusive values never joined."""

import numpy as np
import pandas as pd

from cxid.link.fragments import build_fragments
from cxid.resolver.cluster import connected_clusters, guarded_clusters


def frags(rows):
    cols = ["account_norm", "loyalty_norm", "birth_date_norm", "first_name_norm",
            "last_name_norm"]
    df = pd.DataFrame(rows)
    for c in cols:
        if c not in df:
            df[c] = None
    df["source"] = "crm"
    return build_fragments(df.astype({c: "string" for c in cols}), np.arange(len(df)))


def test_components_without_conflict_are_kept_whole():
    assert connected_clusters(4, np.array([0, 2]), np.array([1, 3])).tolist() == [0, 0, 1, 1]
    f = frags([{"account_norm": "C1"}, {}, {}])
    out = guarded_clusters(f, np.array([0, 1]), np.array([1, 2]), np.array([5.0, 3.0]))
    assert out.label.tolist() == [0, 0, 0] and out.refused.empty


def test_chain_between_two_accounts_is_cut_at_the_weakest_edge():
    # C1 -- anon (strong) -- C2 (weak): the weak edge is refused
    f = frags([{"account_norm": "C1"}, {}, {"account_norm": "C2"}])
    out = guarded_clusters(f, np.array([0, 1]), np.array([1, 2]), np.array([12.0, 4.0]))
    assert out.label[0] == out.label[1] != out.label[2]
    assert out.refused[["fragment_l", "fragment_r"]].values.tolist() == [[1, 2]]
    assert "account" in out.refused.loc[0, "reason"]


def test_namesakes_are_not_chained_through_a_dateless_fragment():
    f = frags([
        {"first_name_norm": "marie", "last_name_norm": "martin", "birth_date_norm": "1980-01-02"},
        {"first_name_norm": "marie", "last_name_norm": "martin"},  # web form, no date
        {"first_name_norm": "marie", "last_name_norm": "martin", "birth_date_norm": "1992-07-15"},
        {"first_name_norm": "marie", "last_name_norm": "martin", "birth_date_norm": "1980-02-01"},
    ])
    left, right = np.array([0, 1, 1]), np.array([1, 2, 3])
    out = guarded_clusters(f, left, right, np.array([9.0, 8.0, 7.0]))
    assert out.label[0] == out.label[1]
    assert out.label[2] != out.label[0]  # 1992 namesake refused: chain through fragment 1
    assert out.label[3] == out.label[0]  # day/month swap is the same date
    assert out.refused["reason"].tolist() == ["birth dates differ"]
    loose = guarded_clusters(f, left, right, np.array([9.0, 8.0, 7.0]), birth_dates=False)
    assert len(set(loose.label.tolist())) == 1


def test_a_direct_edge_between_dated_fragments_is_the_models_call():
    f = frags([{"birth_date_norm": "1980-01-02"}, {"birth_date_norm": "1975-06-30"}])
    out = guarded_clusters(f, np.array([0]), np.array([1]), np.array([30.0]))
    assert out.label[0] == out.label[1] and out.refused.empty
