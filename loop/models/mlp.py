"""Multilayer perceptron on all engine descriptors (standardised inside the pipeline)."""

from __future__ import annotations

from typing import Any

from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_mlp(
    random_state: int = 0,
    hidden_units: int = 64,
    hidden_layers: int = 2,
    alpha: float = 1e-4,
    learning_rate_init: float = 1e-3,
    max_iter: int = 300,
) -> Pipeline:
    """Standardise, then an Adam-trained ReLU MLP with early stopping on 10 % of the data."""
    mlp = MLPClassifier(
        hidden_layer_sizes=(hidden_units,) * hidden_layers,
        alpha=alpha,
        learning_rate_init=learning_rate_init,
        max_iter=max_iter,
        early_stopping=True,
        n_iter_no_change=15,
        random_state=random_state,
    )
    return Pipeline([("scale", StandardScaler()), ("mlp", mlp)])


def mlp_space(trial: TrialLike) -> dict[str, Any]:
    """Width, depth, L2 penalty and step size."""
    return {
        "hidden_units": trial.suggest_int("hidden_units", 16, 256, log=True),
        "hidden_layers": trial.suggest_int("hidden_layers", 1, 3),
        "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
        "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-2, log=True),
    }


SPEC = ModelSpec(
    name="mlp",
    factory=make_mlp,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors, standardised; flexible, data-hungry, least interpretable",
    complexity=9,
    defaults={"hidden_units": 64, "hidden_layers": 2, "alpha": 1e-4, "learning_rate_init": 1e-3},
    search_space=mlp_space,
    tune=False,
    calibration="isotonic",
)
