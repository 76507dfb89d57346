"""Evaluation metrics, checked against brute-force pair enumeration."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from cxid.errors import CxidError
from cxid.evaluate import cluster_metrics, evaluate


def brute_force(truth, pred):
    n = len(truth)
    tp = fp = fn = 0
    for i, j in combinations(range(n), 2):
        same_t, same_p = truth[i] == truth[j], pred[i] == pred[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    bp = np.mean([
        sum(pred[j] == pred[i] and truth[j] == truth[i] for j in range(n))
        / sum(pred[j] == pred[i] for j in range(n)) for i in range(n)
    ])
    br = np.mean([
        sum(pred[j] == pred[i] and truth[j] == truth[i] for j in range(n))
        / sum(truth[j] == truth[i] for j in range(n)) for i in range(n)
    ])
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, bp, br


@pytest.mark.parametrize("seed", range(6))
def test_metrics_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 60
    truth = rng.integers(0, 15, n)
    pred = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 25, n))
    m = cluster_metrics(pd.Series(truth), pd.Series(pred))
    p, r, bp, br = brute_force(list(truth), list(pred))
    assert m["pairwise_precision"] == pytest.approx(p)
    assert m["pairwise_recall"] == pytest.approx(r)
    assert m["bcubed_precision"] == pytest.approx(bp)
    assert m["bcubed_recall"] == pytest.approx(br)
    assert m["pairwise_f1"] == pytest.approx(2 * p * r / (p + r))


def test_perfect_and_all_in_one():
    truth = pd.Series(["a", "a", "b", "c", "c", "c"])
    perfect = cluster_metrics(truth, pd.Series([1, 1, 2, 3, 3, 3]))
    assert perfect["pairwise_f1"] == 1.0 and perfect["bcubed_f1"] == 1.0
    lumped = cluster_metrics(truth, pd.Series([0] * 6))
    assert lumped["pairwise_recall"] == 1.0
    assert lumped["pairwise_precision"] == pytest.approx(4 / 15)
    assert lumped["largest_predicted_cluster"] == 6


def test_evaluate_joins_on_keys_and_counts_missing():
    truth = pd.DataFrame({
        "source": ["web", "web", "crm", "crm"],
        "record_id": ["1", "2", "1", "2"],
        "person_id": ["p1", "p1", "p1", "p2"],
        "linkable": ["True", "True", "True", "False"],
    })
    pred = pd.DataFrame({
        "source": ["crm", "web", "web", "twitter"],
        "record_id": ["1", "1", "2", "9"],
        "customer_id": ["x", "x", "x", "y"],
    })
    ev = evaluate(truth, pred)
    assert ev.records == 4
    assert ev.records_missing == 1  # crm/2 lost: a singleton
    assert ev.records_without_truth == 1
    assert ev.pairwise_precision == 1.0 and ev.pairwise_recall == 1.0
    only = evaluate(truth, pred, linkable_only=True)
    assert only.records == 3 and only.records_missing == 0


def test_evaluate_rejects_bad_frames():
    with pytest.raises(CxidError, match="person_id"):
        evaluate(pd.DataFrame({"source": [], "record_id": []}),
                 pd.DataFrame({"source": [], "record_id": [], "customer_id": []}))
