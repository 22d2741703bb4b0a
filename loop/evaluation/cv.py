"""Stratified, shuffled, seeded k-fold cross-validation of one estimator.

The same ``(folds, seed)`` gives the same splits everywhere (comparison, tuning, drop-column
importance), so scores of different models and trials are paired fold by fold.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter
from threadpoolctl import threadpool_limits

from loop.evaluation.metrics import fold_metrics, summarise_folds

log = logging.getLogger(__name__)

#: Called after each fold with (fold index, that fold's metrics, metrics of folds so far);
#: may raise (e.g. optuna.TrialPruned) to stop the CV.
FoldCallback = Callable[[int, Mapping[str, Any], list[Mapping[str, Any]]], None]


def stratified_folds(
    y: np.ndarray, folds: int = 10, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of shuffled stratified k-fold with ``random_state=seed``."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    y = np.asarray(y)
    return list(splitter.split(np.zeros((y.size, 1)), y))


def fit_estimator(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> BaseEstimator:
    """Fit, passing ``sample_weight`` to the final step when it accepts one (else ignored)."""
    if sample_weight is None:
        return estimator.fit(X, y)
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        if has_fit_parameter(last, "sample_weight"):
            return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight})
    elif has_fit_parameter(estimator, "sample_weight"):
        if isinstance(getattr(estimator, "estimator", None), Pipeline):
            # CalibratedClassifierCV over a Pipeline: scikit-learn cannot route the weights
            # into the pipeline, so they weight the calibration only (scikit-learn #21134; the
            # README's *Champion rule* says so). Logged here, not warned once per fold.
            log.debug("%s: sample weights reach the calibration only", type(estimator).__name__)
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message="Since Pipeline does not appear to accept sample_weight"
                )
                return estimator.fit(X, y, sample_weight=sample_weight)
        return estimator.fit(X, y, sample_weight=sample_weight)
    log.debug("%s takes no sample_weight; fitting unweighted", type(estimator).__name__)
    return estimator.fit(X, y)


def accessibility_score(estimator: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """P(accessible) if the estimator has ``predict_proba``, else its decision function."""
    return scored(estimator, X)[0]


def scored(estimator: BaseEstimator, X: np.ndarray) -> tuple[np.ndarray, bool]:
    """(accessibility score, whether it is a probability) of a fitted estimator."""
    if hasattr(estimator, "predict_proba"):
        try:
            return estimator.predict_proba(X)[:, 1], True
        except AttributeError:  # e.g. SVC(probability=False) exposes the name but refuses
            pass
    return estimator.decision_function(X), False


@dataclass(frozen=True)
class CVResult:
    """Fold metrics, their summary and the out-of-fold predictions of one model.

    Attributes:
        folds: one metrics dict per test fold (see :func:`loop.evaluation.metrics.fold_metrics`).
        summary: mean, ``_sd``, summed confusion matrix (:func:`summarise_folds`).
        oof_score: out-of-fold accessibility score per row (probability or decision value).
        oof_pred: out-of-fold predicted label per row.
        seconds: wall time of the CV, s.
        probability: whether ``oof_score`` is P(accessible) (else a decision value).
    """

    folds: tuple[dict[str, Any], ...]
    summary: dict[str, Any]
    oof_score: np.ndarray = field(repr=False)
    oof_pred: np.ndarray = field(repr=False)
    seconds: float
    probability: bool = False

    @property
    def f1_macro(self) -> float:
        """Mean macro-F1 over folds."""
        return float(self.summary["f1_macro"])


def cross_validate(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = 10,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    on_fold: FoldCallback | None = None,
    threads: int | None = 1,
) -> CVResult:
    """Stratified shuffled k-fold CV of a clone of ``estimator`` on (X, y).

    Args:
        X, y: features (n, p) and 0/1 labels (1 = accessible).
        folds, seed: number of folds and split seed.
        sample_weight: per-row training weights (scores are unweighted: one row, one vote).
        on_fold: progress / pruning hook, called after each fold.
        threads: BLAS/OpenMP threads per fit (1 avoids oversubscription on a busy machine;
            None leaves the libraries' defaults).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(int)
    start = time.perf_counter()
    oof_score = np.full(y.size, np.nan)
    oof_pred = np.full(y.size, -1, dtype=int)
    done: list[dict[str, Any]] = []
    probability = True
    limits = threadpool_limits(limits=threads) if threads else None
    try:
        for k, (train, test) in enumerate(stratified_folds(y, folds, seed)):
            model = clone(estimator)
            w = None if sample_weight is None else np.asarray(sample_weight)[train]
            fit_estimator(model, X[train], y[train], w)
            score, is_probability = scored(model, X[test])
            probability = probability and is_probability
            pred = np.asarray(model.predict(X[test])).astype(int)
            oof_score[test] = score
            oof_pred[test] = pred
            metrics = {
                "fold": k,
                **fold_metrics(y[test], pred, score, probability=is_probability),
            }
            done.append(metrics)
            if on_fold is not None:
                on_fold(k, metrics, done)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    return CVResult(
        folds=tuple(done),
        summary=summarise_folds(done),
        oof_score=oof_score,
        oof_pred=oof_pred,
        seconds=time.perf_counter() - start,
        probability=probability and bool(done),
    )
