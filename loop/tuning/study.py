"""Optuna tuning: one study per model per round, stored in the registry's database.

* storage: an optuna storage the caller made (:func:`registry.optuna_storage.make_optuna_storage`
  on the registry's database URL, so studies live beside the model runs), or in memory;
* study name ``round-{n}-{model}`` (``round-none-{model}`` outside rounds);
* warm start: the best parameters of the model's latest earlier-round study are enqueued
  first, then the model's defaults (so a study never ends below its untuned model);
* objective: mean CV macro-F1 over the shared seeded stratified folds; after each fold the
  running mean is reported and a MedianPruner stops trials that trail the median trial at
  the same fold;
* budget: ``n_trials`` finished trials per study (a re-run of the same round tops the study
  up to that count instead of doubling it) and an optional ``timeout`` in seconds.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from loop.errors import ValidationError
from loop.evaluation.cv import CVResult, cross_validate
from loop.evaluation.metrics import SCALAR_METRICS
from loop.models.spec import ModelSpec

log = logging.getLogger(__name__)

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_RAN = (*_FINISHED, TrialState.FAIL)


def study_name(round_number: int | None, model: str) -> str:
    """``round-{n}-{model}``, or ``round-none-{model}`` for a run outside rounds."""
    return f"round-{'none' if round_number is None else int(round_number)}-{model}"


def previous_best(
    storage: optuna.storages.BaseStorage, round_number: int | None, model: str
) -> tuple[str, dict[str, Any]] | None:
    """(study name, best params) of ``model``'s latest study of an earlier round, if any.

    For a run outside rounds (``round_number`` None) the latest numbered round counts.
    """
    pattern = re.compile(rf"^round-(\d+)-{re.escape(model)}$")
    rounds = []
    for name in optuna.study.get_all_study_names(storage):
        match = pattern.match(name)
        if match and (round_number is None or int(match.group(1)) < round_number):
            rounds.append((int(match.group(1)), name))
    for _, name in sorted(rounds, reverse=True):
        study = optuna.load_study(study_name=name, storage=storage)
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if complete:
            return name, dict(study.best_trial.params)
    return None


@dataclass(frozen=True)
class TuningResult:
    """Outcome of one model's study.

    Attributes:
        best_params: factory parameters of the best trial.
        best_value: its mean CV macro-F1.
        best_metrics: its mean CV metrics (accuracy, balanced accuracy, ROC-AUC, ...).
        n_complete, n_pruned: finished trials in the study (all runs of it).
        n_run: trials this call ran.
        warm_start: name of the study whose best parameters were enqueued, or None.
        seconds: wall time of this call, s.
        best_cv: the best trial's full CV result when this call ran it (kept in memory,
            not in the study), so the caller need not cross-validate it again.
    """

    model: str
    study_name: str
    best_params: dict[str, Any]
    best_value: float
    best_metrics: dict[str, float] = field(default_factory=dict)
    n_complete: int = 0
    n_pruned: int = 0
    n_run: int = 0
    warm_start: str | None = None
    seconds: float = 0.0
    best_cv: CVResult | None = field(default=None, repr=False)


def tune_model(
    spec: ModelSpec,
    X: np.ndarray,
    y: np.ndarray,
    *,
    storage: optuna.storages.BaseStorage | None,
    round_number: int | None,
    n_trials: int = 20,
    timeout: float | None = None,
    folds: int = 10,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
    sampler: optuna.samplers.BaseSampler | None = None,
) -> TuningResult:
    """Run (or top up) the study ``round-{n}-{spec.name}`` and return its best trial.

    Args:
        spec: a model with a search space.
        X, y: training features (columns ``spec.features``) and 0/1 labels.
        storage: where the study lives (an RDB storage on the registry's database, made by
            the caller); None keeps it in memory for this call only.
        n_trials: finished trials the study should hold; timeout: seconds for this call.
        folds, seed: the CV of the objective (the same splits as the comparison).
        on_trial: progress hook called after each finished trial.
        sampler: optuna sampler (default: seeded multivariate TPE).

    Raises:
        ValidationError: the model has no search space, or no trial completed.
    """
    if spec.search_space is None:
        raise ValidationError(f"model {spec.name!r} has no search space to tune")
    space = spec.search_space
    start = time.perf_counter()
    if storage is None:
        storage = optuna.storages.InMemoryStorage()
    name = study_name(round_number, spec.name)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=sampler
        or optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=max(4, min(10, n_trials // 3)), multivariate=True
        ),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    study.set_user_attr("model", spec.name)
    study.set_user_attr("folds", folds)
    study.set_user_attr("seed", seed)
    warm = previous_best(storage, round_number, spec.name)
    if warm is not None:
        study.enqueue_trial(warm[1], skip_if_exists=True)
        study.set_user_attr("warm_start", warm[0])
    study.enqueue_trial(dict(spec.defaults), skip_if_exists=True)

    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(int)
    ran: dict[int, CVResult] = {}

    def objective(trial: optuna.Trial) -> float:
        params = space(trial)
        estimator = spec.build(params, random_state=seed)

        def report(k: int, _: Mapping[str, Any], done: list[Mapping[str, Any]]) -> None:
            trial.report(float(np.mean([f["f1_macro"] for f in done])), k)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {k + 1} of {folds}")

        result = cross_validate(
            estimator, X, y, folds=folds, seed=seed, sample_weight=sample_weight, on_fold=report
        )
        trial.set_user_attr("metrics", {m: result.summary[m] for m in SCALAR_METRICS})
        trial.set_user_attr("f1_macro_sd", result.summary["f1_macro_sd"])
        trial.set_user_attr("seconds", round(result.seconds, 3))
        ran[trial.number] = result
        return result.f1_macro

    finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
    before = len(study.get_trials(deepcopy=False, states=_RAN))
    remaining = max(0, n_trials - finished)
    callbacks = [] if on_trial is None else [lambda _s, t: on_trial(t)]
    if remaining:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=timeout,
            callbacks=callbacks,
            catch=(ValueError, ArithmeticError),
            gc_after_trial=False,
        )
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    if not complete:
        raise ValidationError(
            f"no trial of study {name!r} completed (timeout {timeout} s too short?)"
        )
    best = study.best_trial
    return TuningResult(
        model=spec.name,
        study_name=name,
        best_params=dict(best.params),
        best_value=float(best.value),
        best_metrics=dict(best.user_attrs.get("metrics", {})),
        n_complete=len(complete),
        n_pruned=len(pruned),
        n_run=len(study.get_trials(deepcopy=False, states=_RAN)) - before,
        warm_start=warm[0] if warm else None,
        seconds=time.perf_counter() - start,
        best_cv=ran.get(best.number),
    )
