"""One retrain of the model zoo as pure steps: training set -> CV comparison -> optuna tuning
-> champion -> fitted models; then artifacts, figures and model-run rows for the registry.

The registry glue (read the training frame, write model runs in one transaction) lives in
the caller (``nasicon.cli.model_commands`` or a Prefect flow), since ``loop`` imports no
registry code.
"""

from __future__ import annotations

from loop.training.data import TrainingSet, training_set_from_frame
from loop.training.persist import (
    SavedArtifacts,
    model_run_rows,
    remove_new_artifacts,
    round_dir,
    save_artifacts,
)
from loop.training.progress import NullProgress, ProgressHook
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
    "SavedArtifacts",
    "TrainingSet",
    "compare_models",
    "finish_retrain",
    "fit_final",
    "model_run_rows",
    "remove_new_artifacts",
    "round_dir",
    "run_retrain",
    "save_artifacts",
    "tolerance_factor_boundary",
    "training_set_from_frame",
    "tune_models",
]
