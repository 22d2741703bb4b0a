"""A single decision tree on all engine descriptors."""

from __future__ import annotations

from typing import Any

from sklearn.tree import DecisionTreeClassifier

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_decision_tree(
    random_state: int = 0,
    max_depth: int | None = None,
    min_samples_leaf: int = 1,
    criterion: str = "gini",
    class_weight: str | None = None,
) -> DecisionTreeClassifier:
    """A CART tree (``max_depth`` None = grow until pure)."""
    return DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        criterion=criterion,
        class_weight=class_weight,
        random_state=random_state,
    )


def decision_tree_space(trial: TrialLike) -> dict[str, Any]:
    """Depth, leaf size, split criterion and class weighting."""
    return {
        "max_depth": trial.suggest_int("max_depth", 2, 30),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 40, log=True),
        "criterion": trial.suggest_categorical("criterion", ["gini", "entropy"]),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }


SPEC = ModelSpec(
    name="decision_tree",
    factory=make_decision_tree,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors; axis-parallel rules, high variance",
    complexity=4,
    defaults={"max_depth": 30, "min_samples_leaf": 1, "criterion": "gini", "class_weight": None},
    search_space=decision_tree_space,
    tune=True,
    calibration="isotonic",
)
