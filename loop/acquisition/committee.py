"""Committee probabilities: one column per model, or per member of an ensemble.

UCB needs a spread. It comes from a committee of different fitted classifiers, from the
members of one ensemble (the trees of a random forest, the estimators of a bagging
ensemble: ``expand_ensembles=True``), or from both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from loop.screening.scoring_model import positive_column


def _positive(model: Any, x: np.ndarray) -> np.ndarray:
    proba = np.asarray(model.predict_proba(x), dtype=float)
    if proba.ndim == 1:
        return proba
    if proba.shape[1] == 1:
        classes = getattr(model, "classes_", [0])
        return np.full(len(proba), 1.0 if classes[0] in (1, True) else 0.0)
    return proba[:, positive_column(model)]


def members(model: Any) -> list[Any] | None:
    """The fitted members of an ensemble classifier (forest, bagging), else None."""
    estimators = getattr(model, "estimators_", None)
    if estimators is None or not isinstance(estimators, list) or not estimators:
        return None
    if not all(hasattr(e, "predict_proba") for e in estimators):
        return None
    return estimators


def committee_probabilities(
    models: Sequence[Any], x: np.ndarray, *, expand_ensembles: bool = False
) -> np.ndarray:
    """(N, m) P(accessible) of each model (or each ensemble member) for the rows of ``x``.

    Ensemble members see ``x`` as a plain array and vote with the parent's class order.
    """
    x = np.asarray(x, dtype=float)
    columns: list[np.ndarray] = []
    for model in models:
        parts = members(model) if expand_ensembles else None
        if parts is None:
            columns.append(_positive(model, x))
            continue
        pos = positive_column(model)
        for tree in parts:
            proba = np.asarray(tree.predict_proba(x), dtype=float)
            columns.append(proba[:, pos] if proba.shape[1] > 1 else np.full(len(x), 0.0))
    if not columns:
        return np.zeros((len(x), 0))
    return np.column_stack(columns)
