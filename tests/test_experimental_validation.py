"""Scoring against the furnace: honest experimental figures and the champion rule (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from loop.descriptors import NUMERIC_DESCRIPTORS, describe_formulas
from loop.errors import ValidationError
from loop.evaluation import (
    CHAMPION_RULE,
    ExperimentalFigures,
    cross_validate,
    cross_validate_with_experiments,
    experimental_figures,
    select_champion_with_experiments,
)
from loop.evaluation.experimental import NO_LABEL, training_labels
from loop.models import MODELS


class Lookup(ClassifierMixin, BaseEstimator):
    """Memorises training rows: predicts a seen row's label, 0 for anything unseen."""

    def fit(self, X, y, sample_weight=None):
        self.seen_ = {tuple(r): int(v) for r, v in zip(np.asarray(X), y, strict=True)}
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.array([self.seen_.get(tuple(r), 0) for r in np.asarray(X)], dtype=float)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _toy(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y_dft = (X[:, 0] > 0.5).astype(int)
    y_exp = np.full(n, NO_LABEL)
    made = rng.choice(np.flatnonzero(y_dft == 0), 12, replace=False)
    y_exp[made] = 1  # labs made what DFT calls unstable
    return X, y_dft, y_exp, made


def test_experimental_rows_are_never_scored_by_a_model_that_saw_them() -> None:
    X, y_dft, y_exp, made = _toy()
    honest = cross_validate_with_experiments(Lookup(), X, y_dft=y_dft, y_exp=y_exp, folds=5)
    assert honest.experimental.accepted == 0  # a memoriser cannot recall held-out rows
    assert honest.experimental.cross_validated
    leaky = Lookup().fit(X, training_labels(y_dft, y_exp, train_on_experiments=True)[0])
    assert leaky.predict(X[made]).sum() == len(made)  # in-sample it would score 12/12


def test_dft_only_regime_uses_the_leaderboard_folds() -> None:
    X, y_dft, y_exp, _ = _toy(seed=1)
    dual = cross_validate_with_experiments(LogisticRegression(), X, y_dft=y_dft, y_exp=y_exp,
                                           train_on_experiments=False, folds=5, seed=2)
    plain = cross_validate(LogisticRegression(), X, y_dft, folds=5, seed=2)
    assert dual.f1_macro == pytest.approx(plain.f1_macro, abs=1e-12)
    np.testing.assert_allclose(dual.oof_score, plain.oof_score)
    assert dual.dft["brier"] == pytest.approx(plain.summary["brier"])


def test_experimental_labels_replace_dft_labels_with_their_weight() -> None:
    y_dft = np.array([0, 1, 0, NO_LABEL])
    y_exp = np.array([1, NO_LABEL, NO_LABEL, 0])
    y, w = training_labels(y_dft, y_exp, train_on_experiments=True, experimental_weight=5)
    assert y.tolist() == [1, 1, 0, 0] and w.tolist() == [5, 1, 1, 5]
    y, w = training_labels(y_dft, y_exp, train_on_experiments=False)
    assert y.tolist() == [0, 1, 0, NO_LABEL] and w.tolist() == [1, 1, 1, 1]
    with pytest.raises(ValidationError, match="needs a DFT or an experimental label"):
        cross_validate_with_experiments(LogisticRegression(), np.zeros((2, 1)),
                                        y_dft=np.array([NO_LABEL, 1]),
                                        y_exp=np.array([NO_LABEL, NO_LABEL]))


def test_experiment_only_rows_are_held_out_and_not_trained_without_experiments() -> None:
    X, y_dft, y_exp, made = _toy(seed=3)
    y_dft = y_dft.copy()
    y_dft[made[:4]] = NO_LABEL  # four made compositions have no DFT record
    r = cross_validate_with_experiments(Lookup(), X, y_dft=y_dft, y_exp=y_exp,
                                        train_on_experiments=False, folds=5)
    assert r.experimental.n_positive == 12 and r.experimental.accepted == 0
    assert sum(f["n_test"] for f in r.dft_folds) == int((y_dft != NO_LABEL).sum())


def test_experimental_figures_need_negatives_for_precision() -> None:
    only_pos = experimental_figures(np.ones(4), np.array([1, 0, 1, 1]), names=list("abcd"),
                                    cross_validated=True)
    assert only_pos.recall == 0.75 and only_pos.missed == ("b",) and only_pos.accepted == 3
    assert only_pos.precision is None and only_pos.f1_macro is None and only_pos.log_loss is None
    mixed = experimental_figures(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]),
                                 np.array([0.9, 0.2, 0.7, 0.1]), cross_validated=True)
    assert mixed.precision == 0.5 and mixed.f1_macro == 0.5 and mixed.log_loss > 0
    assert json.loads(json.dumps(mixed.to_json()))["n_negative"] == 2


def _fig(accepted: int, n: int = 32, f1: float | None = None, neg: int = 0) -> ExperimentalFigures:
    return ExperimentalFigures(n, neg, accepted / n, None if not neg else 0.8, f1, None,
                               tuple(str(i) for i in range(n - accepted)))


def test_a_model_that_rejects_made_compositions_is_not_champion() -> None:
    f1 = {"tolerance_factor_published": 0.75, "gradient_boosting": 0.89, "random_forest": 0.87}
    exp = {"tolerance_factor_published": _fig(19), "gradient_boosting": _fig(17),
           "random_forest": _fig(21)}
    d = select_champion_with_experiments(f1, exp)
    assert d.champion == "random_forest"
    assert not d.eligible["gradient_boosting"] and "17/32" in d.reasons["gradient_boosting"]
    assert d.recall_bar == pytest.approx(19 / 32)


def test_within_the_f1_tolerance_more_made_compositions_win() -> None:
    f1 = {"tolerance_factor_published": 0.75, "gradient_boosting": 0.889, "svm": 0.886,
          "knn": 0.84}
    exp = {"tolerance_factor_published": _fig(19), "gradient_boosting": _fig(20),
           "svm": _fig(22), "knn": _fig(30)}
    assert select_champion_with_experiments(f1, exp).champion == "svm"
    tied = {**exp, "svm": _fig(20)}
    losses = {"gradient_boosting": 0.17, "svm": 0.15}
    assert select_champion_with_experiments(f1, tied, log_loss=losses).champion == "svm"
    assert select_champion_with_experiments(f1, tied).champion == "gradient_boosting"


def test_without_experiments_or_eligible_models_the_rule_falls_back() -> None:
    f1 = {"tolerance_factor_published": 0.75, "gradient_boosting": 0.89}
    none = {n: ExperimentalFigures(0, 0, None, None, None, None) for n in f1}
    assert select_champion_with_experiments(f1, none).champion == "gradient_boosting"
    exp = {"tolerance_factor_published": _fig(19), "gradient_boosting": _fig(10)}
    d = select_champion_with_experiments(f1, exp, min_recall=0.9)
    assert d.champion == "tolerance_factor_published" and not any(d.eligible.values())
    assert "no model reached the bar" in d.reasons[d.champion]


def test_with_negatives_the_experimental_macro_f1_is_a_bar() -> None:
    f1 = {"tolerance_factor_published": 0.75, "gradient_boosting": 0.89, "random_forest": 0.88}
    exp = {"tolerance_factor_published": _fig(19, f1=0.6, neg=5),
           "gradient_boosting": _fig(25, f1=0.5, neg=5), "random_forest": _fig(20, f1=0.7, neg=5)}
    d = select_champion_with_experiments(f1, exp)
    assert d.champion == "random_forest" and not d.eligible["gradient_boosting"]


def test_the_rule_is_one_printable_paragraph() -> None:
    assert "\n" not in CHAMPION_RULE and len(CHAMPION_RULE) > 200
    assert "made" in CHAMPION_RULE and "cross-validation" in CHAMPION_RULE


def test_issue_goals_on_the_dft_set_and_the_made_compositions(dft_frame, shared_dir) -> None:
    """The zoo's physics-constrained booster, calibrated and trained with the 32 made
    compositions as experimental labels, meets the issue's thresholds out of fold."""
    doc = json.loads((shared_dir / "data" / "experimental"
                      / "ouyang2021_made_compositions.json").read_text())
    made = describe_formulas([*doc["reported_exp_comps"], *doc["new_exp_comps"]])[0]
    table, _ = describe_formulas(dft_frame["CompName"])
    row = {f: i for i, f in enumerate(table["formula"])}
    assert set(made["formula"]) <= set(row)  # all 32 are DFT rows: scored out of fold
    y_dft = (dft_frame["NewEhullLst"] <= 0).to_numpy(int)
    y_exp = np.full(y_dft.size, NO_LABEL)
    y_exp[[row[f] for f in made["formula"]]] = 1
    X = table[list(NUMERIC_DESCRIPTORS)].to_numpy(float)
    with threadpool_limits(limits=1):
        tf = cross_validate_with_experiments(
            MODELS["tolerance_factor_published"].build(),
            table[["t1", "t2"]].to_numpy(float), y_dft=y_dft, y_exp=y_exp,
            train_on_experiments=False)
        spec = MODELS["gradient_boosting_monotone"]
        r = cross_validate_with_experiments(
            spec.build(calibrate=True), X, y_dft=y_dft, y_exp=y_exp)
    assert r.f1_macro >= 0.88
    assert r.experimental.accepted >= tf.experimental.accepted
    parents = describe_formulas(["NaZr2(PO4)3", "NaTi2(PO4)3", "Na3Zr2Si2PO12",
                                 "Na4Zr2(SiO4)3"])[0]["formula"]
    assert all(r.oof_score[row[p]] >= 0.5 for p in parents)
    assert r.dft["ece"] < tf.dft["ece"]
