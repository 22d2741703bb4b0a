"""k-nearest neighbours on all engine descriptors (standardised inside the pipeline)."""

from __future__ import annotations

from typing import Any

from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_knn(
    random_state: int = 0, n_neighbors: int = 5, weights: str = "uniform", p: int = 2
) -> Pipeline:
    """Standardise, then k-NN (deterministic: ``random_state`` unused)."""
    knn = KNeighborsClassifier(n_neighbors=n_neighbors, weights=weights, p=p)
    return Pipeline([("scale", StandardScaler()), ("knn", knn)])


def knn_space(trial: TrialLike) -> dict[str, Any]:
    """Neighbourhood size, vote weighting and Minkowski exponent."""
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, 50, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }


SPEC = ModelSpec(
    name="knn",
    factory=make_knn,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors, standardised; local vote, no extrapolation",
    complexity=5,
    defaults={"n_neighbors": 5, "weights": "uniform", "p": 2},
    search_space=knn_space,
    tune=True,
    calibration="isotonic",
)
