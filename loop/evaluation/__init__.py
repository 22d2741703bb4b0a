"""Model evaluation: seeded stratified k-fold CV, metrics (incl. calibration), drop-column
importance, experimental (furnace) figures, the published tolerance-factor reproduction,
champion selection and comparison figures."""

from __future__ import annotations

from loop.evaluation.calibration import (
    CalibrationChoice,
    ReliabilityCurve,
    choose_calibration,
    compare_calibrations,
    reliability_curve,
)
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
from loop.evaluation.experimental import (
    DualCVResult,
    ExperimentalFigures,
    cross_validate_with_experiments,
    experimental_figures,
)
from loop.evaluation.importance import drop_column_importance
from loop.evaluation.metrics import (
    PROBABILITY_METRICS,
    SCALAR_METRICS,
    expected_calibration_error,
    fold_metrics,
    probability_metrics,
    summarise_folds,
)
from loop.evaluation.reproduction import (
    ReproductionResult,
    dataset_t1_t2,
    published_reproduction,
)
from loop.evaluation.selection import (
    CHAMPION_RULE,
    DEFAULT_TIE_TOLERANCE,
    ChampionDecision,
    select_champion,
    select_champion_with_experiments,
)

__all__ = [
    "CHAMPION_RULE",
    "CLASS_NAMES",
    "DEFAULT_TIE_TOLERANCE",
    "PROBABILITY_METRICS",
    "SCALAR_METRICS",
    "CVResult",
    "CalibrationChoice",
    "ChampionDecision",
    "DualCVResult",
    "ExperimentalFigures",
    "ReliabilityCurve",
    "ReproductionResult",
    "TrainingDataError",
    "accessibility_score",
    "check_features",
    "check_training_labels",
    "choose_calibration",
    "compare_calibrations",
    "cross_validate",
    "cross_validate_with_experiments",
    "dataset_t1_t2",
    "drop_column_importance",
    "expected_calibration_error",
    "experimental_figures",
    "fit_estimator",
    "fold_metrics",
    "probability_metrics",
    "published_reproduction",
    "reliability_curve",
    "select_champion",
    "select_champion_with_experiments",
    "stratified_folds",
    "summarise_folds",
]
