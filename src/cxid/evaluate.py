"""Accuracy of a resolution against ground truth.

Pairwise and B-cubed precision, recall and F1 are computed from the contingency table
of (true person, predicted customer) counts, never by enumerating record pairs, so
evaluating ten million records costs one group-by.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxid.errors import CxidError

KEY = ["source", "record_id"]


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """Accuracy numbers of one prediction against one truth."""

    records: int
    records_missing: int
    records_without_truth: int
    true_clusters: int
    predicted_clusters: int
    largest_true_cluster: int
    largest_predicted_cluster: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def summary(self) -> str:
        """A few human-readable lines."""
        return (
            f"records {self.records:,} (missing from prediction {self.records_missing:,}, "
            f"without truth {self.records_without_truth:,})\n"
            f"clusters: true {self.true_clusters:,}, predicted {self.predicted_clusters:,}; "
            f"largest true {self.largest_true_cluster:,}, "
            f"largest predicted {self.largest_predicted_cluster:,}\n"
            f"pairwise  P {self.pairwise_precision:.4f}  R {self.pairwise_recall:.4f}  "
            f"F1 {self.pairwise_f1:.4f}\n"
            f"B-cubed   P {self.bcubed_precision:.4f}  R {self.bcubed_recall:.4f}  "
            f"F1 {self.bcubed_f1:.4f}"
        )


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _pairs(n: np.ndarray) -> int:
    n = n.astype(np.int64)
    return int((n * (n - 1) // 2).sum())


def cluster_metrics(truth_labels: pd.Series, pred_labels: pd.Series) -> dict[str, float | int]:
    """Pairwise and B-cubed metrics for two aligned label arrays (one entry per record)."""
    if len(truth_labels) != len(pred_labels):
        raise CxidError("truth and prediction label arrays differ in length")
    n = len(truth_labels)
    if n == 0:
        raise CxidError("no records to evaluate")
    t = pd.factorize(pd.Series(truth_labels).to_numpy(), use_na_sentinel=False)[0]
    p = pd.factorize(pd.Series(pred_labels).to_numpy(), use_na_sentinel=False)[0]
    cells = pd.DataFrame({"t": t, "p": p}).value_counts(sort=False).reset_index(name="n")
    t_size = np.bincount(t)
    p_size = np.bincount(p)
    nij = cells["n"].to_numpy(np.int64)
    correct = _pairs(nij)
    true_pairs = _pairs(t_size)
    pred_pairs = _pairs(p_size)
    pw_p = correct / pred_pairs if pred_pairs else 1.0
    pw_r = correct / true_pairs if true_pairs else 1.0
    sq = nij.astype(np.float64) ** 2
    b_p = float((sq / p_size[cells["p"].to_numpy()]).sum() / n)
    b_r = float((sq / t_size[cells["t"].to_numpy()]).sum() / n)
    return {
        "records": n,
        "true_clusters": len(t_size),
        "predicted_clusters": len(p_size),
        "largest_true_cluster": int(t_size.max()),
        "largest_predicted_cluster": int(p_size.max()),
        "pairwise_precision": pw_p,
        "pairwise_recall": pw_r,
        "pairwise_f1": _f1(pw_p, pw_r),
        "bcubed_precision": b_p,
        "bcubed_recall": b_r,
        "bcubed_f1": _f1(b_p, b_r),
        "true_pairs": true_pairs,
        "predicted_pairs": pred_pairs,
        "correct_pairs": correct,
    }


def evaluate(
    truth: pd.DataFrame,
    predicted: pd.DataFrame,
    *,
    linkable_only: bool = False,
) -> Evaluation:
    """Compare ``predicted`` (source, record_id, customer_id) to ``truth``
    (source, record_id, person_id[, linkable]).

    Truth records missing from the prediction count as singletons (they hurt recall)
    and are reported. With ``linkable_only`` only truth records flagged ``linkable``
    are scored (records no method could attach to their person are left out).
    """
    for frame, cols, what in (
        (truth, [*KEY, "person_id"], "truth"),
        (predicted, [*KEY, "customer_id"], "prediction"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise CxidError(f"{what} lacks column(s) {', '.join(missing)}")
    t = truth[[*KEY, "person_id", *(["linkable"] if "linkable" in truth.columns else [])]].copy()
    if linkable_only:
        if "linkable" not in t.columns:
            raise CxidError("linkable_only needs a 'linkable' column in truth")
        flag = t["linkable"].astype("string").str.lower().isin(["true", "1", "yes"])
        t = t[flag.fillna(False).to_numpy(bool)]
    as_str = dict.fromkeys(KEY, "string")
    t = t.astype(as_str)
    p = predicted[[*KEY, "customer_id"]].astype(as_str).drop_duplicates(KEY)
    merged = t.merge(p, on=KEY, how="left", indicator=True)
    missing = int((merged["_merge"] == "left_only").sum())
    without_truth = len(p.merge(t[KEY], on=KEY, how="left", indicator=True)
                            .query("_merge == 'left_only'"))
    pred = merged["customer_id"].astype("string")
    # a record the prediction lost is its own singleton
    filler = "__missing__" + pd.Series(np.arange(len(merged)).astype(str), index=merged.index)
    pred = pred.fillna(filler)
    metrics = cluster_metrics(merged["person_id"].astype("string"), pred)
    return Evaluation(records_missing=missing, records_without_truth=without_truth, **metrics)


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a truth or prediction table from CSV or parquet, ids as strings."""
    path = Path(path)
    if not path.exists():
        raise CxidError(f"file not found: {path}")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)
