"""Model evaluation: seeded stratified k-fold CV, metrics, drop-column importance, the
published tolerance-factor reproduction, champion selection and comparison figures."""

from __future__ import annotations

from loop.evaluation.checks import (
    CLASS_NAMES,
    TrainingDataError,
    check_features,
    check_training_labels,
)
from loop.evaluation.cv import (
    CVResult,
    accessibility_score,
    cross_validate,
    fit_estimator,
    stratified_folds,
)
from loop.evaluation.importance import drop_column_importance
from loop.evaluation.metrics import SCALAR_METRICS, fold_metrics, summarise_folds
from loop.evaluation.reproduction import (
    ReproductionResult,
    dataset_t1_t2,
    published_reproduction,
)
from loop.evaluation.selection import DEFAULT_TIE_TOLERANCE, select_champion

__all__ = [
    "CLASS_NAMES",
    "DEFAULT_TIE_TOLERANCE",
    "SCALAR_METRICS",
    "CVResult",
    "ReproductionResult",
    "TrainingDataError",
    "accessibility_score",
    "check_features",
    "check_training_labels",
    "cross_validate",
    "dataset_t1_t2",
    "drop_column_importance",
    "fit_estimator",
    "fold_metrics",
    "published_reproduction",
    "select_champion",
    "stratified_folds",
    "summarise_folds",
]
