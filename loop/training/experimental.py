"""The retrain's CV against both label sources, the champion rule, and the domain of the data.

Every compared model is cross-validated once by
:func:`loop.evaluation.experimental.cross_validate_with_experiments`: experimental labels
(source ``experiment``) are training labels (weight ``labels.experimental_weight``), the DFT
figures are against the DFT labels, and the experimental figures of each composition come
from the fold that held it out. The champion is chosen by
:func:`loop.evaluation.selection.select_champion_with_experiments` (:data:`CHAMPION_RULE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from loop.evaluation.cv import CVResult
from loop.evaluation.experimental import (
    DEFAULT_EXPERIMENTAL_WEIGHT,
    ExperimentalFigures,
    cross_validate_with_experiments,
)
from loop.evaluation.selection import (
    DEFAULT_TIE_TOLERANCE,
    ChampionDecision,
    select_champion_with_experiments,
)
from loop.models.applicability import ApplicabilityDomain
from loop.models.spec import ModelSpec
from loop.training.data import TrainingSet

#: Experimental keys of one leaderboard entry (None where undefined: precision, macro-F1
#: and log loss need experimental negatives; log loss needs probabilities).
EXPERIMENTAL_KEYS = ("exp_n", "exp_recall", "exp_precision", "exp_f1_macro", "exp_log_loss")


@dataclass(frozen=True)
class ExperimentalCVResult(CVResult):
    """A :class:`CVResult` whose folds and summary are against DFT labels, with the
    out-of-fold figures on the experimentally labelled rows.

    Attributes:
        experimental: figures on the experimental labels (None: not scored).
        calibration: the probability calibration the CV used (``none``, ``sigmoid``, ...).
    """

    experimental: ExperimentalFigures | None = None
    calibration: str = "none"


def cross_validate_model(
    spec: ModelSpec,
    params: Mapping[str, Any] | None,
    data: TrainingSet,
    *,
    folds: int,
    seed: int,
    calibrate: bool = True,
) -> ExperimentalCVResult:
    """k-fold CV of ``spec`` (``params``; wrapped in its calibration when ``calibrate``),
    scored against DFT labels and, out of fold, against experimental labels."""
    estimator = spec.build(params, random_state=seed, calibrate=calibrate)
    weight = data.experimental_weight or DEFAULT_EXPERIMENTAL_WEIGHT
    dual = cross_validate_with_experiments(
        estimator,
        data.X(spec),
        y_dft=data.labels_dft,
        y_exp=data.labels_exp,
        train_on_experiments=True,
        experimental_weight=weight,
        sample_weight=data.weight if data.weighted else None,
        names=data.formulas,
        folds=folds,
        seed=seed,
    )
    return ExperimentalCVResult(
        folds=dual.dft_folds,
        summary=dual.dft,
        oof_score=dual.oof_score,
        oof_pred=dual.oof_pred,
        seconds=dual.seconds,
        probability=dual.probability,
        experimental=dual.experimental,
        calibration=spec.calibration if calibrate else "none",
    )


def figures_of(cv: CVResult) -> ExperimentalFigures | None:
    """The experimental figures of a CV (None for a plain :class:`CVResult`)."""
    return getattr(cv, "experimental", None)


def choose_champion(
    cvs: Mapping[str, CVResult], *, tie_tolerance: float = DEFAULT_TIE_TOLERANCE
) -> ChampionDecision:
    """The champion of the compared models by :data:`CHAMPION_RULE`."""
    return select_champion_with_experiments(
        {n: cv.f1_macro for n, cv in cvs.items()},
        {n: figures_of(cv) for n, cv in cvs.items()},
        log_loss={n: cv.summary.get("log_loss") for n, cv in cvs.items()},
        tie_tolerance=tie_tolerance,
    )


def _r(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def experimental_row(fig: ExperimentalFigures | None) -> dict[str, Any]:
    """The :data:`EXPERIMENTAL_KEYS` of a leaderboard entry."""
    if fig is None:
        return {"exp_n": 0, **dict.fromkeys(EXPERIMENTAL_KEYS[1:])}
    return {
        "exp_n": fig.n_positive + fig.n_negative,
        "exp_recall": _r(fig.recall),
        "exp_precision": _r(fig.precision),
        "exp_f1_macro": _r(fig.f1_macro),
        "exp_log_loss": _r(fig.log_loss),
    }


def fit_domain(data: TrainingSet) -> ApplicabilityDomain | None:
    """The applicability domain of the training compositions (None without their
    elements, e.g. a training set built outside :func:`training_set_from_frame`)."""
    if data.elements is None or len(data) < 2:
        return None
    return ApplicabilityDomain(features=tuple(data.features.columns)).fit(
        data.features.to_numpy(float), data.elements
    )


def reliability_curves(
    cvs: Mapping[str, CVResult], data: TrainingSet
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """model -> (DFT label, out-of-fold P) of the DFT-labelled rows, for models with
    probabilities (the input of :func:`loop.evaluation.figures.reliability_figure`)."""
    y = data.labels_dft
    has = y >= 0
    return {
        n: (y[has], np.asarray(cv.oof_score)[has])
        for n, cv in cvs.items()
        if cv.probability and has.any()
    }
