"""Every model of the zoo is a well-behaved scikit-learn estimator with a sound spec."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from optuna.trial import FixedTrial
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from loop.descriptors import NUMERIC_DESCRIPTORS, describe_formulas
from loop.errors import ValidationError
from loop.evaluation.cv import accessibility_score, fit_estimator
from loop.models import COMPLEXITY_ORDER, MODELS, get_spec, select_specs


@pytest.fixture(autouse=True)
def one_thread():
    """One OpenMP/BLAS thread, as the CV and final fits use (spin-waiting threads on a busy
    2-core machine make gradient boosting many times slower)."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def small_set(dft_frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """500 rows of the DFT data set (stratified by label) with engine descriptors."""
    y_all = (dft_frame["NewEhullLst"] <= 0).to_numpy(int)
    rng = np.random.default_rng(7)
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y_all == c), n, replace=False) for c, n in ((0, 400), (1, 100))]
    )
    table, parsed = describe_formulas(dft_frame["CompName"].iloc[idx])
    assert not parsed.errors
    return table[list(NUMERIC_DESCRIPTORS)].reset_index(drop=True), y_all[idx]


def _fit_predict(name: str, X: pd.DataFrame, y: np.ndarray, seed: int, deploy: bool = False):
    spec = MODELS[name]
    est = spec.build(random_state=seed, deploy=deploy)
    fitted = fit_estimator(est, X[list(spec.features)].to_numpy(), y)
    return est, fitted


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_returns_self_and_clone_is_unfitted(name: str, small_set) -> None:
    X, y = small_set
    est, fitted = _fit_predict(name, X, y, seed=0)
    assert fitted is est
    assert is_classifier(est)
    copy = clone(est)
    assert copy is not est and repr(copy) == repr(est)
    plain = {
        k: v for k, v in est.get_params().items() if not hasattr(v, "get_params") and k != "steps"
    }
    assert {k: copy.get_params()[k] for k in plain} == plain
    with pytest.raises(NotFittedError):
        copy.predict(X[list(MODELS[name].features)].to_numpy())


@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_same_predictions(name: str, small_set) -> None:
    X, y = small_set
    cols = list(MODELS[name].features)
    _, a = _fit_predict(name, X, y, seed=3)
    _, b = _fit_predict(name, X, y, seed=3)
    Xc = X[cols].to_numpy()
    np.testing.assert_array_equal(a.predict(Xc), b.predict(Xc))
    np.testing.assert_allclose(accessibility_score(a, Xc), accessibility_score(b, Xc))


@pytest.mark.parametrize("name", list(MODELS))
def test_deployed_model_gives_probabilities(name: str, small_set) -> None:
    X, y = small_set
    cols = list(MODELS[name].features)
    _, model = _fit_predict(name, X, y, seed=0, deploy=True)
    proba = model.predict_proba(X[cols].to_numpy())
    assert proba.shape == (len(y), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == [0, 1]


@pytest.mark.parametrize("name", list(MODELS))
def test_spec_is_consistent(name: str) -> None:
    spec = MODELS[name]
    assert spec.name == name
    assert set(spec.features) <= set(NUMERIC_DESCRIPTORS)
    assert len(spec.scope) > 20
    if spec.search_space is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a default outside its own search space warns
            suggested = spec.search_space(FixedTrial(dict(spec.defaults)))
        assert suggested == dict(spec.defaults)
    spec.build(spec.defaults)  # the defaults are factory keywords


def test_registry_order_and_lookup() -> None:
    assert COMPLEXITY_ORDER[0] == "tolerance_factor_published"
    assert COMPLEXITY_ORDER.index("gnb") < COMPLEXITY_ORDER.index("gradient_boosting")
    assert [s.complexity for s in MODELS.values()] == sorted(s.complexity for s in MODELS.values())
    assert {"tolerance_factor", "gnb", "gnb_full", "knn", "decision_tree", "svm", "mlp",
            "random_forest", "gradient_boosting"} <= set(MODELS)
    assert [s.name for s in select_specs(["svm", "gnb", "svm"])] == ["gnb", "svm"]
    assert len(select_specs(None)) == len(MODELS)
    with pytest.raises(ValidationError, match="unknown model 'xgb'; known models: "):
        get_spec("xgb")


def test_gnb_uses_the_published_four_descriptors() -> None:
    assert MODELS["gnb"].features == ("r_mean_pm", "x_mean", "valence_mean", "s_mix_r")
    assert MODELS["gnb_full"].features == NUMERIC_DESCRIPTORS
    assert MODELS["tolerance_factor"].features == ("t1", "t2")


def test_scaling_sits_inside_the_pipelines_that_need_it() -> None:
    for name in ("knn", "svm", "mlp", "gnb_full"):
        est = MODELS[name].build()
        assert type(est.steps[0][1]).__name__ == "StandardScaler", name


def test_monotone_booster_never_rewards_larger_t1_or_t2(small_set) -> None:
    X, y = small_set
    spec = MODELS["gradient_boosting_monotone"]
    model = spec.build(random_state=0).fit(X[list(spec.features)].to_numpy(), y)
    base = X[list(spec.features)].to_numpy()[:50]
    for name in ("t1", "t2"):
        j = list(spec.features).index(name)
        grid = np.linspace(X[name].min(), X[name].max(), 12)
        p = []
        for v in grid:
            Z = base.copy()
            Z[:, j] = v
            p.append(model.predict_proba(Z)[:, 1])
        assert np.all(np.diff(np.array(p), axis=0) <= 1e-12), name


def test_every_model_declares_a_known_calibration_and_the_published_line_none() -> None:
    from loop.models.calibration import CALIBRATION_METHODS

    assert all(spec.calibration in CALIBRATION_METHODS for spec in MODELS.values())
    assert MODELS["tolerance_factor_published"].calibration == "none"  # a fixed reference
