"""The Prefect flows on a real SQLite registry and a real (temporary) Prefect server:
a closed-loop round, its idempotent re-run after a kill, Dask vs local, ingest, serve."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from fault_helpers import SMALL_SPACE

pytestmark = pytest.mark.prefect

NASICON = str(Path(sys.executable).with_name("nasicon"))
MODELS = "tolerance_factor,gnb,decision_tree,random_forest"


def _write_lab(folder: Path, dft_data_dir: Path, literature_csv: Path, prefect_api: str):
    """Write ``folder``'s config (registry, stores, a small space); its environment."""
    space = folder / "nzsp-small.toml"
    space.write_text(SMALL_SPACE)
    (folder / "nasicon.toml").write_text(
        f"""
[database]
url = "sqlite:///{folder / "registry.db"}"
[data]
dft_path = "{dft_data_dir}"
literature_path = "{literature_csv}"
reports_dir = "{folder / "reports"}"
raw_store = "{folder / "raw"}"
[models]
folds = 3
trials = 2
compare = ["tolerance_factor", "gnb", "decision_tree", "random_forest"]
tune = ["decision_tree"]
artifacts_dir = "{folder / "models"}"
[proposals]
space = "{space}"
batch = 4
"""
    )
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "NASICON_CONFIG": str(folder / "nasicon.toml"),
        "COLUMNS": "200",
    }
    env.pop("NASICON_DB", None)
    return env


@pytest.fixture(scope="module")
def imported_registry(
    tmp_path_factory, dft_data_dir: Path, literature_csv: Path, prefect_api: str
) -> Path:
    """A registry file holding the DFT data and literature records, made once by the real
    ``nasicon init`` and ``import`` commands; each test works on a copy of it."""
    folder = tmp_path_factory.mktemp("imported")
    env = _write_lab(folder, dft_data_dir, literature_csv, prefect_api)
    for args in (["init"], ["import", "dft"], ["import", "literature", str(literature_csv)]):
        done = subprocess.run(
            [NASICON, *args], env=env, cwd=folder, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    return folder / "registry.db"


@pytest.fixture
def lab(tmp_path: Path, dft_data_dir: Path, literature_csv: Path, prefect_api: str,
        imported_registry: Path):  # fmt: skip
    """A working directory with its own copy of the imported registry."""
    env = _write_lab(tmp_path, dft_data_dir, literature_csv, prefect_api)
    shutil.copyfile(imported_registry, tmp_path / "registry.db")
    return tmp_path, env


def nasicon(lab, *args: str, timeout: float = 900, extra_env: dict | None = None):
    cwd, env = lab
    return subprocess.run(
        [NASICON, *args],
        env={**env, **(extra_env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def registry_of(lab):
    """A unit of work on the lab's registry (a writable one: reading the queue returns
    lapsed claims to it)."""
    from registry import Registry

    with Registry.from_url(f"sqlite:///{lab[0] / 'registry.db'}") as reg:
        with reg.unit_of_work() as uow:
            yield uow


def test_round_records_champion_proposals_and_flow_run(lab) -> None:
    result = nasicon(lab, "round", "--models", MODELS, "--tune", "decision_tree", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert out["round"] == 1
    assert out["n_new_labels"] == 0  # literature imports are not new lab labels (issue 17)
    assert len(out["propose"]["proposals"]) == 4
    with registry_of(lab) as uow:
        (rnd,) = uow.rounds.all()
        assert rnd.status == "finished" and rnd.flow_run_id == out["flow_run_id"]
        runs = uow.model_runs.find(1)
        assert sorted(r.algorithm for r in runs) == sorted(MODELS.split(","))
        champions = [r for r in runs if r.is_champion]
        assert len(champions) == 1 and rnd.champion_run_id == champions[0].id
        queued = uow.proposals.find(round_number=1)
        assert rnd.n_proposals == len(queued) == 4
        assert all(set(p.probabilities) >= {champions[0].algorithm} for p in queued)
    figures = {p.name for p in (lab[0] / "reports" / "round-1").glob("*.png")}
    assert {"roc.png", "confusion.png", "tolerance_factor_map.png"} <= figures


#: ``nasicon`` whose round dies (SIGKILL, as a crash would) right after its retrain subflow
#: returned: the test's own wrapper around ``flows.round.retrain_flow``.
KILLED_AFTER_RETRAIN = """
import os, signal, sys

import flows.round


class KilledAfter:
    def __init__(self, flow):
        self.flow = flow

    def with_options(self, **options):
        return KilledAfter(self.flow.with_options(**options))

    def __call__(self, *args, **kwargs):
        self.flow(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)


flows.round.retrain_flow = KilledAfter(flows.round.retrain_flow)
from nasicon.cli.main import run

run(sys.argv[1:])
"""


def test_round_killed_after_retrain_runs_again_without_duplicates(lab) -> None:
    cwd, env = lab
    script = cwd / "killed_after_retrain.py"
    script.write_text(KILLED_AFTER_RETRAIN)
    repo = str(Path(__file__).resolve().parents[1])
    killed = subprocess.run(
        [sys.executable, str(script), "round", "--models", MODELS, "--trials", "0"],
        env={**env, "PYTHONPATH": os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))},
        cwd=cwd, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with registry_of(lab) as uow:
        assert uow.rounds.latest().status != "finished"
        assert len([r for r in uow.model_runs.find(1) if r.is_champion]) == 1
        assert uow.proposals.find(round_number=1) == []
        runs_before = {r.algorithm: r.id for r in uow.model_runs.find(1)}
    again = nasicon(lab, "round", "--models", MODELS, "--trials", "0", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    out = json.loads(again.stdout)
    assert out["round"] == 1 and out["retrain"]["reused"] is True
    with registry_of(lab) as uow:
        runs = uow.model_runs.find(1)
        assert {r.algorithm: r.id for r in runs} == runs_before  # no model run duplicated
        assert len([r for r in runs if r.is_champion]) == 1
        assert len(uow.proposals.find(round_number=1)) == 4  # one batch
        assert uow.rounds.latest().status == "finished"
    # and a third run of the finished round changes nothing
    third = nasicon(lab, "round", "--round", "1", "--models", MODELS, "--trials", "0", "--json")
    assert third.returncode == 0, third.stderr[-2000:]
    with registry_of(lab) as uow:
        assert len(uow.model_runs.find(1)) == len(runs_before)
        assert len(uow.proposals.find(round_number=1)) == 4


def test_dask_cluster_gives_the_local_results(lab) -> None:
    from flows.retrain import retrain_flow
    from flows.runners import RunnerChoice
    from loop.training import RetrainSettings
    from nasicon.settings import load_config

    cfg = load_config(lab[0] / "nasicon.toml")
    settings = RetrainSettings(
        folds=3, trials=2, models=tuple(MODELS.split(",")), tune=("decision_tree",)
    )
    with registry_of(lab) as uow:
        uow.rounds.start(1)
        uow.rounds.start(2)
    local = retrain_flow.with_options(task_runner=RunnerChoice().task_runner())(cfg, settings, 1)
    dask = retrain_flow.with_options(task_runner=RunnerChoice(dask=True, workers=2).task_runner())(
        cfg, settings, 2
    )
    assert dask["champion"] == local["champion"]
    for a, b in zip(local["leaderboard"], dask["leaderboard"], strict=True):
        assert a["model"] == b["model"]
        assert a["f1_macro"] == pytest.approx(b["f1_macro"], abs=1e-12)
        assert a["roc_auc"] == pytest.approx(b["roc_auc"], abs=1e-12)

    # screening: the space's chunks in two shards on the Dask cluster = one local screen
    from prefect import flow

    from experiments.importers.design_spaces import load_space
    from flows.propose import sharded_screen
    from flows.services.propose import plan_proposals
    from loop.screening import screen_space

    space = load_space(lab[0] / "nzsp-small.toml")
    from registry import Registry

    with Registry.from_url(f"sqlite:///{lab[0] / 'registry.db'}") as reg:
        plan = plan_proposals(reg)
    kwargs = {"cheap": plan.cheap, "expensive": plan.expensive, "top_k": 40, "chunk_size": 256}
    alone = screen_space(space, **kwargs)

    @flow(task_runner=RunnerChoice(dask=True, workers=2).task_runner())
    def screen_on_dask():
        return sharded_screen(2)(space, **kwargs)

    spread = screen_on_dask()
    assert spread.n_screened == alone.n_screened == space.size
    assert space.size > 4 * 256  # several chunks per shard
    got = dict(zip(spread.table.formula, spread.table.score, strict=True))
    want = dict(zip(alone.table.formula, alone.table.score, strict=True))
    assert got.keys() == want.keys()
    assert all(got[f] == pytest.approx(want[f], abs=1e-12) for f in want)


def test_ingest_starts_a_round_only_past_the_threshold(lab) -> None:
    batch = lab[0] / "outcomes.csv"
    batch.write_text("sample_id,formula,succeeded,phase_pure\nS-1,Na3Zr2Si2PO12,1,1\n")
    below = nasicon(lab, "ingest", str(batch), "--min-new-labels", "50", "--json")
    assert below.returncode == 0, below.stderr[-2000:]
    out = json.loads(below.stdout)
    assert out["round"] is None and out["new_labels"] == 1  # this one, not the literature
    with registry_of(lab) as uow:
        assert uow.rounds.all() == []
    batch.write_text("sample_id,formula,succeeded,phase_pure\nS-2,Na3Zr2Si2PO12,1,0\n")
    above = nasicon(lab, "ingest", str(batch), "--min-new-labels", "2", "--json")
    assert above.returncode == 0, above.stderr[-3000:]
    out = json.loads(above.stdout)
    assert out["new_labels"] == 2 and out["round"]["round"] == 1
    with registry_of(lab) as uow:
        (rnd,) = uow.rounds.all()
        assert rnd.status == "finished" and rnd.n_new_labels == 2


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["round"], {"NASICON_DB": "postgresql+psycopg://nobody@127.0.0.1:1/none"}, "error: "),
        (
            ["round"],
            {"NASICON_DFT_DATA": "/nonexistent/dft"},
            "error: DFT data set file /nonexistent/dft/train.csv not found",
        ),
        (["round", "--space", "no-such-space"], {}, "error: "),
        (["round", "--models", "no_such_model"], {}, "error: "),
    ],
)
def test_round_bad_input_fails_before_any_work(lab, args, env, message) -> None:
    result = nasicon(lab, *args, extra_env=env, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    with registry_of(lab) as uow:
        assert uow.rounds.all() == [] and uow.model_runs.find() == []


def test_serve_creates_the_nightly_deployment(lab, prefect_api: str) -> None:
    from prefect.client.orchestration import get_client

    cwd, env = lab
    proc = subprocess.Popen(
        [NASICON, "serve"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    async def deployments() -> dict:
        async with get_client() as client:
            for _ in range(180):
                found = {d.name: d for d in await client.read_deployments()}
                if {"nightly-round", "ingest-outcomes"} <= found.keys() and proc.poll() is None:
                    return found
                if proc.poll() is not None:
                    return {}
                await asyncio.sleep(1)
        return {}

    try:
        found = asyncio.run(deployments())
        assert "nightly-round" in found, (
            proc.stdout.read() if proc.poll() is not None else "timeout"
        )
        (schedule,) = found["nightly-round"].schedules
        assert schedule.schedule.cron == "0 2 * * *"
        from flows.deployments import local_timezone

        assert schedule.schedule.timezone == local_timezone()  # 02:00 local time
        assert schedule.active
        assert "ingest-outcomes" in found
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
