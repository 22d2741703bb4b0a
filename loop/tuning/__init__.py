"""Hyper-parameter tuning with optuna, one study per model per round, in a storage the caller
gives (the registry database: :func:`registry.optuna_storage.make_optuna_storage`)."""

from __future__ import annotations

from loop.tuning.study import TuningResult, previous_best, study_name, tune_model

__all__ = ["TuningResult", "previous_best", "study_name", "tune_model"]
