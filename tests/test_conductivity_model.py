"""The conductivity regressor: purged leave-papers-out folds, calibrated intervals whose
coverage is measured, sodium out of domain when its rows are too few, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from registry_fixtures import assert_one_error_line

from loop.conductivity.features import formula_features, purged_splits
from loop.conductivity.model import ForestSettings, cross_validate, fit_conductivity_model
from loop.descriptors import describe_formulas
from loop.errors import ValidationError


def synthetic(n_li: int, n_na: int, seed: int = 0):
    """LATP/LAGP-like Li rows and NZSP-like Na rows; log10 sigma peaks at x = 0.4."""
    rng = np.random.default_rng(seed)
    formulas, y = [], []
    for _ in range(n_li):
        x = round(rng.uniform(0.0, 0.8), 2)
        m = "Ti" if rng.random() < 0.6 else "Ge"
        formulas.append(f"Li{1 + x:g}Al{x:g}{m}{2 - x:g}(PO4)3")
        y.append(-3.0 - 4.0 * (x - 0.4) ** 2 - (1.0 if m == "Ge" else 0.0))
    for _ in range(n_na):
        x = round(rng.uniform(1.0, 2.5), 2)
        formulas.append(f"Na{1 + x:g}Zr2Si{x:g}P{3 - x:g}O12")
        y.append(-3.5 - (x - 2.0) ** 2)
    y = np.array(y) + rng.normal(0.0, 0.3, len(y))
    refs = [f"doi:paper{rng.integers(0, 25)}" for _ in formulas]
    X, ions = formula_features(formulas)
    return X, y, ions, formulas, refs


def test_purged_splits_keep_papers_and_compositions_on_one_side() -> None:
    comps = ["A", "A", "B", "C", "C", "D", "E", "F"] * 3
    refs = [f"r{i % 7}" for i in range(len(comps))]
    folds = purged_splits(comps, refs, n_splits=3)
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen) == list(range(len(comps)))  # every row tested once
    for train, test in folds:
        c, r = np.array(comps), np.array(refs)
        assert not set(c[train]) & set(c[test])
        assert not set(r[train]) & set(r[test])


def test_intervals_cover_what_they_claim_on_held_out_papers() -> None:
    X, y, ions, comps, refs = synthetic(240, 0)
    cv = cross_validate(X, y, ions, comps, refs, ForestSettings(n_estimators=60))
    m = cv["metrics"]["all"]
    # cross-conformal: each fold's scale comes from the other folds
    assert 0.55 <= m["coverage_68"] <= 0.82, m
    assert 0.88 <= m["coverage_95"] <= 1.0, m
    assert m["spearman"] > 0.5 and m["mae"] < 1.0, m
    assert cv["scale_95"] > cv["scale_68"] > 0


def test_sodium_with_few_rows_is_out_of_domain_with_a_wider_sd() -> None:
    X, y, ions, comps, refs = synthetic(150, 6)
    model = fit_conductivity_model(X, y, ions, comps, refs, ForestSettings(n_estimators=60))
    assert model.ion_counts == {"Li": 150, "Na": 6}
    query, _ = formula_features(["Li1.4Al0.4Ti1.6(PO4)3", "Na3Zr2Si2PO12"])
    mean, sd = model.predict(query)
    ok, reasons = model.domain(query)
    assert ok.tolist() == [True, False]
    assert reasons[0] is None and "only 6 Na training rows (< 20)" in reasons[1]
    assert sd[1] > sd[0] > 0
    low68, high68 = model.interval(query, 0.68)
    low95, high95 = model.interval(query, 0.95)
    assert np.allclose(high68 - low68, 2 * sd)
    assert ((high95 - low95) > (high68 - low68)).all()
    assert model.metrics["per_ion"]["Na"]["n"] == 6
    # the array form (the recommender's protocol) gives the same answer
    mean2, sd2 = model.predict(
        query.reindex(columns=model.feature_names, fill_value=0.0).to_numpy()
    )
    assert np.allclose(mean, mean2) and np.allclose(sd, sd2)
    _, parsed = describe_formulas(["Li1.4Al0.4Ti1.6(PO4)3", "Na3Zr2Si2PO12"])
    mean3, sd3 = model.predict_batch(parsed.batch)
    assert np.allclose(mean, mean3) and np.allclose(sd, sd3)


def test_an_element_absent_from_training_is_out_of_domain() -> None:
    X, y, ions, comps, refs = synthetic(80, 0)
    model = fit_conductivity_model(X, y, ions, comps, refs, ForestSettings(n_estimators=30))
    query, _ = formula_features(["Li1.5Sc0.5Zr1.5(PO4)3"])
    ok, reasons = model.domain(query)
    assert not ok[0] and "Sc" in reasons[0] and "Zr" in reasons[0]


def test_too_little_data_is_refused() -> None:
    X, y, ions, comps, refs = synthetic(8, 0)
    with pytest.raises(ValidationError, match="needs >= 10 rows"):
        fit_conductivity_model(X, y, ions, comps, refs)


def test_train_show_predict_through_the_cli(tmp_path: Path, shared_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    tables = shared_dir / "data" / "conductivity" / "liverpool_nasicon.csv"

    def cli(*args: str):
        return run_cli(["--db", url, *args], cwd=tmp_path, env={"COLUMNS": "200"})

    assert cli("init").code == 0
    missing = cli("conductivity", "show")
    assert missing.code == 2
    assert_one_error_line(missing.stderr, "no conductivity model", "conductivity train")
    assert cli("import", "conductivity", str(tables)).code == 0
    trained = cli("conductivity", "train", "--json")
    assert trained.code == 0, trained.stderr
    doc = json.loads(trained.stdout)
    assert doc["counts"]["per_ion"] == {"Li": doc["counts"]["targets_25c"]}
    assert Path(doc["artifact_path"]).is_file()
    shown = cli("conductivity", "show")
    assert shown.code == 0 and "Na: 0 rows, too few" in shown.stdout
    pred = cli("conductivity", "predict", "--json", "Li1.5Al0.5Ge1.5(PO4)3", "Na3Zr2Si2PO12")
    assert pred.code == 0, pred.stderr
    li, na = json.loads(pred.stdout)
    assert li["in_domain"] and not na["in_domain"] and na["sd"] > li["sd"] > 0
    bad = cli("conductivity", "predict", "Li2Na1Zr2Si2PO12")
    assert bad.code == 2
    assert_one_error_line(bad.stderr, "mixed Li/Na")
    wrong = cli("conductivity", "train", "--algorithm", "svm")
    assert wrong.code == 2
    assert_one_error_line(wrong.stderr, "'svm' is not one of extra_trees, random_forest")
