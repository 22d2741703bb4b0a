"""Cross-validation, metrics, training-data checks, champion selection, drop-column
importance and the comparison figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

from loop.evaluation import (
    TrainingDataError,
    check_features,
    check_training_labels,
    cross_validate,
    drop_column_importance,
    select_champion,
    stratified_folds,
)
from loop.evaluation.figures import (
    confusion_figure,
    importance_figure,
    roc_figure,
    tolerance_factor_map,
)
from loop.models import MODELS, ModelSpec


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced two-feature data: column 0 carries the label, column 1 is noise."""
    rng = np.random.default_rng(11)
    n = 400
    y = (rng.random(n) < 0.2).astype(int)
    X = np.column_stack([y * 1.5 + rng.normal(size=n), rng.normal(size=n)])
    return X, y


def test_folds_are_stratified_seeded_and_partition(toy) -> None:
    _, y = toy
    a = stratified_folds(y, 10, seed=4)
    b = stratified_folds(y, 10, seed=4)
    c = stratified_folds(y, 10, seed=5)
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b, strict=True))
    assert not all(np.array_equal(x[1], z[1]) for x, z in zip(a, c, strict=True))
    test_rows = np.sort(np.concatenate([t for _, t in a]))
    np.testing.assert_array_equal(test_rows, np.arange(y.size))
    rates = [y[t].mean() for _, t in a]
    assert max(rates) - min(rates) < 0.06  # every fold holds about the 20 % minority


def test_cv_agrees_with_scikit_learn(toy) -> None:
    X, y = toy
    model = LogisticRegression()
    result = cross_validate(model, X, y, folds=5, seed=2)
    ref = cross_val_score(
        model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=2), scoring="f1_macro"
    )
    np.testing.assert_allclose([f["f1_macro"] for f in result.folds], ref)
    assert result.f1_macro == pytest.approx(ref.mean())
    assert result.summary["f1_macro_sd"] == pytest.approx(ref.std(ddof=1))
    assert np.all(result.oof_pred >= 0) and np.all(np.isfinite(result.oof_score))
    # pooled confusion matrix covers every row once
    cm = np.array(result.summary["confusion_matrix"])
    assert cm.sum() == y.size and cm[1].sum() == y.sum()
    assert f1_score(y, result.oof_pred, average="macro") == pytest.approx(
        result.f1_macro, abs=0.05
    )
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "recall_accessible",
                "recall_not_accessible"):
        assert 0 <= result.summary[key] <= 1 and f"{key}_sd" in result.summary


def test_cv_fold_hook_sees_every_fold_and_can_stop(toy) -> None:
    X, y = toy
    seen: list[int] = []

    def hook(k, metrics, done):
        seen.append(k)
        assert len(done) == k + 1 and metrics["fold"] == k
        if k == 2:
            raise StopIteration

    with pytest.raises(StopIteration):
        cross_validate(LogisticRegression(), X, y, folds=6, on_fold=hook)
    assert seen == [0, 1, 2]


@pytest.mark.parametrize(
    ("y", "folds", "message"),
    [
        ([], 10, "no labelled data"),
        ([1, 1, 1, 1, 1], 2, "only one class in the labels \\(all 5 are 'accessible'\\)"),
        ([0, 1, 0, 1, 0, 1], 10, "6 labelled samples are fewer than the 10 folds"),
        ([0] * 30 + [1] * 3, 10, "'accessible' class has 3 samples, fewer than the 10 folds"),
        ([0, 1, 2, 1], 2, "labels must be 0/1"),
        ([0, 1] * 10, 1, "--folds must be at least 2"),
    ],
)
def test_bad_training_labels_are_refused(y, folds, message) -> None:
    with pytest.raises(TrainingDataError, match=message):
        check_training_labels(np.array(y, dtype=int), folds)


def test_non_finite_descriptor_is_named() -> None:
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(TrainingDataError, match="descriptor 't2' is not finite for 1 rows"):
        check_features(X, ("t1", "t2"))


def test_champion_is_best_and_ties_go_to_the_simpler_model() -> None:
    assert select_champion({"gnb": 0.5, "svm": 0.8, "knn": 0.7}) == "svm"
    # within the tie tolerance the simpler model (earlier in the declared order) wins
    assert select_champion({"gradient_boosting": 0.8805, "tolerance_factor": 0.8800}) == (
        "tolerance_factor"
    )
    assert select_champion({"gradient_boosting": 0.8805, "tolerance_factor": 0.8800},
                           tie_tolerance=0.0) == "gradient_boosting"
    assert select_champion({"a": 0.9, "b": 0.9}, order=("b", "a")) == "b"
    assert select_champion({"svm": float("nan"), "knn": 0.6}) == "knn"
    with pytest.raises(ValueError, match="no model has a finite score"):
        select_champion({"svm": float("nan")})


def test_drop_column_importance_finds_the_informative_column(toy) -> None:
    import pandas as pd

    X, y = toy
    spec = ModelSpec(
        name="toy_logistic",
        factory=lambda random_state=0: LogisticRegression(),
        features=("signal", "noise"),
        scope="test model",
        complexity=99,
    )
    frame = pd.DataFrame(X, columns=["signal", "noise"])
    table = drop_column_importance(spec, frame, y, folds=5, seed=0)
    assert list(table["feature"]) == ["signal", "noise"]
    signal, noise = table.set_index("feature").loc[["signal", "noise"], "error_rise"]
    assert signal > 0.02 and abs(noise) < signal
    with pytest.raises(ValueError, match="undefined for 'tolerance_factor'"):
        drop_column_importance(MODELS["tolerance_factor"], frame, y)


def test_figures_are_built_from_arrays(toy, tmp_path) -> None:
    X, y = toy
    result = cross_validate(LogisticRegression(), X, y, folds=5)
    figs = [
        roc_figure({"logistic": (y, result.oof_score), "noise": (y, X[:, 1])}),
        confusion_figure({"logistic": result.summary["confusion_matrix"],
                          "other": [[10, 2], [3, 5]], "third": [[1, 0], [0, 1]]}, ncols=2),
        tolerance_factor_map(np.abs(X[:, 0]), np.abs(X[:, 1]) / 10, y, {"refit": (0.19, 0.3)}),
        importance_figure(["a", "b"], [0.03, -0.01], "toy"),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    legend = [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()]
    assert any(t.startswith("logistic (AUC 0.") for t in legend) and len(legend) == 3
    assert len(figs[1].axes) == 4 and not figs[1].axes[3].axison
    map_legend = [t.get_text() for t in figs[2].axes[0].get_legend().get_texts()]
    assert any("0.203" in t for t in map_legend) and any("0.190 t1 + t2 <= 0.300" in t
                                                         for t in map_legend)
    for i, fig in enumerate(figs):
        path = tmp_path / f"{i}.png"
        fig.savefig(path)
        assert path.stat().st_size > 5000
