"""Load (slow): 16 writer processes on PostgreSQL record 5,000 outcomes and claim proposals,
every outcome stored once and no proposal claimed twice (benchmarks/load.py measures the
throughput); two optuna worker processes on one study in the registry database count every
trial once and find the single worker's best parameters."""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load import run_load

GRID = {"x": [-2.0, -1.0, 0.0, 1.0, 2.0], "y": [0.0, 1.0, 2.0, 3.0]}


def objective(trial) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    y = trial.suggest_float("y", 0.0, 3.0)
    return (x - 1.0) ** 2 + (y - 2.0) ** 2  # unique minimum at x=1, y=2 on the grid


def _optimize(url: str, name: str, out) -> None:
    import optuna

    from registry.optuna_storage import make_optuna_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=make_optuna_storage(url),
                              sampler=optuna.samplers.GridSampler(GRID, seed=0))  # fmt: skip
    ran: list[int] = []
    study.optimize(objective, n_trials=20, callbacks=[lambda s, t: ran.append(t.number)])
    out.put(ran)


def _study(url: str, name: str):
    import optuna

    from registry.optuna_storage import make_optuna_storage

    return optuna.create_study(study_name=name, storage=make_optuna_storage(url),
                               sampler=optuna.samplers.GridSampler(GRID, seed=0))  # fmt: skip


@pytest.mark.slow
@pytest.mark.postgres
def test_16_writers_store_every_outcome_once_and_claim_nothing_twice(postgres_url: str):
    result = run_load(postgres_url, outcomes=5000, writers=16, proposals=400)
    assert result["stored"] == 5000
    assert result["checks"] == {"outcomes stored once": True, "no proposal claimed twice": True}
    assert result["claims"] > 0 and result["claims_refused"] > 0  # claims did collide


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_optuna_workers_count_trials_once_and_agree_with_one(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import optuna

    url = (
        f"sqlite:///{tmp_path / 'r.db'}"
        if db == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    from registry import Registry

    with Registry.from_url(url, check_schema=False) as reg:
        reg.init_schema()  # optuna's tables beside the registry's
    single = _study(url, "single")
    single.optimize(objective, n_trials=20)

    _study(url, "shared")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_optimize, args=(url, "shared", out)) for _ in range(2)]
    for w in workers:
        w.start()
    ran = [out.get(timeout=300) for _ in workers]
    for w in workers:
        w.join()
    assert [w.exitcode for w in workers] == [0, 0]
    shared = optuna.load_study(study_name="shared", storage=url)
    trials = shared.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))  # every trial stored once
    assert sorted(ran[0] + ran[1]) == numbers  # ... and counted by the worker that ran it
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    seen = {(t.params["x"], t.params["y"]) for t in trials}
    assert len(seen) == 20  # the whole grid, between the two workers
    assert shared.best_params == single.best_params == {"x": 1.0, "y": 2.0}
    assert shared.best_value == single.best_value == 0.0
