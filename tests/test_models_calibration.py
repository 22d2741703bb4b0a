"""Calibration metrics, calibration inside the CV, the reliability diagram (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from loop.errors import ValidationError
from loop.evaluation import (
    choose_calibration,
    compare_calibrations,
    cross_validate,
    expected_calibration_error,
    probability_metrics,
    reliability_curve,
)
from loop.evaluation.figures import experimental_tradeoff_figure, reliability_figure
from loop.models import MODELS
from loop.models.calibration import calibrated


def _bernoulli(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    return (rng.uniform(0, 1, n) < p).astype(int), p


def test_calibrated_probabilities_have_small_ece_and_distorted_ones_large() -> None:
    y, p = _bernoulli(20_000, seed=1)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, p**3) > 0.1  # overconfident towards 0
    m = probability_metrics(y, p)
    assert m["brier"] < probability_metrics(y, p**3)["brier"]
    assert m["log_loss"] < probability_metrics(y, p**3)["log_loss"]


def test_probability_metrics_of_perfect_and_hard_wrong_predictions() -> None:
    y = np.array([0, 1, 1, 0])
    perfect = probability_metrics(y, y.astype(float))
    assert perfect["brier"] == 0 and perfect["ece"] == 0 and perfect["log_loss"] < 1e-5
    wrong = probability_metrics(y, 1.0 - y)
    assert wrong["brier"] == 1 and np.isfinite(wrong["log_loss"]) and wrong["ece"] == 1


def test_reliability_curve_bins_every_row_and_rejects_non_probabilities() -> None:
    y, p = _bernoulli(5_000, seed=2)
    curve = reliability_curve(y, p, n_bins=10)
    assert curve.count.sum() == y.size
    assert np.all((curve.mean_predicted >= 0) & (curve.mean_predicted <= 1))
    assert np.all(np.abs(curve.mean_predicted - curve.observed) < 0.06)
    with pytest.raises(ValidationError, match="probabilities in \\[0, 1\\]"):
        reliability_curve(y, p * 2 - 0.5)


def test_choice_prefers_lower_log_loss_and_keeps_none_within_tolerance() -> None:
    s = {"none": {"log_loss": 0.30}, "sigmoid": {"log_loss": 0.20}, "isotonic": {"log_loss": 0.25}}
    assert choose_calibration(s).method == "sigmoid"
    close = {"none": {"log_loss": 0.2004}, "sigmoid": {"log_loss": 0.2000}}
    assert choose_calibration(close).method == "none"
    no_proba = {"none": {"log_loss": None}, "isotonic": {"log_loss": 0.4}}
    assert choose_calibration(no_proba).method == "isotonic"
    with pytest.raises(ValidationError, match="no calibration method"):
        choose_calibration({"none": {"log_loss": None}})


def _imbalanced(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(1500, 3))
    logit = 1.5 * X[:, 0] - X[:, 1] - 2.0
    y = (rng.uniform(size=1500) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def test_calibration_inside_the_cv_repairs_a_class_weighted_model() -> None:
    X, y = _imbalanced()
    skewed = LogisticRegression(class_weight="balanced")  # P pushed up for the rare class
    choice, results = compare_calibrations(skewed, X, y, folds=5, seed=0)
    assert set(results) == {"none", "sigmoid", "isotonic"}
    assert choice.method != "none"
    assert results[choice.method].summary["ece"] < results["none"].summary["ece"]
    assert results[choice.method].summary["log_loss"] < results["none"].summary["log_loss"]
    assert results["none"].probability and results["sigmoid"].probability


def test_decision_values_leave_probability_metrics_undefined() -> None:
    X, y = _imbalanced(1)
    result = cross_validate(LinearSVC(), X, y, folds=3, seed=0)
    assert not result.probability
    assert result.summary["brier"] is None and result.summary["ece"] is None
    assert all(f["log_loss"] is None for f in result.folds)
    wrapped = cross_validate(calibrated(LinearSVC(), "sigmoid"), X, y, folds=3, seed=0)
    assert wrapped.probability and 0 < wrapped.summary["brier"] < 0.25


def test_spec_builds_its_calibration_once_and_refuses_unknown_methods() -> None:
    spec = MODELS["gradient_boosting_monotone"]
    assert spec.calibration in ("sigmoid", "isotonic")
    est = spec.build(calibrate=True, random_state=3)
    assert isinstance(est, CalibratedClassifierCV) and est.method == spec.calibration
    assert est.cv.random_state == 3
    assert not isinstance(spec.build(), CalibratedClassifierCV)
    svm = MODELS["svm"].build(deploy=True, calibrate=True)
    assert not isinstance(svm.estimator, CalibratedClassifierCV)  # not wrapped twice
    assert svm.method == MODELS["svm"].calibration
    with pytest.raises(ValidationError, match="unknown calibration 'platt'"):
        calibrated(LogisticRegression(), "platt")


def test_reliability_and_tradeoff_figures_are_figures() -> None:
    y, p = _bernoulli(500, seed=4)
    fig = reliability_figure({"a": (y, p), "b": (y, p**2), "c": (y, np.sqrt(p))}, ncols=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6  # a diagram and a histogram per model
    scatter = experimental_tradeoff_figure({"x": (0.88, 22), "tf": (0.75, 19)}, n_made=32,
                                           f1_goal=0.88, recall_reference=19, highlight=("x",))
    assert isinstance(scatter, Figure)


def test_a_weighted_calibrated_pipeline_fits_without_a_warning_per_fold() -> None:
    """scikit-learn warns on every weighted fit of a calibrated Pipeline (its issue 21134);
    the CV fits it once per fold, so the known limit is logged, not warned (issue: the main
    job printed dozens of these)."""
    import warnings

    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from loop.evaluation.cv import fit_estimator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + rng.normal(scale=0.5, size=120) > 0).astype(int)
    w = np.where(y == 1, 5.0, 1.0)
    model = calibrated(make_pipeline(StandardScaler(), GaussianNB()), "sigmoid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = fit_estimator(model, X, y, sample_weight=w)
    unweighted = fit_estimator(
        calibrated(make_pipeline(StandardScaler(), GaussianNB()), "sigmoid"), X, y
    )
    # the weights did reach the calibration: the probabilities differ from an unweighted fit
    assert not np.allclose(fitted.predict_proba(X), unweighted.predict_proba(X))
