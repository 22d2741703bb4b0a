"""Fold metrics of a binary classifier and their mean and sd over folds.

Probability metrics (``brier``, ``log_loss``, ``ece``) are defined only when the score is a
probability P(accessible); for a decision value they are None (JSON has no NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    recall_score,
    roc_auc_score,
)

#: Scalar metrics of every fold (recall per class: 0 = not accessible, 1 = accessible).
SCALAR_METRICS: tuple[str, ...] = (
    "accuracy",
    "f1_macro",
    "balanced_accuracy",
    "roc_auc",
    "recall_not_accessible",
    "recall_accessible",
    "brier",
    "log_loss",
    "ece",
)
#: The metrics that need a probability (lower is better).
PROBABILITY_METRICS: tuple[str, ...] = ("brier", "log_loss", "ece")
#: Probabilities are clipped to [EPS, 1 - EPS] for the log loss (a hard 0 or 1 that is
#: wrong would otherwise give infinity).
EPS = 1e-6
#: Equal-width probability bins of the expected calibration error.
ECE_BINS = 10


def expected_calibration_error(
    y_true: np.ndarray, p: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """Expected calibration error: sum over equal-width bins of (bin share) x
    |mean predicted P - observed fraction accessible|, in probability units (0 = calibrated).
    """
    y_true = np.asarray(y_true, dtype=float)
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    p_sum = np.bincount(bins, weights=p, minlength=n_bins)
    y_sum = np.bincount(bins, weights=y_true, minlength=n_bins)
    return float(np.abs(p_sum - y_sum).sum() / p.size)


def probability_metrics(y_true: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Brier score, log loss (natural log, p clipped to [EPS, 1 - EPS]) and ECE of
    probabilities ``p`` of class 1 against 0/1 labels."""
    y_true = np.asarray(y_true).astype(int)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    q = np.clip(p, EPS, 1 - EPS)
    return {
        "brier": float(np.mean((p - y_true) ** 2)),
        "log_loss": float(-np.mean(y_true * np.log(q) + (1 - y_true) * np.log1p(-q))),
        "ece": expected_calibration_error(y_true, p),
    }


def fold_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray, *, probability: bool = False
) -> dict[str, Any]:
    """Metrics of one test fold; ``score`` ranks accessibility (probability or decision).

    ROC-AUC is NaN when the fold holds one class only; the probability metrics are None
    unless ``probability`` (``score`` is P(accessible)).
    """
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    recall = recall_score(y_true, y_pred, labels=[0, 1], average=None, zero_division=0.0)
    both = np.unique(y_true).size == 2
    return {
        "n_test": int(y_true.size),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            f1_score(y_true, y_pred, labels=[0, 1], average="macro", zero_division=0.0)
        ),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if both else np.nan,
        "roc_auc": float(roc_auc_score(y_true, score)) if both else float("nan"),
        "recall_not_accessible": float(recall[0]),
        "recall_accessible": float(recall[1]),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        **(
            probability_metrics(y_true, score)
            if probability
            else dict.fromkeys(PROBABILITY_METRICS)
        ),
    }


def summarise_folds(folds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample sd (ddof 1) of each scalar metric; the confusion matrix summed.

    Keys: each of :data:`SCALAR_METRICS`, ``<metric>_sd``, ``confusion_matrix``
    (``[[TN, FP], [FN, TP]]`` with accessible = positive, over all test folds) and ``folds``.
    A metric no fold defines (probability metrics of a decision value) is None.
    """
    out: dict[str, Any] = {}
    for name in SCALAR_METRICS:
        values = np.array([f.get(name) for f in folds], dtype=float)  # None -> nan
        finite = values[np.isfinite(values)]
        if not finite.size and name in PROBABILITY_METRICS:
            out[name] = out[f"{name}_sd"] = None
            continue
        out[name] = float(finite.mean()) if finite.size else float("nan")
        out[f"{name}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    out["confusion_matrix"] = np.sum(
        [np.asarray(f["confusion_matrix"]) for f in folds], axis=0
    ).tolist()
    out["folds"] = len(folds)
    return out
