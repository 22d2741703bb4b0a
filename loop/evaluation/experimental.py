"""Scoring models against the furnace: experimental labels, honestly.

One stratified k-fold CV gives, for the same out-of-fold predictions,

* the DFT figures (accuracy, macro-F1, ROC-AUC, Brier, log loss, ECE against the DFT label
  Ehull(1000 K) <= threshold of every row that has one), and
* the experimental figures (recall on the compositions labs made; precision, macro-F1 and
  log loss once experimental negatives exist) of the rows that have an experimental label.

A model may train on experimental labels (they then replace the DFT label of the same
composition and weigh ``experimental_weight``), yet every experimental row is scored only
from the fold that held it out: no model is scored on a row it saw. A model trained on DFT
labels only is scored out of fold too, since most made compositions are also DFT rows.

The folds are stratified on the DFT label where there is one (else the experimental
label), so with every row in the DFT set they are exactly
:func:`loop.evaluation.cv.stratified_folds` of the DFT labels, paired with the leaderboard.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import f1_score, precision_score
from threadpoolctl import threadpool_limits

from loop.errors import ValidationError
from loop.evaluation.cv import fit_estimator, scored, stratified_folds
from loop.evaluation.metrics import EPS, fold_metrics, summarise_folds

#: Label value meaning "no label of this kind".
NO_LABEL = -1
#: Weight of an experimental label relative to a DFT label (the registry's default).
DEFAULT_EXPERIMENTAL_WEIGHT = 5.0


@dataclass(frozen=True)
class ExperimentalFigures:
    """A model's verdicts on experimentally labelled compositions.

    Attributes:
        n_positive, n_negative: compositions labs made / tried and failed to make.
        recall: fraction of made compositions predicted accessible (None without any).
        precision, f1_macro, log_loss: None until there are experimental negatives.
        missed: names of made compositions predicted not accessible.
        cross_validated: True when every verdict came from a model that did not see it.
    """

    n_positive: int
    n_negative: int
    recall: float | None
    precision: float | None
    f1_macro: float | None
    log_loss: float | None
    missed: tuple[str, ...] = ()
    cross_validated: bool = True

    @property
    def accepted(self) -> int:
        """Made compositions predicted accessible."""
        return self.n_positive - len(self.missed)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready figures (rounded)."""
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 4)

        return {
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            "accepted": self.accepted,
            "recall": r(self.recall),
            "precision": r(self.precision),
            "f1_macro": r(self.f1_macro),
            "log_loss": r(self.log_loss),
            "missed": list(self.missed),
            "cross_validated": self.cross_validated,
        }


def experimental_figures(
    y_exp: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    *,
    cross_validated: bool,
) -> ExperimentalFigures:
    """Figures of predictions ``pred`` (0/1) against experimental labels ``y_exp`` (0/1).

    Args:
        proba: P(accessible) per row (for the log loss; None for a decision value).
        names: composition names (for ``missed``); row numbers when None.
        cross_validated: whether ``pred`` is out of fold for rows the model trains on;
            pass False only for a model that never saw these rows.
    """
    y_exp = np.asarray(y_exp).astype(int)
    pred = np.asarray(pred).astype(int)
    if y_exp.shape != pred.shape:
        raise ValidationError("experimental labels and predictions differ in length")
    labels = [str(n) for n in names] if names is not None else [str(i) for i in range(y_exp.size)]
    pos, neg = y_exp == 1, y_exp == 0
    recall = float(pred[pos].mean()) if pos.any() else None
    precision = f1 = loss = None
    if neg.any() and pos.any():
        precision = float(precision_score(y_exp, pred, zero_division=0.0))
        f1 = float(f1_score(y_exp, pred, labels=[0, 1], average="macro", zero_division=0.0))
        if proba is not None:
            q = np.clip(np.asarray(proba, dtype=float), EPS, 1 - EPS)
            loss = float(-np.mean(y_exp * np.log(q) + (1 - y_exp) * np.log1p(-q)))
    missed = tuple(labels[i] for i in np.flatnonzero(pos & (pred == 0)))
    return ExperimentalFigures(
        n_positive=int(pos.sum()),
        n_negative=int(neg.sum()),
        recall=recall,
        precision=precision,
        f1_macro=f1,
        log_loss=loss,
        missed=missed,
        cross_validated=cross_validated,
    )


@dataclass(frozen=True)
class DualCVResult:
    """One CV scored against DFT and experimental labels.

    Attributes:
        dft: fold-mean summary against DFT labels (:func:`summarise_folds` keys).
        dft_folds: per-fold DFT metrics.
        experimental: figures on the experimentally labelled rows (out of fold).
        oof_score, oof_pred: out-of-fold score and prediction of every row.
        probability: whether ``oof_score`` is P(accessible).
        trained_on_experiments: whether experimental labels were training labels.
        seconds: wall time, s.
    """

    dft: dict[str, Any]
    dft_folds: tuple[dict[str, Any], ...]
    experimental: ExperimentalFigures
    oof_score: np.ndarray = field(repr=False)
    oof_pred: np.ndarray = field(repr=False)
    probability: bool
    trained_on_experiments: bool
    seconds: float

    @property
    def f1_macro(self) -> float:
        """Mean DFT macro-F1 over folds."""
        return float(self.dft["f1_macro"])


def training_labels(
    y_dft: np.ndarray,
    y_exp: np.ndarray,
    *,
    train_on_experiments: bool,
    experimental_weight: float = DEFAULT_EXPERIMENTAL_WEIGHT,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(label, weight) each row trains with: the experimental label (weight
    ``experimental_weight``) where there is one and experiments are used, else the DFT
    label; :data:`NO_LABEL` marks rows that are never trained on."""
    y_dft, y_exp = np.asarray(y_dft).astype(int), np.asarray(y_exp).astype(int)
    weight = np.ones(y_dft.size) if sample_weight is None else np.asarray(sample_weight, float)
    if not train_on_experiments:
        return y_dft.copy(), weight.copy()
    has_exp = y_exp != NO_LABEL
    y = np.where(has_exp, y_exp, y_dft)
    return y, np.where(has_exp, experimental_weight, weight)


def cross_validate_with_experiments(
    estimator: BaseEstimator,
    X: np.ndarray,
    *,
    y_dft: np.ndarray,
    y_exp: np.ndarray,
    train_on_experiments: bool = True,
    experimental_weight: float = DEFAULT_EXPERIMENTAL_WEIGHT,
    sample_weight: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    folds: int = 10,
    seed: int = 0,
    threads: int | None = 1,
) -> DualCVResult:
    """Stratified k-fold CV scored against both label sources (see the module docstring).

    Args:
        X: features (n, p).
        y_dft: DFT label per row (0/1, :data:`NO_LABEL` where none).
        y_exp: experimental label per row (0/1, :data:`NO_LABEL` where none).
        train_on_experiments: train on experimental labels (replacing DFT ones).
        experimental_weight: training weight of an experimental label.
        sample_weight: training weight of the other rows (default 1).
        names: composition names, for the list of missed made compositions.

    Raises:
        ValidationError: shapes differ, or a row has neither label.
    """
    X = np.asarray(X, dtype=float)
    y_dft, y_exp = np.asarray(y_dft).astype(int), np.asarray(y_exp).astype(int)
    if not (X.shape[0] == y_dft.size == y_exp.size):
        raise ValidationError("X, y_dft and y_exp must have one row per composition")
    if np.any((y_dft == NO_LABEL) & (y_exp == NO_LABEL)):
        raise ValidationError("every row needs a DFT or an experimental label")
    y_train, w_train = training_labels(
        y_dft, y_exp, train_on_experiments=train_on_experiments,
        experimental_weight=experimental_weight, sample_weight=sample_weight,
    )  # fmt: skip
    weighted = not np.allclose(w_train, w_train[0])
    split_on = np.where(y_dft != NO_LABEL, y_dft, y_exp)
    start = time.perf_counter()
    oof_score = np.full(y_dft.size, np.nan)
    oof_pred = np.full(y_dft.size, NO_LABEL, dtype=int)
    dft_folds: list[dict[str, Any]] = []
    probability = True
    with threadpool_limits(limits=threads) if threads else nullcontext():
        for k, (train, test) in enumerate(stratified_folds(split_on, folds, seed)):
            train = train[y_train[train] != NO_LABEL]
            model = clone(estimator)
            fit_estimator(model, X[train], y_train[train], w_train[train] if weighted else None)
            score, is_probability = scored(model, X[test])
            probability = probability and is_probability
            oof_score[test] = score
            oof_pred[test] = np.asarray(model.predict(X[test])).astype(int)
            has_dft = y_dft[test] != NO_LABEL
            if has_dft.any():
                dft_folds.append({"fold": k, **fold_metrics(
                    y_dft[test][has_dft], oof_pred[test][has_dft], score[has_dft],
                    probability=is_probability,
                )})  # fmt: skip
    has_exp = y_exp != NO_LABEL
    experimental = experimental_figures(
        y_exp[has_exp],
        oof_pred[has_exp],
        oof_score[has_exp] if probability else None,
        None if names is None else np.asarray(names, dtype=object)[has_exp],
        cross_validated=True,
    )
    return DualCVResult(
        dft=summarise_folds(dft_folds),
        dft_folds=tuple(dft_folds),
        experimental=experimental,
        oof_score=oof_score,
        oof_pred=oof_pred,
        probability=probability,
        trained_on_experiments=train_on_experiments,
        seconds=time.perf_counter() - start,
    )
