"""Fellegi–Sunter EM and the supervised model on simulated comparison levels."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from cxid.errors import CxidError, NotFittedError
from cxid.link.model import Comparison, FellegiSunter, SupervisedModel
from cxid.progress import Progress

COMPARISONS = (
    Comparison(name="name", levels=("else", "last only", "fuzzy", "exact"), tf=True),
    Comparison(name="birth_date", levels=("else", "typo", "exact")),
    Comparison(name="email_local", levels=("else", "exact")),
    Comparison(name="city", levels=("else", "fuzzy", "exact"), tf=True),
    Comparison(name="postcode", levels=("else", "exact")),
)
TRUE_M = [
    np.array([0.03, 0.07, 0.10, 0.80]),
    np.array([0.05, 0.15, 0.80]),
    np.array([0.10, 0.90]),
    np.array([0.05, 0.25, 0.70]),
    np.array([0.15, 0.85]),
]
TRUE_U = [
    np.array([0.92, 0.05, 0.025, 0.005]),
    np.array([0.85, 0.10, 0.05]),
    np.array([0.90, 0.10]),
    np.array([0.80, 0.15, 0.05]),
    np.array([0.70, 0.30]),
]


def simulate(n: int, match_rate: float, seed: int, missing: float = 0.05):
    """Level matrix drawn from known m/u; returns (levels, is_match)."""
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < match_rate
    levels = np.empty((n, len(TRUE_M)), dtype=np.int8)
    for j, (m, u) in enumerate(zip(TRUE_M, TRUE_U, strict=True)):
        drawn_m = rng.choice(len(m), size=n, p=m)
        drawn_u = rng.choice(len(u), size=n, p=u)
        levels[:, j] = np.where(is_match, drawn_m, drawn_u)
        levels[rng.random(n) < missing, j] = -1
    return levels, is_match


def f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    tp = np.sum(predicted & truth)
    return 2 * tp / (predicted.sum() + truth.sum())


@pytest.fixture(scope="module")
def data():
    levels, is_match = simulate(50_000, 0.10, seed=1)
    random_pairs, _ = simulate(50_000, 0.0, seed=2)
    return levels, is_match, random_pairs


@pytest.fixture(scope="module")
def fitted(data):
    levels, _, random_pairs = data
    return FellegiSunter(COMPARISONS).fit(levels, u_levels=random_pairs, prior=0.02)


class Recorder(Progress):
    def __init__(self):
        self.updates: list[tuple[str, int]] = []

    def update(self, stage, done, total=None, unit=""):
        self.updates.append((stage, done))


def test_em_recovers_m_and_classifies(data, fitted):
    levels, is_match, _ = data
    assert fitted.converged_
    assert 0 < fitted.n_iter_ <= fitted.max_iter
    for m, true_m in zip(fitted.m_, TRUE_M, strict=True):
        np.testing.assert_allclose(m, true_m, atol=0.03)
    for u, true_u in zip(fitted.u_, TRUE_U, strict=True):
        np.testing.assert_allclose(u, true_u, atol=0.01)
    assert fitted.lambda_ == pytest.approx(is_match.mean(), abs=0.01)
    scores = fitted.predict(levels)
    assert f1(scores["match_probability"].to_numpy() > 0.5, is_match) > 0.97


def test_em_without_random_pairs_updates_u(data):
    levels, is_match, _ = data
    model = FellegiSunter(COMPARISONS, fix_u=False).fit(levels)
    for m, true_m in zip(model.m_, TRUE_M, strict=True):
        np.testing.assert_allclose(m, true_m, atol=0.03)
    assert f1(model.predict(levels)["match_probability"].to_numpy() > 0.5, is_match) > 0.97


def test_predict_frame_explains_each_comparison(data, fitted):
    levels, _, _ = data
    scores = fitted.predict(levels[:1000])
    assert list(scores.columns) == ["match_weight", "match_probability"] + [
        f"w_{c.name}" for c in COMPARISONS
    ]
    contributions = scores[[f"w_{c.name}" for c in COMPARISONS]].to_numpy()
    np.testing.assert_allclose(
        scores["match_weight"], fitted.prior_log2_odds_ + contributions.sum(axis=1)
    )
    np.testing.assert_allclose(
        scores["match_probability"], 1 / (1 + 2.0 ** -scores["match_weight"])
    )
    # missing levels contribute nothing; exact agreement adds evidence
    missing = levels[:1000, 0] == -1
    assert (contributions[missing, 0] == 0).all()
    assert (contributions[levels[:1000, 0] == 3, 0] > 0).all()
    weights = fitted.match_weights()
    assert len(weights) == sum(c.n_levels for c in COMPARISONS)


def test_tf_adjustment_only_on_tf_comparisons_at_top_level(fitted):
    levels = np.array([[3, 2, 1, 2, 1], [1, 2, 1, 2, 1]], dtype=np.int8)
    base = fitted.predict(levels)
    adjust = np.full(levels.shape, 1.5)
    adjusted = fitted.predict(levels, tf_adjust=adjust)
    # name (tf, top level on row 0 only) and city (tf, top level on both) are adjusted,
    # birth_date / email_local / postcode have tf=False
    delta = adjusted["match_weight"] - base["match_weight"]
    assert delta.tolist() == pytest.approx([3.0, 1.5])
    by_name = fitted.predict(levels, tf_adjust={"city": np.array([-2.0, 0.0])})
    assert (by_name["w_city"] - base["w_city"]).tolist() == pytest.approx([-2.0, 0.0])


def test_progress_reports_em_iterations(data):
    levels, _, random_pairs = data
    recorder = Recorder()
    model = FellegiSunter(COMPARISONS, progress=recorder).fit(levels, u_levels=random_pairs)
    em = [done for stage, done in recorder.updates if stage == "EM"]
    assert em[-1] == model.n_iter_


def test_not_fitted_raises():
    with pytest.raises(NotFittedError):
        FellegiSunter(COMPARISONS).predict(np.zeros((1, len(COMPARISONS)), dtype=np.int8))
    with pytest.raises(NotFittedError):
        SupervisedModel(COMPARISONS).predict(np.zeros((1, len(COMPARISONS)), dtype=np.int8))


def test_constructor_only_stores_params():
    model = FellegiSunter(COMPARISONS, max_iter=7, tol=1e-3, prior=0.2, fix_u=False)
    assert (model.max_iter, model.tol, model.prior, model.fix_u) == (7, 1e-3, 0.2, False)
    assert not [name for name in vars(model) if name.endswith("_")]


def test_bad_levels_are_rejected(fitted):
    with pytest.raises(ValueError, match="shape"):
        fitted.predict(np.zeros((3, 2), dtype=np.int8))
    bad = np.zeros((1, len(COMPARISONS)), dtype=np.int8)
    bad[0, 2] = 5
    with pytest.raises(ValueError, match="email_local"):
        fitted.predict(bad)


def test_json_round_trip_gives_identical_predictions(data, fitted, tmp_path):
    levels, _, _ = data
    path = tmp_path / "model.json"
    fitted.save(path)
    loaded = FellegiSunter.load(path)
    assert json.loads(path.read_text())["format_version"] == 1
    assert loaded.comparisons == list(COMPARISONS)
    assert (loaded.n_iter_, loaded.converged_, loaded.lambda_) == (
        fitted.n_iter_,
        fitted.converged_,
        fitted.lambda_,
    )
    pd.testing.assert_frame_equal(loaded.predict(levels), fitted.predict(levels))
    unfitted = FellegiSunter.from_json(FellegiSunter(COMPARISONS).to_json())
    with pytest.raises(NotFittedError):
        unfitted.predict(levels)


def test_unknown_format_version_raises(fitted):
    doc = json.loads(fitted.to_json())
    doc["format_version"] = 99
    with pytest.raises(CxidError, match="format_version"):
        FellegiSunter.from_json(json.dumps(doc))
    with pytest.raises(CxidError):
        FellegiSunter.from_json("not json")


def test_warns_when_top_level_counts_against_a_match(caplog):
    rng = np.random.default_rng(3)
    comparisons = (
        Comparison(name="good", levels=("else", "exact")),
        Comparison(name="inverted", levels=("else", "exact")),
    )
    is_match = rng.random(20_000) < 0.2
    good = np.where(is_match, rng.random(20_000) < 0.95, rng.random(20_000) < 0.05)
    inverted = np.where(is_match, rng.random(20_000) < 0.05, rng.random(20_000) < 0.6)
    levels = np.column_stack([good, inverted]).astype(np.int8)
    with caplog.at_level(logging.WARNING, logger="cxid.link.model"):
        FellegiSunter(comparisons, fix_u=False, ordinal=False).fit(levels)
    assert any("inverted" in r.getMessage() for r in caplog.records)
    # ordinal levels (the default): the inverted comparison's levels are pooled, so it
    # weighs nothing either way, instead of its agreement counting against a match
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cxid.link.model"):
        model = FellegiSunter(comparisons, fix_u=False).fit(levels)
    assert not any("inverted" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(model.log2_weights_[1], 0.0, atol=1e-9)
    assert (np.diff(model.log2_weights_[0]) >= 0).all()


def test_ordinal_levels_change_nothing_when_em_already_orders_them():
    rng = np.random.default_rng(5)
    comparisons = tuple(Comparison(name=f"c{i}", levels=("else", "close", "exact"))
                        for i in range(3))
    is_match = rng.random(30_000) < 0.1
    cols = [np.where(is_match, rng.choice(3, 30_000, p=[0.1, 0.2, 0.7]),
                     rng.choice(3, 30_000, p=[0.85, 0.1, 0.05])) for _ in comparisons]
    levels = np.column_stack(cols).astype(np.int8)
    plain = FellegiSunter(comparisons, ordinal=False).fit(levels)
    ordered = FellegiSunter(comparisons).fit(levels)
    for a, b in zip(plain.m_, ordered.m_, strict=True):
        np.testing.assert_allclose(a, b)


def test_monotone_ratio_pools_adjacent_violators():
    from cxid.link.model import monotone_ratio

    u = np.array([0.7, 0.2, 0.1])
    ordered = np.array([0.1, 0.3, 0.6])  # factors 0.14, 1.5, 6: already in order
    np.testing.assert_allclose(monotone_ratio(ordered, u), ordered)
    # factors 0.0, 5.0, 0.05: the top two levels are pooled, their m shared by u
    out = monotone_ratio(np.array([0.0, 0.995, 0.005]), u)
    np.testing.assert_allclose(out.sum(), 1.0)
    np.testing.assert_allclose(out[1] / u[1], out[2] / u[2])
    np.testing.assert_allclose(out[1] + out[2], 1.0, atol=1e-5)
    assert (np.diff(out / u) >= -1e-12).all()
    # a violation that reaches back: all three levels end up with one factor
    out = monotone_ratio(np.array([0.8, 0.15, 0.05]), u)  # factors 1.14, 0.75, 0.5
    np.testing.assert_allclose(out, u)


def test_models_written_before_the_ordinal_parameter_load_without_it(fitted):
    doc = json.loads(fitted.to_json())
    assert doc["params"]["ordinal"] is True
    del doc["params"]["ordinal"]
    assert FellegiSunter.from_json(json.dumps(doc)).ordinal is False


def test_comparison_validation():
    with pytest.raises(ValueError):
        Comparison(name="bad name", levels=("else", "exact"))
    with pytest.raises(ValueError):
        Comparison(name="one", levels=("exact",))
    assert Comparison(name="x", levels=["a", "b"]).levels == ("a", "b")


def test_supervised_model_on_labels(data):
    pytest.importorskip("recordlinkage")
    levels, is_match, _ = data
    train, test = slice(0, 25_000), slice(25_000, None)
    model = SupervisedModel(COMPARISONS).fit(levels[train], is_match[train])
    scores = model.predict(levels[test])
    assert list(scores.columns) == ["match_weight", "match_probability"] + [
        f"w_{c.name}" for c in COMPARISONS
    ]
    assert f1(scores["match_probability"].to_numpy() > 0.5, is_match[test]) > 0.97
    contributions = scores[[f"w_{c.name}" for c in COMPARISONS]].to_numpy()
    np.testing.assert_allclose(
        1 / (1 + 2.0 ** -scores["match_weight"]), scores["match_probability"]
    )
    assert np.isfinite(contributions).all()


def test_supervised_model_with_other_classifier(data):
    recordlinkage = pytest.importorskip("recordlinkage")
    levels, is_match, _ = data
    model = SupervisedModel(COMPARISONS, classifier=recordlinkage.NaiveBayesClassifier())
    scores = model.fit(levels[:20_000], is_match[:20_000]).predict(levels[20_000:])
    assert f1(scores["match_probability"].to_numpy() > 0.5, is_match[20_000:]) > 0.95
    assert scores["w_name"].isna().all()


def test_get_and_set_params():
    model = FellegiSunter(COMPARISONS, max_iter=7)
    assert model.get_params()["max_iter"] == 7
    assert model.set_params(tol=1e-2) is model and model.tol == 1e-2
    with pytest.raises(ValueError):
        model.set_params(nope=1)
