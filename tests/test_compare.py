"""Comparison functions: set-valued best scores, name/date/handle levels, tf adjustment."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cxid.link.compare import (
    DATE_LEVELS,
    HANDLE_EMAIL_LEVELS,
    NAME_LEVELS,
    as_levels,
    best_of_sets,
    date_levels,
    exact,
    handle_email_levels,
    jaro_winkler,
    levels_from_thresholds,
    levenshtein_ratio,
    name_levels,
    name_levels_joined,
    shared_values,
    term_frequency,
    tf_adjustment,
)

NAME = {label: code for code, label in enumerate(NAME_LEVELS)}
DATE = {label: code for code, label in enumerate(DATE_LEVELS)}
HANDLE = {label: code for code, label in enumerate(HANDLE_EMAIL_LEVELS)}


@pytest.fixture
def city_values() -> pd.DataFrame:
    """Long (fragment, value) table: several cities per fragment, fragment 5 has none."""
    return pd.DataFrame(
        {
            "fragment": [0, 0, 1, 2, 2, 2, 3, 4, 4, 6],
            "value": [
                "paris",
                "lyon",
                "pariss",
                "marseille",
                "lyon",
                "nice",
                "lille",
                "lyon",
                None,
                "paris",
            ],
        }
    )


def brute_force(pairs_left, pairs_right, values, score):
    sets = values.dropna().groupby("fragment")["value"].apply(list).to_dict()
    out = []
    for a, b in zip(pairs_left, pairs_right, strict=True):
        if a not in sets or b not in sets:
            out.append(np.nan)
            continue
        combos = list(itertools.product(sets[a], sets[b]))
        left = np.array([c[0] for c in combos], dtype=object)
        right = np.array([c[1] for c in combos], dtype=object)
        out.append(np.max(score(left, right)))
    return np.array(out)


@pytest.mark.parametrize("scorer", [jaro_winkler, levenshtein_ratio, exact])
def test_best_of_sets_matches_brute_force(city_values, scorer):
    rng = np.random.default_rng(7)
    left = rng.integers(0, 8, size=200)
    right = rng.integers(0, 8, size=200)
    got = best_of_sets(left, right, city_values, scorer)
    want = brute_force(left, right, city_values, scorer)
    np.testing.assert_allclose(got, want, equal_nan=True)


def test_best_of_sets_missing_side_is_nan(city_values):
    got = best_of_sets(np.array([5, 0, 7]), np.array([0, 5, 0]), city_values, jaro_winkler)
    assert np.isnan(got).all()


def test_best_of_sets_empty_inputs(city_values):
    got = best_of_sets(
        np.array([], dtype=np.int64), np.array([], dtype=np.int64), city_values, exact
    )
    assert got.shape == (0,)
    empty = pd.DataFrame(
        {"fragment": pd.Series([], dtype="int64"), "value": pd.Series([], dtype="string")}
    )
    assert np.isnan(best_of_sets(np.array([1]), np.array([2]), empty, exact)).all()


def test_best_of_sets_scores_each_distinct_combination_once():
    # 1000 fragments all living in one of 3 cities: 3 x 3 distinct combinations at most
    rng = np.random.default_rng(0)
    cities = np.array(["paris", "lyon", "nantes"], dtype=object)
    values = pd.DataFrame({"fragment": np.arange(1000), "value": cities[rng.integers(0, 3, 1000)]})
    values["value"] = values["value"].astype("string")
    calls: list[int] = []

    def counting(a, b):
        calls.append(len(a))
        return jaro_winkler(a, b)

    left, right = rng.integers(0, 1000, 50_000), rng.integers(0, 1000, 50_000)
    got = best_of_sets(left, right, values, counting)
    assert len(calls) == 1 and calls[0] <= 9
    np.testing.assert_allclose(
        got, jaro_winkler(values["value"].to_numpy()[left], values["value"].to_numpy()[right])
    )


def test_scorers_handle_missing_values():
    a = pd.Series(["marie", None, "", "jean"], dtype="string")
    b = np.array(["marie", "x", "y", np.nan], dtype=object)
    for scorer in (jaro_winkler, levenshtein_ratio, exact):
        got = scorer(a, b)
        assert got[0] == 1.0
        assert np.isnan(got[1:]).all()
    assert levenshtein_ratio(["martin"], ["martine"])[0] == pytest.approx(6 / 7)


def test_levels_from_thresholds_orders_levels_from_weakest():
    scores = np.array([1.0, 0.95, 0.85, 0.3, np.nan])
    levels = levels_from_thresholds(scores, thresholds=(1.0, 0.92, 0.80))
    assert levels.dtype == np.int8
    assert levels.tolist() == [3, 2, 1, 0, -1]
    assert as_levels(np.array([2.0, np.nan])).tolist() == [2, -1]


def test_name_levels():
    cases = [
        (("marie", "dupont"), ("marie", "dupont"), "exact"),
        (("dupont", "marie"), ("marie", "dupont"), "exact swapped"),
        (("marie", "dupond"), ("marie", "dupont"), "fuzzy"),
        (("dupond", "marie"), ("marie", "dupont"), "fuzzy"),
        (("m", "dupont"), ("marie", "dupont"), "initial compatible"),
        (("marie", "dupont"), ("m", "dupont"), "initial compatible"),
        (("pierre", "dupont"), ("marie", "dupont"), "last name only"),
        ((None, "dupont"), ("marie", "dupont"), "last name only"),
        (("marie", "durand"), ("marie", "dupont"), "else"),
        (("marie", None), ("marie", "dupont"), None),
        ((None, None), ("marie", "dupont"), None),
    ]
    fl, ll = [c[0][0] for c in cases], [c[0][1] for c in cases]
    fr, lr = [c[1][0] for c in cases], [c[1][1] for c in cases]
    got = name_levels(fl, ll, fr, lr)
    want = [NAME[c[2]] if c[2] else -1 for c in cases]
    assert got.dtype == np.int8
    assert got.tolist() == want


def test_name_sets_take_the_best_name():
    names = pd.DataFrame(
        {
            "fragment": [0, 0, 1, 2],
            "value": ["frederic|martin", "fred|martin", "fred|martin", "martin|fred"],
        }
    )
    got = as_levels(best_of_sets(np.array([0, 1]), np.array([1, 2]), names, name_levels_joined))
    assert got.tolist() == [NAME["exact"], NAME["exact swapped"]]


def test_split_scorer_scores_codes_as_the_string_scorer_scores_strings():
    """The split scorer splits each distinct value once and scores batches from codes;
    results must be those of the plain scorer, for every batch and after the index
    changes (its cached split belongs to one index)."""
    from cxid.link.compare import index_sets, name_scorer

    rng = np.random.default_rng(0)
    scorer = name_scorer()
    pool = ["frederic|martin", "fred|martin", "martin|fred", "f|martin", "anne|durand",
            "durand|anne", "annie|durant", "noseparator", "|durand", "jean|"]
    for _ in range(2):
        names = pd.DataFrame({"fragment": rng.integers(0, 40, 120),
                              "value": rng.choice(pool, 120)})
        index = index_sets(names)
        for _ in range(3):
            left, right = rng.integers(0, 45, 200), rng.integers(0, 45, 200)
            plain = best_of_sets(left, right, index, name_levels_joined)
            split = best_of_sets(left, right, index, scorer)
            np.testing.assert_array_equal(split, plain)
            np.testing.assert_array_equal(scorer(np.array(pool), np.array(pool[::-1])),
                                          name_levels_joined(np.array(pool),
                                                             np.array(pool[::-1])))
        pool = [*pool[::-1], "zoe|zola"]


def test_every_split_scorer_gives_on_codes_what_it_gives_on_strings():
    """On codes, a split scorer hands its function the parts with their presence known
    (computed once per distinct part); on strings, the function works it out itself.
    Both must agree for every multi-part comparison, empty and missing parts included."""
    from cxid.link.compare import index_sets
    from cxid.link.match import _SPLIT_SCORERS

    pools = {
        "name": ["frederic|martin", "fred|martin", "|martin", "jean|", "martin|fred", "x"],
        "address": ["12 rue de la paix|75002|paris", "12 r de la paix|75002|paris",
                    "|75002|paris", "3 place kleber||strasbourg", "3 pl kleber|67000|",
                    "||lyon", "1 av foch|69006|lyon"],
        "handle_email": ["h:fredmartin", "e:fred.martin", "e:fredmartin", "h:",
                         "e:anne_durand", "h:anned"],
    }
    rng = np.random.default_rng(3)
    for what, pool in pools.items():
        scorer = _SPLIT_SCORERS[what]()
        values = pd.DataFrame({"fragment": rng.integers(0, 30, 90),
                               "value": rng.choice(pool, 90)})
        index = index_sets(values)
        left, right = rng.integers(0, 32, 300), rng.integers(0, 32, 300)
        on_codes = best_of_sets(left, right, index, scorer)
        on_strings = best_of_sets(left, right, index,
                                  lambda a, b, s=scorer: s(np.asarray(a), np.asarray(b)))
        np.testing.assert_array_equal(on_codes, on_strings, err_msg=what)
        assert np.isfinite(on_codes).any(), what


def test_date_levels():
    cases = [
        ("1985-03-12", "1985-03-12", "exact"),
        ("1985-03-12", "1985-12-03", "swap, typo or month-day"),  # day/month swapped
        ("1985-03-12", "1985-03-13", "swap, typo or month-day"),  # one-digit typo
        ("1985-03-12", "1986-03-12", "swap, typo or month-day"),  # one-digit typo in year
        ("--03-12", "1985-03-12", "swap, typo or month-day"),  # partial month-day
        ("1985-03-12", "--03-12", "swap, typo or month-day"),
        ("--03-12", "1985-04-12", "else"),
        ("1985-03-12", "1985-07-30", "same year"),
        ("1985-03-12", "1958-03-12", "else"),  # two digits moved
        ("1985-03-12", "1990-11-01", "else"),
        (None, "1985-03-12", None),
        ("12/03/1985", "1985-03-12", None),  # not ISO
    ]
    got = date_levels([c[0] for c in cases], [c[1] for c in cases])
    want = [DATE[c[2]] if c[2] else -1 for c in cases]
    assert got.dtype == np.int8
    assert got.tolist() == want


def test_handle_email_levels():
    handles = ["jdupont", "JDupont_84", "marie", "mdurand75", "zorro", None]
    locals_ = ["jdupont", "jdupont84", "mariedurand", "xmdurand75x", "jdupont", "jdupont"]
    got = handle_email_levels(handles, locals_)
    assert got.dtype == np.int8
    assert got.tolist() == [
        HANDLE["exact"],
        HANDLE["exact"],  # both normalised to letters and digits
        HANDLE["similar"],  # handle contained in the local part (5 characters)
        HANDLE["similar"],
        HANDLE["else"],
        -1,
    ]
    # containment needs at least min_contained characters
    assert handle_email_levels(["mari"], ["mariedurand"])[0] == HANDLE["else"]
    assert handle_email_levels(["marie"], ["mariedurand"])[0] == HANDLE["similar"]
    assert handle_email_levels(["jdupont"], ["jdupond"])[0] == HANDLE["similar"]  # JW >= 0.9


def test_tf_adjustment_rewards_rare_values():
    cities = pd.Series(["paris"] * 900 + ["lyon"] * 99 + ["saint-flour"])
    tf = term_frequency(cities)
    assert tf.sum() == pytest.approx(1.0)
    u_exact = float((tf**2).sum())  # chance two random records share a city
    adjust = tf_adjustment(
        np.array(["paris", "saint-flour", None, "unknown"], dtype=object), tf, u_exact
    )
    assert adjust[1] > 0 > adjust[0]
    assert adjust[2] == 0 and adjust[3] == 0
    assert np.all(np.abs(adjust) <= 8.0)


def test_shared_values_prefers_rarest(city_values):
    tf = term_frequency(pd.Series(["lyon"] * 10 + ["nice"]))
    values = pd.DataFrame(
        {"fragment": [0, 0, 1, 1, 2], "value": ["lyon", "nice", "nice", "lyon", "lille"]}
    )
    got = shared_values(np.array([0, 0, 1]), np.array([1, 2, 9]), values, tf=tf)
    assert got.tolist() == ["nice", None, None]


@pytest.mark.parametrize("dtype", ["object", "string", "category", "string[pyarrow]"])
def test_best_of_sets_accepts_any_string_dtype(city_values, dtype):
    values = city_values.assign(value=city_values["value"].astype(dtype))
    left, right = np.array([0, 1, 2, 3, 5]), np.array([1, 2, 4, 6, 0])
    got = best_of_sets(left, right, values, jaro_winkler)
    np.testing.assert_allclose(
        got, brute_force(left, right, city_values, jaro_winkler), equal_nan=True
    )


def test_best_of_sets_with_sparse_fragment_ids():
    values = pd.DataFrame({"fragment": [10**12, 10**12, 5], "value": ["paris", "lyon", "lyon"]})
    got = best_of_sets(np.array([10**12, 5, 7]), np.array([5, 10**12, 5]), values, exact)
    np.testing.assert_array_equal(got, [1.0, 1.0, np.nan])


def test_split_parts_splits_like_pandas_str_split():
    from cxid.link.compare import split_parts

    values = np.array(["jean|dupont", "élodie|", "|martin", "a|b|c", "", "x", None, "|",
                       "a||b", "jean|dupont", "Ærø|Œuf"], dtype=object)
    for n in (1, 2, 3):
        split = pd.Series(values, dtype=object).str.split("|", n=n - 1, expand=True,
                                                         regex=False)
        want = [[None if pd.isna(v) else v for v in split[i]] if i in split
                else [None] * len(values) for i in range(n)]
        got = [list(part) for part in split_parts(values, "|", n)]
        assert got == want
    # not all strings: the pandas way (a non-string has no parts)
    first, second = split_parts(np.array(["a|b", 3], dtype=object), "|", 2)
    assert first[0] == "a" and second[0] == "b" and pd.isna(first[1]) and pd.isna(second[1])
