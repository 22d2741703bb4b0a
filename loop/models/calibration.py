"""Probability calibration of a zoo model: the wrapper :meth:`ModelSpec.build` applies.

``calibrated(estimator, "sigmoid" | "isotonic")`` wraps an estimator in scikit-learn's
:class:`~sklearn.calibration.CalibratedClassifierCV` with seeded, shuffled, stratified
internal folds and ``ensemble=False`` (the base model is refitted on all rows; the
calibration map is learned from its internal out-of-fold scores). Fitted inside each CV
fold, the calibration never sees the fold it is scored on. ``"none"`` returns the
estimator unchanged. Which method a model uses is measured per model (Brier, log loss,
ECE; ``benchmarks/experimental_validation.py``) and kept in its spec.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold

from loop.errors import ValidationError

#: Calibration choices: none, Platt scaling (sigmoid) or isotonic regression.
CALIBRATION_METHODS: tuple[str, ...] = ("none", "sigmoid", "isotonic")
#: Internal folds of the calibration (each costs one extra fit of the base model).
CALIBRATION_FOLDS = 5


def calibrated(
    estimator: BaseEstimator,
    method: str,
    *,
    folds: int = CALIBRATION_FOLDS,
    seed: int = 0,
) -> BaseEstimator:
    """``estimator`` wrapped so its ``predict_proba`` is calibrated by ``method``.

    An estimator that is already a :class:`CalibratedClassifierCV` is returned as is.

    Raises:
        ValidationError: unknown method.
    """
    if method not in CALIBRATION_METHODS:
        raise ValidationError(
            f"unknown calibration {method!r}; choose one of {', '.join(CALIBRATION_METHODS)}"
        )
    if method == "none" or isinstance(estimator, CalibratedClassifierCV):
        return estimator
    return CalibratedClassifierCV(
        estimator,
        method=method,
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        ensemble=False,
    )
