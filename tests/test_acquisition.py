"""Acquisition strategies: scores, diversity, exclusion, reasons, committees, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import CLIRun, run_cli
from sklearn.ensemble import RandomForestClassifier

from loop.acquisition import (
    STRATEGIES,
    Candidates,
    ExploitStrategy,
    RandomStrategy,
    Recommender,
    UCBStrategy,
    UncertaintyStrategy,
    committee_probabilities,
    make_strategy,
    select_diverse,
    standardise,
    strategy_from_json,
)
from loop.errors import ValidationError


def candidates(p: np.ndarray, features: np.ndarray | None = None) -> Candidates:
    p = np.asarray(p, dtype=float)
    n = len(p)
    feats = np.arange(n, dtype=float)[:, None] if features is None else features
    return Candidates(np.array([f"F{i}" for i in range(n)], dtype=object), feats, p)


# -- scores --------------------------------------------------------------------------------


def test_exploit_takes_the_highest_mean_probability() -> None:
    p = np.array([[0.2, 0.4], [0.9, 0.7], [0.5, 0.5], [0.95, 0.95], [0.1, 0.0]])
    rec = ExploitStrategy().recommend(candidates(p), 2)
    assert rec.formulas == ["F3", "F1"]
    assert np.allclose(rec.scores, [0.95, 0.8])
    assert np.allclose(rec.mean_probability, [0.95, 0.8])


def test_uncertainty_takes_the_probabilities_closest_to_one_half() -> None:
    p = np.array([0.05, 0.48, 0.9, 0.55, 0.3, 0.99])
    rec = UncertaintyStrategy().recommend(candidates(p), 3)
    assert rec.formulas == ["F1", "F3", "F4"]
    assert rec.scores[0] == pytest.approx(-(0.48 * np.log(0.48) + 0.52 * np.log(0.52)))


def test_ucb_rewards_committee_spread() -> None:
    p = np.array([[0.70, 0.70, 0.70], [0.30, 0.95, 0.80], [0.1, 0.1, 0.1]])
    assert ExploitStrategy().recommend(candidates(p), 1).formulas == ["F0"]
    rec = UCBStrategy(kappa=1.0).recommend(candidates(p), 1)
    assert rec.formulas == ["F1"]
    assert rec.scores[0] == pytest.approx(p[1].mean() + p[1].std())
    assert UCBStrategy(kappa=0.0).recommend(candidates(p), 1).formulas == ["F0"]


def test_random_is_reproducible_per_seed_and_covers_the_pool() -> None:
    c = candidates(np.linspace(0, 1, 50))
    a = RandomStrategy().recommend(c, 5, rng=np.random.default_rng(3)).formulas
    b = RandomStrategy().recommend(c, 5, rng=np.random.default_rng(3)).formulas
    assert a == b
    seen = set()
    for seed in range(40):
        seen |= set(RandomStrategy().recommend(c, 5, rng=np.random.default_rng(seed)).formulas)
    assert len(seen) > 40  # not the top of any score
    assert "F49" not in a or "F48" not in a  # not the exploit batch


# -- diversity -----------------------------------------------------------------------------


def test_exact_ties_are_split_by_distance_not_taken_as_twins() -> None:
    # 6 candidates tie at P = 1: three near-identical twins at x = 0 and three spread out
    features = np.array([[0.0], [0.0001], [0.0002], [5.0], [10.0], [-5.0], [3.0]])
    p = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    rec = ExploitStrategy().recommend(candidates(p, features), 4)
    assert len({"F0", "F1", "F2"} & set(rec.formulas)) == 1
    assert set(rec.formulas) - {"F0", "F1", "F2"} == {"F3", "F4", "F5"}
    assert all(np.isfinite(rec.min_distance[1:])) and np.isinf(rec.min_distance[0])


def test_near_tie_tolerance_trades_a_little_score_for_spread() -> None:
    features = np.array([[0.0], [0.001], [0.002], [4.0]])
    p = np.array([0.99, 0.985, 0.98, 0.97])
    strict = ExploitStrategy(tie_tolerance=0.0).recommend(candidates(p, features), 2)
    assert strict.formulas == ["F0", "F1"]  # distinct scores: pure ranking
    loose = ExploitStrategy(tie_tolerance=0.05).recommend(candidates(p, features), 2)
    assert loose.formulas == ["F0", "F3"]
    far = ExploitStrategy(tie_tolerance=0.001).recommend(candidates(p, features), 2)
    assert far.formulas == ["F0", "F1"]  # 0.97 is not a near-tie of 0.985


def test_select_diverse_greedy_max_min() -> None:
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [10.0, 10.0], [0.1, 0.1]])
    picks, dist = select_diverse(np.ones(5), x, 3, tie_tolerance=np.inf)
    assert picks[0] == 0 and picks[1] == 3
    assert dist[1] == pytest.approx(np.linalg.norm(standardise(x)[3] - standardise(x)[0]))
    z = standardise(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert np.allclose(z, [[-1.0, 0.0], [1.0, 0.0]])


# -- exclusion, reasons, serialisation, protocol -------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_excludes_and_explains(name: str) -> None:
    rng = np.random.default_rng(0)
    p = rng.random((40, 3))
    c = candidates(p, rng.normal(size=(40, 4)))
    excluded = {f"F{i}" for i in range(0, 40, 2)}
    rec = make_strategy(name).recommend(c, 8, exclude=excluded, rng=np.random.default_rng(1))
    assert len(rec) == 8 == len(set(rec.formulas))
    assert not excluded & set(rec.formulas)
    assert all(c.formulas[i] == f for i, f in zip(rec.indices, rec.formulas, strict=True))
    assert all(r.startswith(name) and "\n" not in r for r in rec.reasons)
    frame = rec.to_frame()
    assert list(frame.columns[:5]) == [
        "formula",
        "strategy",
        "acquisition_score",
        "p_mean",
        "p_spread",
    ]
    assert {"p_m0", "p_m1", "p_m2", "reason"} <= set(frame.columns)
    strategy = make_strategy(name)
    assert isinstance(strategy, Recommender)
    again = strategy_from_json(strategy.to_json())
    assert type(again) is type(strategy) and again == strategy
    assert json.loads(strategy.to_json())["type"] == name


def test_ucb_options_survive_json() -> None:
    ucb = make_strategy("ucb", kappa=2.5, tie_tolerance=0.01)
    assert strategy_from_json(ucb.to_json()) == ucb


def test_committee_from_the_trees_of_one_forest() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    forest = RandomForestClassifier(12, random_state=0).fit(x, y)
    one = committee_probabilities([forest], x[:20])
    trees = committee_probabilities([forest], x[:20], expand_ensembles=True)
    assert one.shape == (20, 1) and trees.shape == (20, 12)
    assert np.allclose(trees.mean(1), one[:, 0])
    assert trees.std(1).max() > 0  # a spread UCB can use


# -- bad input -----------------------------------------------------------------------------


def test_batch_larger_than_what_is_left() -> None:
    c = candidates(np.linspace(0, 1, 10))
    with pytest.raises(
        ValidationError, match=r"batch of 5 is larger than the 4 candidates left \(6 excluded"
    ):
        ExploitStrategy().recommend(c, 5, exclude={f"F{i}" for i in range(6)})
    with pytest.raises(ValidationError, match="at least 1"):
        ExploitStrategy().recommend(c, 0)


def test_unknown_strategy_and_option() -> None:
    with pytest.raises(ValidationError, match=r"unknown strategy 'greedy' \(one of exploit"):
        make_strategy("greedy")
    with pytest.raises(ValidationError, match="strategy 'exploit'"):
        make_strategy("exploit", kappa=1.0)
    with pytest.raises(ValidationError, match="'type' field"):
        strategy_from_json("[1]")


def test_candidates_must_agree_in_length() -> None:
    with pytest.raises(ValidationError, match="disagree in length"):
        Candidates(np.array(["A", "B"]), np.zeros((3, 1)), np.zeros(2))


# -- nasicon propose: the registry queue ---------------------------------------------------


@pytest.fixture(scope="module")
def registry_env(tmp_path_factory, dft_data_dir):
    """A SQLite registry with the DFT labels and four cheap trained models (champion set)."""
    from experiments.importers.dft import import_dft
    from registry import Registry

    folder = tmp_path_factory.mktemp("propose")
    db = f"sqlite:///{folder / 'nasicon.db'}"
    with Registry.from_url(db, check_schema=False) as registry:
        registry.init_schema()
        import_dft(registry, dft_data_dir)
    env = {
        "NASICON_DFT_DATA": str(dft_data_dir),
        "NASICON_MODELS__ARTIFACTS_DIR": str(folder / "models"),
        "NASICON_DATA__REPORTS_DIR": str(folder / "reports"),
        "COLUMNS": "200",
    }
    result = run_cli(
        ["--db", db, "retrain", "--folds", "3", "--trials", "0", "--models",
         "tolerance_factor,gnb,knn,decision_tree", "--importance", "gnb"],
        cwd=folder, env=env,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    return db, env, folder


def propose_cli(registry_env, *args: str) -> CLIRun:
    """``nasicon --db DB propose --quiet ARGS`` through the CLI's entry point."""
    db, env, folder = registry_env
    return run_cli(["--db", db, "propose", "--quiet", *args], cwd=folder, env=env)


def queued(db: str):
    from registry import Registry

    with Registry.from_url(db) as registry:
        return registry.run(lambda uow: uow.proposals.find())


def test_propose_queues_a_diverse_batch_with_every_models_probability(registry_env) -> None:
    db, _, _ = registry_env
    result = propose_cli(registry_env, "--space", "ouyang-grid", "--batch", "6", "--json")
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    rows = queued(db)
    assert len(rows) == 6 == len(out["proposals"])
    assert [r.formula for r in rows] == [p["formula"] for p in out["proposals"]]
    models = {"tolerance_factor", "gnb", "knn", "decision_tree"}
    for row in rows:
        assert row.strategy == "exploit"
        assert set(row.probabilities) == models
        assert all(0.0 <= p <= 1.0 for p in row.probabilities.values())
        assert row.acquisition_score is not None and row.reason.startswith("exploit:")
        assert row.model_run_id == out["champion"]["id"]
    assert out["screened"] == 15813
    assert len({r.formula for r in rows}) == 6


def test_second_proposal_round_excludes_the_open_queue(registry_env) -> None:
    db, _, _ = registry_env
    before = {r.formula for r in queued(db)}
    result = propose_cli(
        registry_env, "--space", "ouyang-grid", "--batch", "4", "--strategy", "ucb", "--json"
    )
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["excluded"] >= len(before) > 0
    new = [p["formula"] for p in out["proposals"]]
    assert not set(new) & before
    rows = queued(db)
    assert len(rows) == len(before) + 4
    assert all(r.reason.startswith("ucb:") for r in rows if r.formula in new)


def test_dry_run_writes_nothing(registry_env) -> None:
    db, _, _ = registry_env
    n = len(queued(db))
    result = propose_cli(
        registry_env,
        "--space",
        "ouyang-grid",
        "--batch",
        "3",
        "--strategy",
        "random",
        "--dry-run",
        "--json",
    )
    assert result.code == 0, result.stderr
    assert len(json.loads(result.stdout)["proposals"]) == 3
    assert len(queued(db)) == n


def test_propose_bad_input_writes_nothing(registry_env, tmp_path) -> None:
    db, _, _ = registry_env
    n = len(queued(db))
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(
        'type = "grid"\nname = "tiny"\npool = ["Zr"]\n[metals]\nmax_cations = 1\n'
        '[polyanions]\ncentres = ["Si", "P"]\nmax_centres = 1\n'
    )  # Na3... impossible for P3 alone? Zr2(PO4)3 = NaZr2P3O12 and Na4Zr2Si3O12: two rows
    cases = [
        (
            ["--space", str(tiny), "--batch", "5"],
            "batch of 5 is larger than the 2 candidates left in tiny",
        ),
        (["--space", "nope", "--batch", "2"], "unknown design space 'nope'"),
        (
            ["--space", "ouyang-grid", "--batch", "2", "--strategy", "greedy"],
            "unknown strategy 'greedy'",
        ),
        (["--space", "ouyang-grid", "--batch", "0"], "--batch must be at least 1"),
    ]
    for args, message in cases:
        result = propose_cli(registry_env, *args)
        assert message in result.error_message(), (args, result.stderr)
    assert len(queued(db)) == n


def test_propose_without_a_champion_exits_2(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from registry import Registry

    db = f"sqlite:///{tmp_path / 'empty.db'}"
    with Registry.from_url(db, check_schema=False) as registry:
        registry.init_schema()
    nasicon = str(Path(sys.executable).with_name("nasicon"))
    result = subprocess.run(
        [nasicon, "--db", db, "propose", "--space", "ouyang-grid", "--batch", "3", "--quiet"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
             "PYTHONPATH": str(Path(__file__).resolve().parents[1])},  # this checkout's code
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: the registry has no champion model yet: run nasicon retrain before nasicon propose"
    )
