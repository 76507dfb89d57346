"""Survivorship: one customer row, each field chosen by its rule."""

import pandas as pd
import pytest

from cxid.resolver.profile import build_profiles


def touchpoints():
    return pd.DataFrame({
        "source": ["crm", "web", "web", "esp", "twitter"],
        "observed_at": pd.to_datetime(["2024-01-01", "2025-06-01", "2025-07-01", None,
                                       "2023-01-01"], utc=True),
        "first_name": ["Hélène", None, None, "Helene", None],
        "first_name_norm": ["helene", "lena", "lena", "helene", None],
        "last_name": ["Dupont", None, None, None, None],
        "last_name_norm": ["dupont", None, None, "dupond", None],
        "email_norm": ["old@x.fr", "new@x.fr", None, "esp@x.fr", None],
        "birth_date_norm": ["1985-03-07", "1985-07-03", "1985-03-07", None, None],
        "handle_norm": [None, None, None, None, "hdupont"],
    }).astype({c: "string" for c in ("source", "first_name", "first_name_norm", "last_name",
                                       "last_name_norm", "email_norm", "birth_date_norm",
                                       "handle_norm")})


def test_rules_pick_the_expected_values():
    tp = touchpoints()
    ids = pd.Series(["cx-b", "cx-b", "cx-b", "cx-b", "cx-a"])
    out = build_profiles(tp, ids).set_index("customer_id")
    b = out.loc["cx-b"]
    assert b["records"] == 4 and b["sources"] == "crm+esp+web"
    assert b["first_name"] == "Hélène"  # most trusted source, original spelling
    assert b["last_name"] == "Dupont"
    assert b["email"] == "new@x.fr"  # most recent
    assert b["birth_date"] == "1985-03-07"  # most frequent
    assert b["records_web"] == 2 and b["records_twitter"] == 0
    assert b["first_seen"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert b["last_seen"] == pd.Timestamp("2025-07-01", tz="UTC")
    a = out.loc["cx-a"]
    assert a["twitter_handle"] == "hdupont" and pd.isna(a["email"])


def test_rules_are_configurable_and_validated():
    tp = touchpoints()
    ids = pd.Series(["cx-b"] * 4 + ["cx-a"])
    recent = build_profiles(tp, ids, rules={"first_name": "most_recent"}).set_index(
        "customer_id")
    assert recent.loc["cx-b", "first_name"] == "lena"
    trusted_web = build_profiles(tp, ids, rules={"email": "most_trusted"},
                                 source_priority=("web", "crm")).set_index("customer_id")
    assert trusted_web.loc["cx-b", "email"] == "new@x.fr"
    with pytest.raises(ValueError, match="survivorship"):
        build_profiles(tp, ids, rules={"email": "loudest"})
