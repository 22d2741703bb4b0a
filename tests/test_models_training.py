"""A retrain end to end in Python: training set, comparison, tuning, champion, artifacts,
model-run rows, and the registry glue on SQLite and PostgreSQL (one transaction)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.importers.dft import import_dft
from flows.services.retrain import retrain
from flows.services.rounds import next_free_round
from loop.errors import ValidationError
from loop.evaluation import TrainingDataError, select_champion
from loop.evaluation.cv import fit_estimator
from loop.models import MODELS
from loop.settings import NasiconConfig
from loop.training import (
    LEADERBOARD_KEYS,
    RetrainSettings,
    model_run_rows,
    run_retrain,
    training_set_from_frame,
    tune_models,
)
from loop.training.retrain import deployed_base
from registry import Registry
from registry.artifacts import (
    library_versions,
    load_artifact,
    remove_new_artifacts,
    save_artifacts,
)
from registry.optuna_storage import make_optuna_storage
from registry.repositories import ModelRunRepository


def _subset(dft_frame: pd.DataFrame, n_stable: int, n_unstable: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stable = dft_frame[dft_frame["NewEhullLst"] <= 0]
    unstable = dft_frame[dft_frame["NewEhullLst"] > 0]
    return pd.concat([
        stable.iloc[rng.choice(len(stable), n_stable, replace=False)],
        unstable.iloc[rng.choice(len(unstable), n_unstable, replace=False)],
    ])


@pytest.fixture(scope="module")
def frame(dft_frame) -> pd.DataFrame:
    rows = _subset(dft_frame, 90, 360, seed=5)
    return pd.DataFrame({
        "formula": rows["CompName"].to_numpy(),
        "label": (rows["NewEhullLst"] <= 0).to_numpy(),  # bool labels are accepted
        "source": "dft",
        "weight": 1.0,
    })


@pytest.fixture(scope="module")
def retrained(frame, tmp_path_factory, dft_frame):
    data = training_set_from_frame(frame, folds=4)
    url = f"sqlite:///{tmp_path_factory.mktemp('opt') / 'studies.db'}"
    settings = RetrainSettings(
        folds=4, trials=4, models=("tolerance_factor_published", "tolerance_factor", "gnb",
                                   "knn", "decision_tree"),
        importance=("champion", "gnb"),
    )
    result = run_retrain(data, settings, storage=make_optuna_storage(url), round_number=3,
                         reproduction_frame=dft_frame)
    return data, result


def test_training_set_from_frame(frame) -> None:
    data = training_set_from_frame(frame, folds=4)
    assert len(data) == 450 and data.class_counts() == {"not_accessible": 360, "accessible": 90}
    assert data.features.shape == (450, 19) and not data.weighted
    assert data.sha256 == training_set_from_frame(frame.iloc[::-1], folds=4).sha256
    assert data.X(MODELS["gnb"]).shape == (450, 4)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda f: f.drop(columns="label"), ValidationError, "lacks column\\(s\\) label"),
        (lambda f: f.assign(label=2), ValidationError, "is not 0/1"),
        (lambda f: f.assign(weight=0.0), ValidationError, "finite and positive"),
        (lambda f: f.assign(formula=["Na9Xx", *list(f["formula"][1:])]), TrainingDataError,
         "1 training formulas cannot be described"),
        (lambda f: f.iloc[:0], TrainingDataError, "no labelled data"),
        (lambda f: f[~f["label"]], TrainingDataError, "only one class"),
    ],
)
def test_bad_training_frames(frame, change, error, message) -> None:
    with pytest.raises(error, match=message):
        training_set_from_frame(change(frame), folds=4)


def test_sample_weights_reach_the_final_step_of_a_pipeline() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    w = np.where(X[:, 1] > 0, 5.0, 1.0)
    plain = fit_estimator(MODELS["gnb_full"].build(), X, y)
    weighted = fit_estimator(MODELS["gnb_full"].build(), X, y, w)
    assert not np.allclose(plain[-1].theta_, weighted[-1].theta_)
    fit_estimator(MODELS["knn"].build(), X, y, w)  # no sample_weight: fitted unweighted


def test_retrain_result(retrained) -> None:
    _data, result = retrained
    doc = result.to_json()
    assert set(doc) == {"leaderboard", "champion", "champion_rule", "champion_reason", "eligible",
                        "tolerance_factor_boundary", "published_reproduction", "n_train",
                        "seconds", "models"}
    assert set(doc["models"]) == set(result.models)
    work = doc["models"]
    assert {n for n, w in work.items() if w["tuned"]} == {"knn", "decision_tree"}
    for name in ("knn", "decision_tree"):
        assert work[name]["trials_run"] == 4
        assert work[name]["trials_complete"] + work[name]["trials_pruned"] == 4
        assert set(work[name]["seconds"]) >= {"cv", "tuning", "fit"}
    assert work["gnb"]["trials_run"] is None and "tuning" not in work["gnb"]["seconds"]
    assert work["gnb"]["seconds"]["importance"] > 0
    assert all(set(e) == set(LEADERBOARD_KEYS) for e in doc["leaderboard"])
    scores = {e["model"]: e["f1_macro"] for e in doc["leaderboard"]}
    assert result.champion == select_champion(
        {n: r.cv.f1_macro for n, r in result.models.items()}
    )
    assert scores[result.champion] >= max(scores.values()) - 1e-3
    assert doc["n_train"] == 450 and doc["published_reproduction"]["agreement"] >= 0.99
    for name in ("knn", "decision_tree"):  # tuned by default, 4 trials each
        r = result.models[name]
        assert r.tuning is not None and r.tuning.study_name == f"round-3-{name}"
        assert r.cv.f1_macro >= r.default_cv.f1_macro
        # tuned parameters are re-scored like the defaults and kept only if they score higher
        assert r.params == dict(r.spec.defaults) or r.cv.f1_macro > r.default_cv.f1_macro
    assert result.models["gnb"].tuning is None
    assert list(result.models["gnb"].importance["feature"]) != []
    champion = result.models[result.champion]
    if not result.champion.startswith("tolerance_factor"):
        assert champion.importance is not None
    a, b = doc["tolerance_factor_boundary"].values()
    tf = deployed_base(result.models["tolerance_factor"].estimator)  # inside its calibration
    assert (a, b) == (round(tf.a_, 4), round(tf.b_, 4))


def test_artifacts_and_model_run_rows(retrained, tmp_path) -> None:
    data, result = retrained
    saved = save_artifacts(result, tmp_path)
    assert set(saved.by_model) == set(result.models)
    assert all(p.parent == tmp_path / "round-3" for p in saved.created)
    rows = model_run_rows(result, saved.refs(), library_versions=library_versions())
    assert [r["algorithm"] for r in rows] == list(result.models)
    assert sum(r["is_champion"] for r in rows) == 1
    for row in rows:
        spec = MODELS[row["algorithm"]]
        assert len(row["fold_metrics"]) == 4 and row["n_train"] == 450
        assert row["metrics"]["features"] == list(spec.features)
        assert row["training_data_sha256"] == data.sha256
        model = load_artifact(row["artifact_path"], row["artifact_sha256"])
        X = data.X(spec)
        np.testing.assert_allclose(
            model.predict_proba(X), result.models[row["algorithm"]].estimator.predict_proba(X)
        )
    # a file that was there before a failed retrain is kept; the new ones go
    keep = tmp_path / "round-3" / "gnb-000000000000.skops"
    keep.write_bytes(b"earlier")
    assert keep not in save_artifacts(result, tmp_path).created
    remove_new_artifacts(saved)
    assert not any(p.exists() for p in saved.created) and keep.exists()


def _registry_with_subset(url: str, dft_frame: pd.DataFrame, folder) -> Registry:
    rows = _subset(dft_frame, 40, 160, seed=9).drop(columns=["split"])
    folder.mkdir()
    rows.to_csv(folder / "train.csv", index=False)
    rows.iloc[:0].to_csv(folder / "test.csv", index=False)
    registry = Registry.from_url(url, check_schema=False)
    registry.init_schema()
    import_dft(registry, folder)
    return registry


def _config(url: str, dft_dir, tmp_path) -> NasiconConfig:
    cfg = NasiconConfig()
    cfg.database.url = url
    cfg.data.dft_path = dft_dir
    cfg.models.artifacts_dir = tmp_path / "models"
    return cfg


SETTINGS = RetrainSettings(folds=3, trials=2, models=("tolerance_factor", "gnb", "knn"))


def _glue_roundtrip(url, dft_frame, dft_data_dir, tmp_path) -> None:
    registry = _registry_with_subset(url, dft_frame, tmp_path / "subset")
    with registry:
        cfg = _config(url, dft_data_dir, tmp_path)
        stored = retrain(registry, cfg, SETTINGS, round_number=1, figures_dir=tmp_path / "fig")
        result, ids, figures = stored.result, stored.model_run_ids, stored.figures
        with registry.unit_of_work(write=False) as uow:
            runs = uow.model_runs.find(1)
            champion = uow.model_runs.champion()
        assert {r.algorithm for r in runs} == {"tolerance_factor", "gnb", "knn"}
        assert champion.algorithm == result.champion
        assert set(ids.values()) == {r.id for r in runs}
        assert figures["roc"].exists()
        # round 2 warm-starts knn from round 1's study, stored in the same database
        result2 = retrain(registry, cfg, SETTINGS, round_number=2).result
        assert result2.models["knn"].tuning.warm_start == "round-1-knn"
        assert next_free_round(registry) == 3
        # a stored round is refused, or handed back as stored when asked to reuse it
        with pytest.raises(ValidationError, match="already has model runs"):
            retrain(registry, cfg, SETTINGS, round_number=2)
        again = retrain(registry, cfg, SETTINGS, round_number=2, reuse_stored=True)
        assert again.reused and again.result is None
        assert again.model_run_ids == retrain(
            registry, cfg, SETTINGS, round_number=2, reuse_stored=True
        ).model_run_ids
        assert again.champion == result2.champion


def test_registry_glue_on_sqlite(sqlite_url, dft_frame, dft_data_dir, tmp_path) -> None:
    _glue_roundtrip(sqlite_url, dft_frame, dft_data_dir, tmp_path)


@pytest.mark.postgres
def test_registry_glue_on_postgresql(postgres_url, dft_frame, dft_data_dir, tmp_path) -> None:
    _glue_roundtrip(postgres_url, dft_frame, dft_data_dir, tmp_path)


def test_failed_write_stores_no_run_and_removes_artifacts(
    sqlite_url, dft_frame, dft_data_dir, tmp_path, monkeypatch
) -> None:
    registry = _registry_with_subset(sqlite_url, dft_frame, tmp_path / "subset")
    real = ModelRunRepository.add
    calls = []

    def flaky(self, **row):
        calls.append(row["algorithm"])
        if len(calls) == 2:
            raise ValidationError("disk full (injected)")
        return real(self, **row)

    monkeypatch.setattr(ModelRunRepository, "add", flaky)
    with registry:
        with pytest.raises(ValidationError, match="injected"):
            retrain(registry, _config(sqlite_url, dft_data_dir, tmp_path), SETTINGS, round_number=1)
        stored = registry.run(lambda uow: uow.model_runs.find(), write=False)
        assert calls and stored == []  # the first row was rolled back too
    assert list((tmp_path / "models").rglob("*.skops")) == []


def test_tuning_timeout_is_shared_by_the_tuned_models(frame, tmp_path) -> None:
    data = training_set_from_frame(frame, folds=3)
    specs = [MODELS["knn"], MODELS["decision_tree"]]
    tuned = tune_models(specs, data, storage=make_optuna_storage(f"sqlite:///{tmp_path / 's.db'}"),
                        round_number=1, trials=200, timeout_s=3.0, folds=3)
    assert set(tuned) == {"knn", "decision_tree"}
    assert all(1 <= t.n_run < 200 for t in tuned.values())  # the budget, not n_trials, ended
