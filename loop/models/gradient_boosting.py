"""Histogram gradient boosting on all engine descriptors (a challenger)."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_gradient_boosting(
    random_state: int = 0,
    learning_rate: float = 0.1,
    max_iter: int = 100,
    max_leaf_nodes: int = 31,
    min_samples_leaf: int = 20,
    l2_regularization: float = 1e-6,
    class_weight: str | None = None,
) -> HistGradientBoostingClassifier:
    """Boosted trees with a fixed number of iterations (no internal early stopping)."""
    return HistGradientBoostingClassifier(
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        class_weight=class_weight,
        early_stopping=False,
        random_state=random_state,
    )


def gradient_boosting_space(trial: TrialLike) -> dict[str, Any]:
    """Step size, rounds (<= 400 to keep a trial cheap), tree size, leaf size, L2, class weights."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
        "max_iter": trial.suggest_int("max_iter", 50, 400, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 63, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 3, 40, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }


SPEC = ModelSpec(
    name="gradient_boosting",
    factory=make_gradient_boosting,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors; boosted trees, the strongest challenger here",
    complexity=8,
    defaults={
        "learning_rate": 0.1,
        "max_iter": 100,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-6,
        "class_weight": None,
    },
    search_space=gradient_boosting_space,
    tune=True,
    calibration="sigmoid",
)
