"""One retrain of the model zoo as pure steps: training set -> CV comparison -> optuna tuning
-> champion -> fitted models; then figures and model-run rows for the registry.

The registry glue (read the training frame, save the artifacts with
:mod:`registry.artifacts`, write model runs in one transaction, save the figures) lives in
the caller (:mod:`flows.services.retrain`), since ``loop`` imports no registry code and does no I/O.
"""

from __future__ import annotations

from loop.progress import NullProgress, ProgressHook
from loop.training.data import TrainingSet, training_set_from_frame
from loop.training.records import artifact_metadata, model_run_rows
from loop.training.retrain import (
    LEADERBOARD_KEYS,
    ModelResult,
    RetrainResult,
    RetrainSettings,
    compare_models,
    finish_retrain,
    fit_final,
    run_retrain,
    tolerance_factor_boundary,
    tune_models,
)

__all__ = [
    "LEADERBOARD_KEYS",
    "ModelResult",
    "NullProgress",
    "ProgressHook",
    "RetrainResult",
    "RetrainSettings",
    "TrainingSet",
    "artifact_metadata",
    "compare_models",
    "finish_retrain",
    "fit_final",
    "model_run_rows",
    "run_retrain",
    "tolerance_factor_boundary",
    "training_set_from_frame",
    "tune_models",
]
