"""``nasicon retrain``, ``predict`` and ``models list|show`` on real SQLite registries: JSON
keys, stored runs, artifact checks and every bad input (no run stored).

The main retrain and two refusals go through the installed script; the other cases run
in-process through the CLI's entry point (:func:`cli_runner.run_cli`) to keep the suite
quick. Every refusal is exit code 2 and one ``error: ...`` line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import CLIRun, run_cli

from experiments.importers.dft import import_dft
from registry import Registry

NASICON = str(Path(sys.executable).with_name("nasicon"))
LEADERBOARD_KEYS = {
    "model", "accuracy", "f1_macro", "balanced_accuracy", "roc_auc", "f1_macro_sd", "params",
    "brier", "log_loss", "ece",  # issue 13: calibration figures on the leaderboard
    # issue 13: experimental figures, out of fold
    "exp_n", "exp_recall", "exp_precision", "exp_f1_macro", "exp_log_loss",
}


def script(cwd: Path, dft: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the installed ``nasicon`` in ``cwd`` (default database ./nasicon.db)."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MPLBACKEND": "Agg",
           "COLUMNS": "200", "NASICON_DFT_DATA": str(dft)}
    env.pop("NASICON_DB", None)
    env.pop("NASICON_CONFIG", None)
    return subprocess.run(
        [NASICON, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def invoke(cwd: Path, dft: Path, *args: str) -> CLIRun:
    """Run ``nasicon`` in-process in ``cwd`` against ``cwd/nasicon.db``."""
    db = f"sqlite:///{cwd / 'nasicon.db'}"
    return run_cli(
        ["--db", db, *args], cwd=cwd, env={"NASICON_DFT_DATA": str(dft), "COLUMNS": "200"}
    )


def refused(result: CLIRun, message: str) -> str:
    """The command exited 2 with one ``error: ...`` line containing ``message``."""
    text = result.error_message()
    assert message in text, text
    return text


def stored_runs(cwd: Path) -> list:
    with Registry.from_url(f"sqlite:///{cwd / 'nasicon.db'}") as registry:
        return registry.run(lambda uow: uow.model_runs.find(), write=False)


def make_registry(cwd: Path, dft_folder: Path | None) -> Path:
    """A fresh registry in ``cwd`` holding the DFT rows of ``dft_folder`` (None: no labels)."""
    with Registry.from_url(f"sqlite:///{cwd / 'nasicon.db'}", check_schema=False) as registry:
        registry.init_schema()
        if dft_folder is not None:
            import_dft(registry, dft_folder)
    return cwd


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dft_data_dir) -> Path:
    """A registry with all 3881 DFT labels and one cheap retrain (round none), by script."""
    cwd = make_registry(tmp_path_factory.mktemp("registry"), dft_data_dir)
    result = script(
        cwd, dft_data_dir, "retrain", "--json", "--folds", "3", "--trials", "3",
        "--models", "tolerance_factor,gnb", "--models", "knn", "--tune", "knn",
    )
    assert result.returncode == 0, result.stderr
    (cwd / "retrain.json").write_text(result.stdout)
    return cwd


def test_retrain_json_has_exactly_its_keys(trained) -> None:
    doc = json.loads((trained / "retrain.json").read_text())
    assert set(doc) == {
        "leaderboard", "champion", "champion_rule", "champion_reason", "eligible",
        "default_eligible", "tolerance_factor_boundary", "published_reproduction",
        "n_train", "seconds", "models",
    }
    assert {n for n, w in doc["models"].items() if w["tuned"]} == {"knn"}
    assert doc["models"]["knn"]["trials_run"] == 3
    assert doc["models"]["gnb"]["trials_run"] is None
    assert all(w["seconds"]["cv"] > 0 for w in doc["models"].values())
    assert doc["n_train"] == 3881
    assert all(set(e) == LEADERBOARD_KEYS for e in doc["leaderboard"])
    assert {e["model"] for e in doc["leaderboard"]} == {"tolerance_factor", "gnb", "knn"}
    scores = [e["f1_macro"] for e in doc["leaderboard"]]
    assert scores == sorted(scores, reverse=True)
    assert doc["champion"] == doc["leaderboard"][0]["model"]
    assert set(doc["tolerance_factor_boundary"]) == {"a", "b"}
    assert doc["tolerance_factor_boundary"]["a"] > 0
    rep = doc["published_reproduction"]
    assert set(rep) == {"a", "b", "agreement", "accuracy", "f1_macro"}
    assert rep["accuracy"] == pytest.approx(0.823, abs=0.002)
    assert rep["f1_macro"] == pytest.approx(0.750, abs=0.002)
    assert rep["agreement"] >= 0.99
    for name in ("roc", "confusion", "tolerance_factor_map", "importance-gnb"):
        assert (trained / "reports" / "round-none" / f"{name}.png").stat().st_size > 10_000


def test_runs_are_stored_with_champion_and_verified_artifacts(trained, dft_data_dir) -> None:
    runs = stored_runs(trained)
    assert len(runs) == 3 and sum(r.is_champion for r in runs) == 1
    doc = json.loads((trained / "retrain.json").read_text())
    assert next(r for r in runs if r.is_champion).algorithm == doc["champion"]
    assert all(r.round_number is None and r.n_train == 3881 for r in runs)
    listed = invoke(trained, dft_data_dir, "models", "list", "--json")
    assert listed.code == 0, listed.stderr
    assert {r["model"] for r in json.loads(listed.stdout)} == {"tolerance_factor", "gnb", "knn"}
    shown = invoke(trained, dft_data_dir, "models", "show", "knn", "--json")
    assert shown.code == 0, shown.stderr
    knn = json.loads(shown.stdout)
    assert knn["artifact_status"] == "ok" and len(knn["fold_metrics"]) == 3
    assert knn["metrics"]["tuning"]["study"] == "round-none-knn"
    assert knn["library_versions"]["scikit-learn"]
    tf = json.loads(invoke(trained, dft_data_dir, "models", "show", "tolerance_factor",
                           "--json").stdout)
    assert tf["metrics"]["boundary"]["a"] == pytest.approx(
        doc["tolerance_factor_boundary"]["a"], abs=1e-3
    )
    table = invoke(trained, dft_data_dir, "models", "show", "gnb")
    assert table.code == 0 and "drop-column importance" in table.stdout


def test_predict_json(trained, dft_data_dir) -> None:
    result = invoke(trained, dft_data_dir, "predict", "--json", "Na3Zr2(SiO4)2(PO4)",
                    "NaZr2(PO4)3")
    assert result.code == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["formula"] for r in records] == ["Na3Zr2Si2PO12", "NaZr2P3O12"]
    for rec in records:
        assert set(rec) == {"formula", "tolerance_factor", "models", "champion", "in_domain",
                            "domain_reason"}
        assert isinstance(rec["in_domain"], bool)
        assert (rec["domain_reason"] is None) == rec["in_domain"]
        assert set(rec["tolerance_factor"]) == {
            "t1", "t2", "accessible", "p_stable", "in_domain", "reason"
        }
        assert rec["tolerance_factor"]["in_domain"] is True
        assert set(rec["models"]) == {"tolerance_factor", "gnb", "knn"}
        assert set(rec["champion"]) == {"name", "p", "run_id"}
        assert rec["champion"]["p"] == rec["models"][rec["champion"]["name"]]
        tf = rec["tolerance_factor"]
        assert tf["p_stable"] == rec["models"]["tolerance_factor"]
        assert tf["accessible"] == (tf["p_stable"] >= 0.5)
    assert records[0]["in_domain"] is True  # a training composition itself
    table = invoke(trained, dft_data_dir, "predict", "NaZr2(PO4)3")
    assert table.code == 0 and "champion" in table.stdout


def test_predict_adds_conductivity_and_marks_lithium_out_of_domain(
    trained, dft_data_dir, shared_dir, tmp_path
) -> None:
    """Issue 14B: with a conductivity model stored, predict --json gives log10 sigma +- sd
    per formula; a Li formula has no tolerance-factor verdict (a sodium model)."""
    import shutil

    cwd = tmp_path / "copy"
    shutil.copytree(trained, cwd)  # the module's registry stays without a conductivity model
    tables = shared_dir / "data" / "conductivity" / "liverpool_nasicon.csv"
    assert invoke(cwd, dft_data_dir, "import", "conductivity", str(tables)).code == 0
    assert invoke(cwd, dft_data_dir, "conductivity", "train").code == 0
    result = invoke(cwd, dft_data_dir, "predict", "--json", "Li1.3Al0.3Ti1.7(PO4)3",
                    "NaZr2(PO4)3")
    assert result.code == 0, result.stderr
    li, na = json.loads(result.stdout)
    assert li["tolerance_factor"]["accessible"] is None
    assert li["tolerance_factor"]["in_domain"] is False
    assert "sodium model" in li["tolerance_factor"]["reason"]
    assert na["tolerance_factor"]["accessible"] in (True, False)
    assert set(li["conductivity"]) == {"log10_sigma_s_cm", "sd", "in_domain", "reason"}
    assert li["conductivity"]["in_domain"] is True
    assert na["conductivity"]["in_domain"] is False
    assert "Na training rows" in na["conductivity"]["reason"]
    assert na["conductivity"]["sd"] > li["conductivity"]["sd"] > 0
    table = invoke(cwd, dft_data_dir, "predict", "Li1.3Al0.3Ti1.7(PO4)3")
    assert table.code == 0 and "out of domain (Li)" in table.stdout
    assert "log10 sigma 25 C" in table.stdout


def test_second_retrain_of_the_same_round_is_refused(trained, dft_data_dir) -> None:
    before = stored_runs(trained)
    result = script(trained, dft_data_dir, "retrain", "--folds", "3", "--trials", "0",
                    "--models", "gnb")
    assert result.returncode == 2
    assert result.stderr.startswith("error: round none already has model runs for gnb")
    assert "--round 1" in result.stderr and result.stderr.count("\n") == 1
    assert stored_runs(trained) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("retrain", "--models", "xgboost"), "unknown model 'xgboost'"),
        (("retrain", "--tune", "nope", "--round", "5"), "unknown model 'nope'"),
        (("retrain", "--folds", "1", "--round", "7"), "--folds must be at least 2"),
        (("predict", "Na5Zr2P3O12"), "Na is 5 per 12 O"),
        (("models", "show", "svm"), "no model run of 'svm'"),
        (("models", "show", "999"), "there is no model run 999"),
        (("predict", "--round", "9", "NaZr2P3O12"), "round 9 has no model runs"),
    ],
)
def test_bad_options_are_refused(trained, dft_data_dir, args, message) -> None:
    before = stored_runs(trained)
    refused(invoke(trained, dft_data_dir, *args), message)
    assert stored_runs(trained) == before


def test_changed_artifact_is_refused_by_predict(trained, dft_data_dir) -> None:
    path = Path(next(r for r in stored_runs(trained) if r.algorithm == "gnb").artifact_path)
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        refused(invoke(trained, dft_data_dir, "predict", "NaZr2P3O12"), "refusing to load")
        shown = json.loads(invoke(trained, dft_data_dir, "models", "show", "gnb",
                                  "--json").stdout)
        assert shown["artifact_status"] == "hash mismatch"
    finally:
        path.write_bytes(original)


def test_no_labelled_data_exits_2_and_stores_nothing(tmp_path, dft_data_dir) -> None:
    make_registry(tmp_path, None)
    result = script(tmp_path, dft_data_dir, "retrain")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no labelled data") and result.stderr.count("\n") == 1
    assert stored_runs(tmp_path) == []


@pytest.mark.parametrize(
    ("n_accessible", "n_unstable", "message"),
    [
        (0, 12, "only one class in the labels (all 12 are 'not accessible')"),
        (3, 4, "7 labelled samples are fewer than the 10 folds"),
        (4, 30, "the 'accessible' class has 4 samples, fewer than the 10 folds"),
    ],
)
def test_bad_training_data_stores_nothing(
    tmp_path, monkeypatch, dft_data_dir, dft_frame, n_accessible, n_unstable, message
) -> None:
    stable = dft_frame[dft_frame["NewEhullLst"] <= 0].head(n_accessible)
    unstable = dft_frame[dft_frame["NewEhullLst"] > 0].head(n_unstable)
    rows = pd.concat([stable, unstable]).drop(columns=["split"])
    folder = tmp_path / "subset"
    folder.mkdir()
    rows.to_csv(folder / "train.csv", index=False)
    rows.iloc[:0].to_csv(folder / "test.csv", index=False)
    make_registry(tmp_path, folder)
    monkeypatch.chdir(tmp_path)
    refused(invoke(tmp_path, dft_data_dir, "retrain", "--folds", "10", "--trials", "2"), message)
    assert stored_runs(tmp_path) == []
    assert not (tmp_path / "nasicon_data").exists() and not (tmp_path / "reports").exists()


def test_missing_dft_data_for_the_published_check_is_named(
    tmp_path, monkeypatch, dft_data_dir
) -> None:
    make_registry(tmp_path, dft_data_dir)
    monkeypatch.chdir(tmp_path)
    result = invoke(tmp_path, tmp_path / "nowhere", "retrain", "--trials", "0", "--models", "gnb")
    assert "NASICON_DFT_DATA" in refused(result, "nowhere/train.csv not found")
    assert stored_runs(tmp_path) == []


def test_retrain_without_models_compares_the_configured_set(
    tmp_path, monkeypatch, dft_data_dir, dft_frame
) -> None:
    """``retrain`` with no --models compares ``models.compare`` (not the whole zoo), tunes
    ``models.tune``, and its champion is eligible as the default (a comparable run)."""
    stable = dft_frame[dft_frame["NewEhullLst"] <= 0].head(30)
    unstable = dft_frame[dft_frame["NewEhullLst"] > 0].head(90)
    folder = tmp_path / "subset"
    folder.mkdir()
    rows = pd.concat([stable, unstable]).drop(columns=["split"])
    rows.to_csv(folder / "train.csv", index=False)
    rows.iloc[:0].to_csv(folder / "test.csv", index=False)
    make_registry(tmp_path, folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NASICON_MODELS__COMPARE", '["tolerance_factor", "gnb", "knn"]')
    monkeypatch.setenv("NASICON_MODELS__TUNE", "[]")
    run = invoke(tmp_path, dft_data_dir, "retrain", "--json", "--folds", "3", "--trials", "2")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert {row["model"] for row in doc["leaderboard"]} == {"tolerance_factor", "gnb", "knn"}
    assert doc["models"]["knn"]["trials_run"] is None  # models.tune = []: nothing tuned
    assert doc["default_eligible"] is True
    assert sorted(r.algorithm for r in stored_runs(tmp_path)) == ["gnb", "knn", "tolerance_factor"]
