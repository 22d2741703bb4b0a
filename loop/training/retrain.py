"""One retrain, as pure steps a CLI or a Prefect flow can call one by one.

    data = training_set_from_frame(frame, folds)          # loop.training.data
    cv = compare_models(specs, data, folds=..., seed=...)  # untuned CV of every model
    tuned = tune_models(specs_to_tune, data, storage=..., round_number=...)
    result = run_retrain(data, settings, ...)              # all of it, plus champion

Nothing here touches the registry or a file: the optuna storage comes from the caller, and
:mod:`loop.training.records` turns the result into rows the caller stores.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from loop.evaluation.cv import CVResult, fit_estimator
from loop.evaluation.importance import drop_column_importance
from loop.evaluation.reproduction import published_reproduction
from loop.models.spec import ModelSpec
from loop.models.tolerance_factor import ToleranceFactorClassifier
from loop.models.zoo import TOLERANCE_FACTOR, get_spec
from loop.progress import NullProgress, ProgressHook
from loop.training.data import TrainingSet
from loop.training.experimental import (
    choose_champion,
    cross_validate_model,
    fit_domain,
)
from loop.training.results import (
    CHAMPION,
    LEADERBOARD_KEYS,
    ModelResult,
    RetrainResult,
    RetrainSettings,
    importance_records,
)
from loop.tuning.study import TuningResult, tune_model

log = logging.getLogger(__name__)

__all__ = [
    "CHAMPION",
    "LEADERBOARD_KEYS",
    "ModelResult",
    "RetrainResult",
    "RetrainSettings",
    "compare_models",
    "deployed_base",
    "finish_retrain",
    "fit_final",
    "importance_records",
    "run_retrain",
    "tolerance_factor_boundary",
    "tune_models",
]


def compare_models(
    specs: Sequence[ModelSpec],
    data: TrainingSet,
    *,
    folds: int = 10,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressHook | None = None,
    calibrate: bool = True,
) -> dict[str, CVResult]:
    """k-fold CV of each model (its defaults updated by ``params[name]``), same folds, scored
    against DFT and experimental labels (:func:`cross_validate_model`); ``calibrate`` wraps
    each model in its spec's calibration."""
    progress = progress or NullProgress()
    params = params or {}
    progress.start("cv", "cross-validating", total=len(specs) * folds)
    out: dict[str, CVResult] = {}
    for spec in specs:
        progress.advance("cv", 0, description=f"cross-validating {spec.name}")
        out[spec.name] = cross_validate_model(
            spec, params.get(spec.name), data, folds=folds, seed=seed, calibrate=calibrate
        )
        progress.advance("cv", folds)
        log.info("%s: CV macro-F1 %.4f", spec.name, out[spec.name].f1_macro)
    progress.finish("cv")
    return out


def tune_models(
    specs: Sequence[ModelSpec],
    data: TrainingSet,
    *,
    storage: optuna.storages.BaseStorage | None,
    round_number: int | None,
    trials: int = 20,
    timeout_s: float | None = None,
    folds: int = 10,
    seed: int = 0,
    progress: ProgressHook | None = None,
) -> dict[str, TuningResult]:
    """One optuna study per model in ``storage`` (None: in memory); the timeout, s, is shared
    (remaining / models left)."""
    progress = progress or NullProgress()
    start = time.perf_counter()
    out: dict[str, TuningResult] = {}
    for i, spec in enumerate(specs):
        budget = None
        if timeout_s is not None:
            left = timeout_s - (time.perf_counter() - start)
            budget = max(left, 1.0) / (len(specs) - i)
        key = f"tune-{spec.name}"
        progress.start(key, f"tuning {spec.name}", total=trials)
        out[spec.name] = tune_model(
            spec,
            data.X(spec),
            data.y,
            storage=storage,
            round_number=round_number,
            n_trials=trials,
            timeout=budget,
            folds=folds,
            seed=seed,
            sample_weight=data.weight if data.weighted else None,
            on_trial=lambda _t, key=key: progress.advance(key),
        )
        progress.finish(key)
        r = out[spec.name]
        log.info(
            "%s: best macro-F1 %.4f after %d trials (%d pruned)",
            spec.name, r.best_value, r.n_complete + r.n_pruned, r.n_pruned,
        )
    return out


def fit_final(
    spec: ModelSpec,
    params: Mapping[str, Any] | None,
    data: TrainingSet,
    seed: int = 0,
    threads: int = 1,
    calibrate: bool = False,
) -> BaseEstimator:
    """The deployable model: ``spec`` with ``params`` (in its calibration when
    ``calibrate``) fitted on every row.

    ``threads`` caps BLAS/OpenMP threads (OpenMP spin-waiting on a busy 2-core machine made
    an uncapped gradient-boosting fit 15x slower in our runs).
    """
    estimator = spec.build(params, random_state=seed, deploy=True, calibrate=calibrate)
    with threadpool_limits(limits=threads):
        return fit_estimator(
            estimator, data.X(spec), data.y, data.weight if data.weighted else None
        )


def deployed_base(estimator: BaseEstimator | None) -> BaseEstimator | None:
    """The fitted model inside a calibration wrapper (fitted on every row), else itself."""
    inner = getattr(estimator, "calibrated_classifiers_", None)
    return inner[0].estimator if inner else estimator


def tolerance_factor_boundary(
    data: TrainingSet, estimator: BaseEstimator | None = None, C: float | None = None
) -> tuple[float, float]:
    """(a, b) of ``a * t1 + t2 <= b`` from a fitted tolerance factor (inside its calibration,
    if any), or refitted here."""
    estimator = deployed_base(estimator)
    if not isinstance(estimator, ToleranceFactorClassifier):
        spec = get_spec(TOLERANCE_FACTOR)
        estimator = fit_final(spec, None if C is None else {"C": C}, data)
    return float(estimator.a_), float(estimator.b_)


def run_retrain(
    data: TrainingSet,
    settings: RetrainSettings,
    *,
    storage: optuna.storages.BaseStorage | None,
    round_number: int | None,
    reproduction_frame: pd.DataFrame | None = None,
    ehull_threshold_mev: float = 0.0,
    progress: ProgressHook | None = None,
) -> RetrainResult:
    """Compare, tune, re-score, select the champion and fit every model on all rows.

    Args:
        data: the validated training set (:func:`training_set_from_frame`).
        storage: optuna storage of the studies (an RDB storage on the registry database,
            made by the caller); None disables tuning.
        reproduction_frame: rows of the DFT data set for the published check (None: skip).
    """
    progress = progress or NullProgress()
    start = time.perf_counter()
    specs = settings.compared_specs()
    default_cv = compare_models(
        specs, data, folds=settings.folds, seed=settings.seed, progress=progress,
        calibrate=settings.calibrate,
    )
    tuning: dict[str, TuningResult] = {}
    if storage is not None:
        tuning = tune_models(
            settings.tuned_specs(),
            data,
            storage=storage,
            round_number=round_number,
            trials=settings.trials,
            timeout_s=settings.timeout_s,
            folds=settings.folds,
            seed=settings.seed,
            progress=progress,
        )
    result = finish_retrain(
        data,
        settings,
        default_cv,
        tuning,
        round_number=round_number,
        reproduction_frame=reproduction_frame,
        ehull_threshold_mev=ehull_threshold_mev,
        progress=progress,
    )
    result.seconds = time.perf_counter() - start
    return result


def finish_retrain(
    data: TrainingSet,
    settings: RetrainSettings,
    default_cv: Mapping[str, CVResult],
    tuning: Mapping[str, TuningResult],
    *,
    round_number: int | None,
    reproduction_frame: pd.DataFrame | None = None,
    ehull_threshold_mev: float = 0.0,
    progress: ProgressHook | None = None,
) -> RetrainResult:
    """Everything after CV and tuning: best parameters, champion, final fits, importance,
    the tolerance-factor boundary and the published check.

    ``default_cv`` and ``tuning`` may come from separate workers (one task per model in the
    Prefect flow); :func:`run_retrain` is the same steps in one process.
    """
    progress = progress or NullProgress()
    start = time.perf_counter()
    specs = settings.compared_specs()
    folds, seed = settings.folds, settings.seed
    timings = {s.name: {"cv": default_cv[s.name].seconds} for s in specs}
    results: dict[str, ModelResult] = {}
    for spec in specs:
        params = dict(spec.defaults)
        cv = default_cv[spec.name]
        t = tuning.get(spec.name)
        if t is not None:
            timings[spec.name]["tuning"] = t.seconds
            best = {**spec.defaults, **t.best_params}
            if best != params:  # re-scored like the defaults (calibrated, both label sources)
                tuned = cross_validate_model(
                    spec, best, data, folds=folds, seed=seed, calibrate=settings.calibrate
                )
                timings[spec.name]["cv_tuned"] = tuned.seconds
                if tuned.f1_macro > cv.f1_macro:
                    params, cv = best, tuned
        results[spec.name] = ModelResult(
            spec=spec, params=params, cv=cv, default_cv=default_cv[spec.name], tuning=t,
            timings=timings[spec.name],
        )

    decision = choose_champion(
        {name: r.cv for name, r in results.items()}, tie_tolerance=settings.tie_tolerance
    )
    champion = decision.champion

    progress.start("fit", "fitting final models", total=len(results))
    for r in results.values():
        t0 = time.perf_counter()
        r.estimator = fit_final(r.spec, r.params, data, seed, calibrate=settings.calibrate)
        r.timings["fit"] = time.perf_counter() - t0
        progress.advance("fit")
    progress.finish("fit")

    for name in _importance_models(settings.importance, champion, results):
        r = results[name]
        n = len(r.spec.features) + 1
        progress.start(f"imp-{name}", f"drop-column importance {name}", total=n)
        t0 = time.perf_counter()
        r.importance = drop_column_importance(
            r.spec,
            data.features,
            data.y,
            params=r.params,
            folds=folds,
            seed=seed,
            sample_weight=data.weight if data.weighted else None,
            on_feature=lambda _f, name=name: progress.advance(f"imp-{name}"),
        )
        r.timings["importance"] = time.perf_counter() - t0
        progress.finish(f"imp-{name}")

    tf = results.get(TOLERANCE_FACTOR)
    boundary = tolerance_factor_boundary(data, tf.estimator if tf else None)

    reproduction = None
    if reproduction_frame is not None:
        reproduction = published_reproduction(
            reproduction_frame, ehull_threshold_mev=ehull_threshold_mev, folds=folds, seed=seed
        )
    return RetrainResult(
        round_number=round_number,
        settings=settings,
        models=results,
        champion=champion,
        tolerance_factor_boundary=boundary,
        reproduction=reproduction,
        n_train=len(data),
        training_sha256=data.sha256,
        class_counts=data.class_counts(),
        seconds=time.perf_counter() - start,
        decision=decision,
        domain=fit_domain(data),
    )



def _importance_models(
    wanted: Sequence[str], champion: str, results: Mapping[str, ModelResult]
) -> list[str]:
    names: list[str] = []
    for name in wanted:
        name = champion if name == CHAMPION else get_spec(name).name
        if name in names:
            continue
        if name not in results:
            log.warning("no drop-column importance for %s: it was not compared", name)
        elif name.startswith("tolerance_factor") or len(results[name].spec.features) < 2:
            log.info("drop-column importance is undefined for %s (fixed 2-D input)", name)
        else:
            names.append(name)
    return names


