"""Optuna tuning: studies in a real RDB storage, fold-wise pruning, warm start, budget."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loop.descriptors import NUMERIC_DESCRIPTORS, describe_formulas
from loop.errors import ValidationError
from loop.models import MODELS, ModelSpec
from loop.tuning import previous_best, study_name, tune_model
from registry.optuna_storage import make_optuna_storage


@pytest.fixture(scope="module")
def subset(dft_frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """600 DFT rows, stratified, with engine descriptors."""
    y_all = (dft_frame["NewEhullLst"] <= 0).to_numpy(int)
    rng = np.random.default_rng(3)
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y_all == c), n, replace=False) for c, n in ((0, 480), (1, 120))]
    )
    table, _ = describe_formulas(dft_frame["CompName"].iloc[idx])
    return table[list(NUMERIC_DESCRIPTORS)].reset_index(drop=True), y_all[idx]


@pytest.fixture
def storage(sqlite_url: str) -> optuna.storages.RDBStorage:
    """The registry's optuna storage on a fresh SQLite file."""
    return make_optuna_storage(sqlite_url)


def _knn_xy(subset):
    X, y = subset
    return X[list(MODELS["knn"].features)].to_numpy(), y


def test_study_is_stored_in_the_sqlite_url_and_warm_starts(subset, sqlite_url, storage) -> None:
    X, y = _knn_xy(subset)
    spec = MODELS["knn"]
    first = tune_model(spec, X, y, storage=storage, round_number=1, n_trials=6, folds=5)
    assert first.study_name == study_name(1, "knn") == "round-1-knn"
    assert first.warm_start is None and first.n_run == 6
    assert first.best_cv is not None and first.best_cv.f1_macro == pytest.approx(first.best_value)

    # a fresh storage object on the same URL sees the study: it lives in the database
    stored = optuna.load_study(study_name="round-1-knn", storage=sqlite_url)
    trials = stored.get_trials(deepcopy=False)
    assert len(trials) == 6
    assert trials[0].params == dict(spec.defaults)  # nothing to warm-start from: defaults
    for t in trials:
        if t.state == TrialState.COMPLETE:  # fold-wise running means were reported
            assert sorted(t.intermediate_values) == list(range(5))
            assert t.intermediate_values[4] == pytest.approx(t.value)
    assert stored.best_value == pytest.approx(first.best_value)

    second = tune_model(spec, X, y, storage=storage, round_number=2, n_trials=4, folds=5)
    assert second.warm_start == "round-1-knn"
    round2 = optuna.load_study(study_name="round-2-knn", storage=sqlite_url)
    assert round2.trials[0].params == first.best_params  # previous round's best goes first
    assert round2.user_attrs["warm_start"] == "round-1-knn"
    assert second.best_value >= round2.trials[0].value
    assert previous_best(round2._storage, 3, "knn")[0] == "round-2-knn"

    # running the same round again tops the study up to n_trials instead of doubling it
    again = tune_model(spec, X, y, storage=storage, round_number=2, n_trials=4, folds=5)
    assert again.n_run == 0 and again.n_complete + again.n_pruned == 4


def test_median_pruning_stops_trailing_trials_across_folds(subset, sqlite_url, storage) -> None:
    X, y = _knn_xy(subset)
    spec = ModelSpec(
        name="good_or_bad",
        factory=lambda random_state=0, kind="good": (
            make_pipeline(StandardScaler(), LogisticRegression()) if kind == "good"
            else DummyClassifier(strategy="most_frequent")
        ),
        features=tuple(NUMERIC_DESCRIPTORS),
        scope="test",
        complexity=99,
        defaults={"kind": "good"},
        search_space=lambda trial: {"kind": trial.suggest_categorical("kind", ["good", "bad"])},
    )
    result = tune_model(
        spec, X, y, storage=storage, round_number=1, n_trials=20, folds=5,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study = optuna.load_study(study_name="round-1-good_or_bad", storage=sqlite_url)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert result.n_pruned == len(pruned) > 0
    assert all(t.params["kind"] == "bad" for t in pruned)
    assert all(len(t.intermediate_values) < 5 for t in pruned)
    assert result.best_params == {"kind": "good"}


def test_timeout_limits_the_trials(subset, storage) -> None:
    X, y = _knn_xy(subset)
    result = tune_model(
        MODELS["knn"], X, y, storage=storage, round_number=1, n_trials=50,
        timeout=0.01, folds=5,
    )
    assert 1 <= result.n_run < 50


def test_untunable_model_and_bad_storage_are_refused(subset, tmp_path) -> None:
    X, y = _knn_xy(subset)
    with pytest.raises(ValidationError, match="no search space"):
        tune_model(MODELS["tolerance_factor_published"], X[:, :2], y,
                   storage=None, round_number=1)
    with pytest.raises(ValidationError, match="cannot open optuna storage"):
        make_optuna_storage(f"sqlite:///{tmp_path}/no/dir/x.db")


def test_without_a_storage_each_call_starts_a_fresh_study_in_memory(subset) -> None:
    X, y = _knn_xy(subset)
    first = tune_model(MODELS["knn"], X, y, storage=None, round_number=1, n_trials=3, folds=3)
    again = tune_model(MODELS["knn"], X, y, storage=None, round_number=1, n_trials=3, folds=3)
    assert first.n_run == again.n_run == 3  # nothing stored between the calls to top up
    assert again.warm_start is None and again.best_cv is not None


@pytest.mark.postgres
def test_studies_on_postgresql(subset, postgres_url) -> None:
    X, y = _knn_xy(subset)
    storage = make_optuna_storage(postgres_url)
    tune_model(MODELS["knn"], X, y, storage=storage, round_number=4, n_trials=3, folds=3)
    second = tune_model(MODELS["knn"], X, y, storage=storage, round_number=5, n_trials=2, folds=3)
    assert second.warm_start == "round-4-knn"
    names = optuna.study.get_all_study_names(postgres_url)
    assert {"round-4-knn", "round-5-knn"} <= set(names)
