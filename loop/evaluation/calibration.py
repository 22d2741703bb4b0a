"""How well calibrated out-of-fold probabilities are, and which calibration a model gets.

* :func:`reliability_curve`: per equal-width probability bin, the mean predicted P and the
  observed fraction accessible (the points of a reliability diagram).
* :func:`choose_calibration`: from the CV summaries of one model under each calibration
  method, the method with the lowest mean log loss; ``none`` (free) wins unless a method
  beats it by more than ``tolerance``.
* :func:`compare_calibrations`: runs that CV for each method on the same folds.

Screening mixes models on one probability scale only after this step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from loop.errors import ValidationError
from loop.evaluation.cv import CVResult, cross_validate
from loop.evaluation.metrics import ECE_BINS
from loop.models.calibration import CALIBRATION_METHODS, calibrated

#: Log-loss gain (nats per row) a calibration must bring to be preferred to ``none``.
DEFAULT_CALIBRATION_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ReliabilityCurve:
    """Reliability diagram points: one entry per non-empty bin.

    Attributes:
        mean_predicted: mean predicted P(accessible) in the bin.
        observed: fraction of the bin's rows that are accessible.
        count: rows in the bin.
        edges: the bin edges (n_bins + 1, from 0 to 1).
    """

    mean_predicted: np.ndarray
    observed: np.ndarray
    count: np.ndarray
    edges: np.ndarray = field(repr=False)


def reliability_curve(
    y_true: np.ndarray, p: np.ndarray, n_bins: int = ECE_BINS
) -> ReliabilityCurve:
    """Binned predicted P against observed frequency (equal-width bins on [0, 1]).

    Raises:
        ValidationError: ``p`` outside [0, 1] or not finite (not a probability).
    """
    y_true = np.asarray(y_true, dtype=float)
    p = np.asarray(p, dtype=float)
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1):
        raise ValidationError("a reliability curve needs probabilities in [0, 1]")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    p_sum = np.bincount(bins, weights=p, minlength=n_bins)
    y_sum = np.bincount(bins, weights=y_true, minlength=n_bins)
    keep = count > 0
    return ReliabilityCurve(
        mean_predicted=p_sum[keep] / count[keep],
        observed=y_sum[keep] / count[keep],
        count=count[keep],
        edges=np.linspace(0.0, 1.0, n_bins + 1),
    )


@dataclass(frozen=True)
class CalibrationChoice:
    """The chosen method and the CV summary of every method tried."""

    method: str
    summaries: Mapping[str, Mapping[str, Any]]
    criterion: str = "log_loss"

    def table(self) -> list[dict[str, Any]]:
        """One row per method: method, brier, log_loss, ece, f1_macro, chosen."""
        return [
            {
                "method": m,
                **{k: s.get(k) for k in ("brier", "log_loss", "ece", "f1_macro")},
                "chosen": m == self.method,
            }
            for m, s in self.summaries.items()
        ]


def choose_calibration(
    summaries: Mapping[str, Mapping[str, Any]],
    *,
    criterion: str = "log_loss",
    tolerance: float = DEFAULT_CALIBRATION_TOLERANCE,
) -> CalibrationChoice:
    """The method with the lowest mean ``criterion`` (log loss by default).

    ``none`` is kept unless another method is lower by more than ``tolerance``; a method
    whose scores are not probabilities (criterion None) cannot win.

    Raises:
        ValidationError: no method has a finite ``criterion``.
    """
    finite = {
        m: float(s[criterion])
        for m, s in summaries.items()
        if s.get(criterion) is not None and np.isfinite(s[criterion])
    }
    if not finite:
        raise ValidationError(f"no calibration method gives a finite {criterion}")
    best = min(finite, key=lambda m: (finite[m], CALIBRATION_METHODS.index(m)
                                       if m in CALIBRATION_METHODS else 99))
    if "none" in finite and finite["none"] - finite[best] <= tolerance:
        best = "none"
    return CalibrationChoice(best, dict(summaries), criterion)


#: ``run(estimator) -> CVResult``: how one calibrated variant is cross-validated.
CVRunner = Callable[[BaseEstimator], CVResult]


def compare_calibrations(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    *,
    methods: Sequence[str] = CALIBRATION_METHODS,
    folds: int = 10,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    runner: CVRunner | None = None,
) -> tuple[CalibrationChoice, dict[str, CVResult]]:
    """CV of ``estimator`` under each calibration method (same folds), and the choice.

    ``runner`` replaces the plain :func:`cross_validate` (e.g. a CV that also scores
    experimental labels); it receives the wrapped estimator.
    """
    def default_runner(est: BaseEstimator) -> CVResult:
        return cross_validate(est, X, y, folds=folds, seed=seed, sample_weight=sample_weight)

    run = runner or default_runner
    results = {m: run(calibrated(estimator, m, seed=seed)) for m in methods}
    return choose_calibration({m: r.summary for m, r in results.items()}), results
