"""Random forest on all engine descriptors (a challenger to the papers' models)."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import RandomForestClassifier

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_random_forest(
    random_state: int = 0,
    n_estimators: int = 300,
    max_features: float = 0.25,
    min_samples_leaf: int = 1,
    class_weight: str | None = None,
    n_jobs: int | None = -1,
) -> RandomForestClassifier:
    """Bagged CART trees; ``max_features`` is a fraction of the descriptors per split.

    ``n_jobs`` (trees in parallel threads) does not change the fitted forest.
    """
    return RandomForestClassifier(
        n_estimators=n_estimators,
        max_features=max_features,
        min_samples_leaf=min_samples_leaf,
        class_weight=class_weight,
        n_jobs=n_jobs,
        random_state=random_state,
    )


def random_forest_space(trial: TrialLike) -> dict[str, Any]:
    """Forest size, split-feature fraction, leaf size and class weighting."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 500, log=True),
        "max_features": trial.suggest_float("max_features", 0.1, 1.0),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 10, log=True),
        "class_weight": trial.suggest_categorical(
            "class_weight", [None, "balanced_subsample"]
        ),
    }


SPEC = ModelSpec(
    name="random_forest",
    factory=make_random_forest,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors; bagged trees, robust default challenger",
    complexity=7,
    defaults={
        "n_estimators": 300,
        "max_features": 0.25,
        "min_samples_leaf": 1,
        "class_weight": None,
    },
    search_space=random_forest_space,
    tune=False,
)
