"""Acquisition strategies on the recommender's path (loop.recommend): scores, diversity,
exclusion, reasons, committees, serialisation, bad input; the propose CLI's queue."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from cli_runner import CLIRun, run_cli
from sklearn.ensemble import RandomForestClassifier

from loop.acquisition import (
    STRATEGIES,
    AcquisitionStrategy,
    Recommendation,
    committee_probabilities,
    make_strategy,
    strategy_from_json,
)
from loop.errors import ValidationError
from loop.recommend import (
    Compositions,
    Observations,
    Recommender,
    build_recommender,
    select_batch,
)
from loop.settings import ProposalConfig


def ti_series(amounts: Sequence[float]) -> Compositions:
    """Na3Zr(2-a)Ti(a)Si2PO12: one composition per Ti amount (atoms per formula unit)."""
    return Compositions.of_formulas([f"Na3Zr{2 - a:g}Ti{a:g}Si2PO12" for a in amounts])


@dataclass
class FixedCommittee(Recommender):
    """The recommender with its surrogate replaced by given committee probabilities."""

    table: dict[str, np.ndarray] = field(default_factory=dict)

    def predict(
        self, candidates: Compositions, observed: Observations, *, seed: int = 0
    ) -> np.ndarray:
        rows = [np.atleast_1d(self.table[f]) for f in candidates.formulas]
        return np.array(rows, dtype=float)


def recommend(
    p: np.ndarray,
    batch_size: int,
    *,
    strategy: str = "exploit",
    amounts: Sequence[float] | None = None,
    exclude: Collection[int] = (),
    seed: int = 0,
    **options: float,
) -> Recommendation:
    """Recommender.recommend over a Ti series whose row i has committee probabilities p[i]
    (no minimum distance); ``exclude`` names rows; picks come back as row indices."""
    p = np.asarray(p, dtype=float)
    comps = ti_series(np.arange(len(p)) * 0.04 if amounts is None else amounts)
    built = build_recommender(ProposalConfig(min_distance=0.0), strategy=strategy, **options)
    rec = FixedCommittee(**vars(built), table=dict(zip(comps.formulas, p, strict=True)))
    none = Observations.of(comps.take(np.zeros(0, dtype=np.intp)), np.zeros(0, dtype=bool))
    excluded = {comps.formulas[i] for i in exclude}
    return rec.recommend(comps, none, batch_size, exclude=excluded, seed=seed)


# -- scores --------------------------------------------------------------------------------


def test_exploit_takes_the_highest_mean_probability() -> None:
    p = np.array([[0.2, 0.4], [0.9, 0.7], [0.5, 0.5], [0.95, 0.95], [0.1, 0.0]])
    rec = recommend(p, 2)
    assert rec.indices.tolist() == [3, 1]
    assert np.allclose(rec.scores, [0.95, 0.8])
    assert np.allclose(rec.mean_probability, [0.95, 0.8])


def test_uncertainty_takes_the_probabilities_closest_to_one_half() -> None:
    p = np.array([0.05, 0.48, 0.9, 0.55, 0.3, 0.99])
    rec = recommend(p, 3, strategy="uncertainty")
    assert rec.indices.tolist() == [1, 3, 4]
    assert rec.scores[0] == pytest.approx(-(0.48 * np.log(0.48) + 0.52 * np.log(0.52)))


def test_ucb_rewards_committee_spread() -> None:
    p = np.array([[0.70, 0.70, 0.70], [0.30, 0.95, 0.80], [0.1, 0.1, 0.1]])
    assert recommend(p, 1).indices.tolist() == [0]
    rec = recommend(p, 1, strategy="ucb", kappa=1.0)
    assert rec.indices.tolist() == [1]
    assert rec.scores[0] == pytest.approx(p[1].mean() + p[1].std())
    assert recommend(p, 1, strategy="ucb", kappa=0.0).indices.tolist() == [0]


def test_random_is_reproducible_per_seed_and_covers_the_pool() -> None:
    p = np.linspace(0, 1, 50)
    a = recommend(p, 5, strategy="random", seed=3).indices.tolist()
    assert a == recommend(p, 5, strategy="random", seed=3).indices.tolist()
    seen: set[int] = set()
    for seed in range(40):
        seen |= set(recommend(p, 5, strategy="random", seed=seed).indices.tolist())
    assert len(seen) > 40  # not the top of any score
    assert 49 not in a or 48 not in a  # not the exploit batch


# -- diversity -----------------------------------------------------------------------------


def test_exact_ties_are_split_by_distance_not_taken_as_twins() -> None:
    # 6 candidates tie at P = 1: three near-identical twins at Ti ~ 0 and three spread out
    amounts = [0.0, 0.01, 0.02, 0.6, 1.2, 2.0, 1.6]
    p = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    rec = recommend(p, 4, amounts=amounts)
    picks = set(rec.indices.tolist())
    assert len({0, 1, 2} & picks) == 1
    assert picks - {0, 1, 2} == {3, 4, 5}
    assert all(np.isfinite(rec.min_distance[1:])) and np.isinf(rec.min_distance[0])


def test_near_tie_tolerance_trades_a_little_score_for_spread() -> None:
    amounts = [0.0, 0.01, 0.02, 1.0]
    p = np.array([0.99, 0.985, 0.98, 0.97])
    strict = recommend(p, 2, amounts=amounts, tie_tolerance=0.0)
    assert strict.indices.tolist() == [0, 1]  # distinct scores: pure ranking
    loose = recommend(p, 2, amounts=amounts, tie_tolerance=0.05)
    assert loose.indices.tolist() == [0, 3]
    far = recommend(p, 2, amounts=amounts, tie_tolerance=0.001)
    assert far.indices.tolist() == [0, 1]  # 0.97 is not a near-tie of 0.985


def test_select_batch_greedy_max_min() -> None:
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [10.0, 10.0], [0.1, 0.1]])
    picks, dist = select_batch(np.ones(5), x, 3, tie_tolerance=np.inf)
    assert picks[0] == 0 and picks[1] == 3
    assert dist[1] == pytest.approx(np.linalg.norm(x[3] - x[0]))


# -- exclusion, reasons, serialisation, protocol -------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_excludes_and_explains(name: str) -> None:
    rng = np.random.default_rng(0)
    p = rng.random((40, 3))
    excluded = set(range(0, 40, 2))
    rec = recommend(p, 8, strategy=name, exclude=excluded, seed=1)
    assert len(rec) == 8 == len(set(rec.formulas))
    assert not excluded & set(rec.indices.tolist())
    formulas = ti_series(np.arange(40) * 0.04).formulas
    assert all(formulas[i] == f for i, f in zip(rec.indices, rec.formulas, strict=True))
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
    assert isinstance(strategy, AcquisitionStrategy)
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
    p = np.linspace(0, 1, 10)
    assert len(recommend(p, 5, exclude=range(6))) == 4  # what is left, no more
    with pytest.raises(ValidationError, match=r"no candidates left \(10 given, all measured"):
        recommend(p, 5, exclude=range(10))
    with pytest.raises(ValidationError, match="at least 1"):
        recommend(p, 0)


def test_unknown_strategy_and_option() -> None:
    with pytest.raises(ValidationError, match=r"unknown strategy 'greedy' \(one of exploit"):
        make_strategy("greedy")
    with pytest.raises(ValidationError, match="strategy 'exploit'"):
        make_strategy("exploit", kappa=1.0)
    with pytest.raises(ValidationError, match="'type' field"):
        strategy_from_json("[1]")


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
