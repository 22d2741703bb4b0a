"""Hyper-parameter tuning with optuna, one study per model per round in the registry DB."""

from __future__ import annotations

from loop.tuning.study import TuningResult, make_storage, previous_best, study_name, tune_model

__all__ = ["TuningResult", "make_storage", "previous_best", "study_name", "tune_model"]
