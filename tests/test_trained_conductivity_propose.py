"""``[proposals] conductivity_model = "trained"`` (issue 14): propose with objective both
stores the predictions of the model ``nasicon conductivity train`` stored, and its reason
names that model; without a stored model the request is refused with one line and
nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from test_recommender import LU_QUARTERS, trained  # noqa: F401  (module fixture reused)

from flows.services.conductivity import stored_model, train_conductivity
from loop.descriptors.occupancy import parse_formulas
from loop.settings import NasiconConfig
from registry import Registry


@pytest.fixture(scope="module")
def conducting(trained: Path, tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:  # noqa: F811
    """The trained registry with every 8th row of the Liverpool conductivity table imported
    (Li NASICONs, many at 25 C) and a quick conductivity model (40 trees) trained on them
    and stored under ``models/``, as ``nasicon conductivity train`` does."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("trained-conductivity")
    shutil.copy(trained, folder / "nasicon.db")
    url = f"sqlite:///{folder / 'nasicon.db'}"
    frame = pd.read_csv(shared_dir / "data" / "conductivity" / "liverpool_nasicon.csv")
    table = folder / "liverpool_quarter.csv"
    frame[frame.index % 8 == 0].to_csv(table, index=False)
    assert run_cli(["--db", url, "import", "conductivity", str(table)], cwd=folder).code == 0
    config = NasiconConfig()
    config.models.artifacts_dir = folder / "models"
    with Registry.from_url(url) as registry:  # nasicon conductivity train, 40 trees
        train_conductivity(registry, config, n_estimators=40)
    return folder


def _lab(conducting: Path, tmp_path: Path) -> str:
    shutil.copy(conducting / "nasicon.db", tmp_path / "nasicon.db")
    (tmp_path / "lu.toml").write_text(LU_QUARTERS)
    return f"sqlite:///{tmp_path / 'nasicon.db'}"


def _open(url: str) -> tuple:
    with Registry.from_url(url) as reg:
        return reg.run(lambda uow: uow.proposals.snapshot().open, write=False)


ARGS = ["--space", "lu.toml", "--batch", "3", "--objective", "both", "--quiet", "--json",
        "--shortlist", "400"]  # fmt: skip


def test_stored_predictions_are_the_trained_models(conducting: Path, tmp_path: Path) -> None:
    url = _lab(conducting, tmp_path)
    env = {"NASICON_MODELS__ARTIFACTS_DIR": str(conducting / "models")}
    done = run_cli(["propose", "--db", url, *ARGS, "--conductivity-model", "trained"],
                   cwd=tmp_path, env=env)  # fmt: skip
    assert done.code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["recommender"]["conductivity_model"] == "trained"
    config = NasiconConfig()
    config.models.artifacts_dir = conducting / "models"
    found = stored_model(config)
    assert found is not None
    model, pointer = found
    rows = sorted(_open(url), key=lambda r: r.formula)
    assert len(rows) == 3
    mean, sd = model.predict_batch(parse_formulas([r.formula for r in rows]).batch)
    assert np.allclose([r.log10_sigma_s_cm for r in rows], mean, rtol=0, atol=1e-9)
    assert np.allclose([r.log10_sigma_sd for r in rows], sd, rtol=0, atol=1e-9)
    sha = pointer["artifact_sha256"][:12]
    name = f"trained conductivity model (extra_trees, artifact sha256 {sha})"
    assert all(name in r.reason and r.objective == "both" for r in rows)


@pytest.mark.parametrize("where", ["settings", "option"])
def test_trained_without_a_stored_model_is_refused(
    conducting: Path, tmp_path: Path, where: str
) -> None:
    url = _lab(conducting, tmp_path)  # tmp_path/nasicon_data/models: no conductivity model
    args = ["propose", "--db", url, *ARGS]
    if where == "settings":
        (tmp_path / "nasicon.toml").write_text('[proposals]\nconductivity_model = "trained"\n')
    else:
        args += ["--conductivity-model", "trained"]
    refused = run_cli(args, cwd=tmp_path)
    message = refused.error_message()
    assert message.startswith("conductivity_model 'trained': no conductivity model in ")
    assert "run nasicon conductivity train first" in message
    assert _open(url) == ()
    bad = run_cli(["propose", "--db", url, *ARGS, "--conductivity-model", "magic"], cwd=tmp_path)
    assert bad.error_message() == "unknown conductivity model 'magic' (one of gp, trained)"
    assert _open(url) == ()


def test_the_default_is_the_gaussian_process(conducting: Path, tmp_path: Path) -> None:
    url = _lab(conducting, tmp_path)  # no conductivity model here: gp does not need one
    gp = run_cli(["propose", "--db", url, *ARGS, "--dry-run"], cwd=tmp_path)
    assert gp.code == 0, gp.stderr
    doc = json.loads(gp.stdout)
    assert doc["recommender"]["conductivity_model"] == "gp"
    assert all("Gaussian process on the registry's 25 C" in p["reason"] for p in doc["proposals"])


def test_a_round_is_refused_before_any_work(
    conducting: Path, tmp_path: Path, dft_data_dir: Path
) -> None:
    url = _lab(conducting, tmp_path)
    env = {
        "NASICON_PROPOSALS__OBJECTIVE": "both",
        "NASICON_PROPOSALS__CONDUCTIVITY_MODEL": "trained",
        "NASICON_DATA__DFT_PATH": str(dft_data_dir),
    }
    with Registry.from_url(url) as reg:
        before = reg.run(lambda uow: uow.rounds.latest(), write=False)
    refused = run_cli(["--db", url, "round", "--space", "lu.toml"], cwd=tmp_path, env=env)
    assert "run nasicon conductivity train first" in refused.error_message()
    with Registry.from_url(url) as reg:
        assert reg.run(lambda uow: uow.rounds.latest(), write=False) == before
    assert _open(url) == ()
