"""Fold metrics of a binary classifier and their mean and sd over folds."""

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
)


def fold_metrics(y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Metrics of one test fold; ``score`` ranks accessibility (probability or decision).

    ROC-AUC is NaN when the fold holds one class only.
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
    }


def summarise_folds(folds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample sd (ddof 1) of each scalar metric; the confusion matrix summed.

    Keys: each of :data:`SCALAR_METRICS`, ``<metric>_sd``, ``confusion_matrix``
    (``[[TN, FP], [FN, TP]]`` with accessible = positive, over all test folds) and ``folds``.
    """
    out: dict[str, Any] = {}
    for name in SCALAR_METRICS:
        values = np.array([f[name] for f in folds], dtype=float)
        finite = values[np.isfinite(values)]
        out[name] = float(finite.mean()) if finite.size else float("nan")
        out[f"{name}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    out["confusion_matrix"] = np.sum(
        [np.asarray(f["confusion_matrix"]) for f in folds], axis=0
    ).tolist()
    out["folds"] = len(folds)
    return out
