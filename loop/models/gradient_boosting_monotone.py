"""Histogram gradient boosting with the tolerance factor's monotonic physics built in.

The published tolerance factor says a NASICON becomes less accessible as t1 (Na content,
polyanion-charge disorder) or t2 (Ewald energy x electronegativity x M-radius disorder)
grows. ``gradient_boosting_monotone`` is the boosted-tree challenger on all engine
descriptors with P(accessible) constrained to be non-increasing in t1 and in t2
(``monotonic_cst``), so no tree can reward a larger t1 or t2, wherever data are thin.

Its defaults are the best of a 30-trial optuna study (TPE, seed 0) on the 3881 DFT labels
with the 32 made compositions as experimental labels (weight 5), 10-fold seed-0 CV;
``benchmarks/experimental_validation.py`` re-scores them on folds of another seed.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.gradient_boosting import gradient_boosting_space
from loop.models.spec import ModelSpec

FEATURES: tuple[str, ...] = NUMERIC_DESCRIPTORS
#: Descriptors along which P(accessible) may only fall (-1) as they grow.
DECREASING: tuple[str, ...] = ("t1", "t2")


def monotonic_constraints(
    features: tuple[str, ...] = FEATURES, decreasing: tuple[str, ...] = DECREASING
) -> list[int]:
    """``monotonic_cst`` (a list, so estimator params compare by value): -1 for
    ``decreasing`` columns, 0 elsewhere."""
    return [-1 if f in decreasing else 0 for f in features]


def make_gradient_boosting_monotone(
    random_state: int = 0,
    learning_rate: float = 0.2246,
    max_iter: int = 94,
    max_leaf_nodes: int = 44,
    min_samples_leaf: int = 4,
    l2_regularization: float = 0.964,
    class_weight: str | None = "balanced",
) -> HistGradientBoostingClassifier:
    """Boosted trees, non-increasing in t1 and t2, fixed number of iterations."""
    return HistGradientBoostingClassifier(
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        class_weight=class_weight,
        monotonic_cst=monotonic_constraints(),
        early_stopping=False,
        random_state=random_state,
    )


def gradient_boosting_monotone_space(trial: Any) -> dict[str, Any]:
    """The gradient-boosting search space (the constraints are fixed, not tuned)."""
    return gradient_boosting_space(trial)


SPEC = ModelSpec(
    name="gradient_boosting_monotone",
    factory=make_gradient_boosting_monotone,
    features=FEATURES,
    scope=(
        "all engine descriptors; boosted trees constrained so P(accessible) never rises "
        "with the tolerance factor's t1 or t2"
    ),
    complexity=10,
    defaults={
        "learning_rate": 0.2246,
        "max_iter": 94,
        "max_leaf_nodes": 44,
        "min_samples_leaf": 4,
        "l2_regularization": 0.964,
        "class_weight": "balanced",
    },
    search_space=gradient_boosting_monotone_space,
    tune=False,
    calibration="sigmoid",
)
