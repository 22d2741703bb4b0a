"""Campaign backtests on the DFT data set: bookkeeping, shared seeds, figure, CLI, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from experiments.importers.dft import read_dft_dataset
from loop.chemistry import parse_nasicon
from loop.descriptors.occupancy import batch_from_compositions
from loop.errors import DataMissingError, ValidationError
from loop.recommend import build_recommender
from loop.settings import ProposalConfig
from loop.simulation import (
    CampaignSettings,
    EhullSurrogate,
    GPEhullSurrogate,
    MixtureSurrogate,
    backtest,
    dft_pool,
    discovery_curves_figure,
    element_amounts,
    feature_matrix,
    make_surrogate,
    run_campaign,
    seed_sets,
)
from registry.reports import save_figure

REPO = Path(__file__).resolve().parents[1]
NASICON = str(Path(sys.executable).with_name("nasicon"))
SMALL = CampaignSettings(seed_size=20, batch_size=8, budget=44)


@pytest.fixture(scope="module")
def pool(dft_data_dir: Path):
    return dft_pool(read_dft_dataset(dft_data_dir))


@pytest.fixture(scope="module")
def small_result(pool):
    return backtest(pool, ["exploit", "ucb"], settings=SMALL, repeats=2, seed=7, surrogate="rf")


def test_pool_is_the_data_set_with_its_labels(pool, dft_frame) -> None:
    assert len(pool) == 3881
    assert pool.accessible_fraction == pytest.approx((dft_frame["NewEhullLst"] <= 0).mean())
    assert pool.labels.sum() == (dft_frame["NewEhullLst"] <= 0).sum()
    assert pool.formulas[0] == parse_nasicon(dft_frame["CompName"].iloc[0]).formula


def test_every_strategy_and_random_share_the_seed_sets(small_result) -> None:
    assert list(small_result.traces) == ["exploit", "ucb", "random"]
    seeds = [
        [t.seed_rows.tolist() for t in small_result.traces[name]] for name in small_result.traces
    ]
    assert seeds[0] == seeds[1] == seeds[2]
    assert seeds[0][0] != seeds[0][1]  # one seed set per repeat


def test_campaign_bookkeeping(pool, small_result) -> None:
    for traces in small_result.traces.values():
        for trace in traces:
            proposed = trace.proposed
            assert len(proposed) == SMALL.n_proposed == 24
            assert [len(b) for b in trace.batches] == [8, 8, 8]
            assert len(set(proposed.tolist())) == 24
            assert not set(proposed.tolist()) & set(trace.seed_rows.tolist())
            assert trace.hits == int(pool.labels[proposed].sum())
    out = small_result.to_dict()
    for name, stats in out["strategies"].items():
        hits = [t.hits for t in small_result.traces[name]]
        assert stats["hits_mean"] == pytest.approx(np.mean(hits))
        assert stats["hits_sd"] == pytest.approx(np.std(hits, ddof=1))
        expected = np.mean(hits) / (24 * pool.accessible_fraction)
        assert out["enhancement"][name] == pytest.approx(expected)
    assert out["random_baseline"]["enhancement"] == out["enhancement"]["random"]
    assert out["ideal_enhancement"] == pytest.approx(1 / pool.accessible_fraction)


def test_last_batch_is_cut_to_the_budget(pool) -> None:
    settings = CampaignSettings(seed_size=20, batch_size=8, budget=41)
    trace = run_campaign(
        pool, build_recommender(ProposalConfig(), strategy="random"),
        seed_sets(len(pool), 20, 1, 0)[0], settings,
    )  # fmt: skip
    assert [len(b) for b in trace.batches] == [8, 8, 5]


def test_exploit_finds_more_than_random(pool) -> None:
    result = backtest(pool, ["exploit"], settings=CampaignSettings(20, 8, 76), repeats=3, seed=11)
    assert result.hits("exploit").mean() > 2 * result.hits("random").mean()


class Steps:
    """A progress hook that keeps what it was told, bar by bar."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.labels: list[str] = []
        self.finished: list[str] = []

    def start(self, key: str, description: str, total: int) -> None:
        self.total[key], self.done[key] = total, 0
        self.labels.append(description)

    def advance(self, key: str, amount: int = 1, description: str | None = None) -> None:
        self.done[key] += amount
        if description is not None:
            self.labels.append(description)

    def finish(self, key: str) -> None:
        self.finished.append(key)


def test_backtest_reports_one_step_per_campaign(pool) -> None:
    steps = Steps()
    backtest(pool, ["exploit"], settings=SMALL, repeats=2, seed=3, progress=steps)
    assert steps.total == steps.done == {"backtest": 4}  # (exploit + random) x 2 repeats
    assert steps.finished == ["backtest"]
    assert "random campaign 2/2" in steps.labels


def test_same_seed_same_result(pool) -> None:
    a = backtest(pool, ["exploit"], settings=SMALL, repeats=1, seed=3)
    b = backtest(pool, ["exploit"], settings=SMALL, repeats=1, seed=3)
    assert a.traces["exploit"][0].proposed.tolist() == b.traces["exploit"][0].proposed.tolist()


def test_discovery_curve_png(small_result, tmp_path: Path) -> None:
    figure = discovery_curves_figure(small_result)
    path = save_figure(figure, tmp_path / "figures" / "curve.png")
    assert path == tmp_path / "figures" / "curve.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["curve.png"]  # no temporary file left
    curves = small_result.curves("exploit")
    assert curves.shape == (2, 24)
    assert np.array_equal(curves[:, -1], small_result.hits("exploit"))


# -- surrogates and features ---------------------------------------------------------------


def test_element_amounts() -> None:
    comps = [parse_nasicon("Na3Zr2Si2PO12"), parse_nasicon("Na3.5Zr1.0Ti0.5Lu0.5Si2PO12")]
    batch = batch_from_compositions(comps)
    amounts = element_amounts(batch, ["Lu", "Ti", "Zr"])
    assert amounts.tolist() == [[0, 0, 2, 2, 1, 0], [0.5, 0.5, 1.0, 2, 1, 0]]


def test_feature_sets(pool) -> None:
    engine, names = feature_matrix(pool, "engine")
    both, both_names = feature_matrix(pool, "engine+elements")
    assert engine.shape == (3881, 19) and both.shape == (3881, 19 + 16 + 3)
    assert np.array_equal(both[:, :19], engine) and both_names[:19] == names
    with pytest.raises(ValidationError, match="unknown feature set"):
        feature_matrix(pool, "colour")


def test_ehull_surrogate_probabilities_follow_predicted_ehull(pool) -> None:
    x, _ = feature_matrix(pool, "engine+elements")
    rows = np.arange(0, 3881, 20)
    surrogate = make_surrogate("et-ehull", seed=0)
    assert isinstance(surrogate, EhullSurrogate)
    surrogate.fit(x[rows], pool.labels[rows], pool.ehull_mev[rows])
    p = surrogate.predict_committee(x[:300])
    e = surrogate.predict_ehull(x[:300])
    assert p.shape == e.shape == (300, 200)
    assert ((p > 0) & (p < 1)).all()
    assert np.all(np.diff(p[np.argsort(e[:, 0]), 0]) <= 1e-12)  # lower Ehull, higher P
    with pytest.raises(ValidationError, match="needs the Ehull"):
        surrogate.fit(x[rows], pool.labels[rows], None)


def test_gaussian_process_and_mixture_surrogates(pool) -> None:
    x, _ = feature_matrix(pool, "engine+elements")
    rows = np.arange(0, 3881, 25)
    mixture = make_surrogate("et+gp-ehull", seed=0)
    assert isinstance(mixture, MixtureSurrogate)
    mixture.fit(x[rows], pool.labels[rows], pool.ehull_mev[rows])
    p = mixture.predict_committee(x[:200])
    forest, gp = mixture.members
    assert isinstance(gp, GPEhullSurrogate)
    assert p.shape == (200, 2)
    assert np.allclose(p[:, 0], forest.predict_committee(x[:200]).mean(1))
    assert np.allclose(p[:, 1], gp.predict_committee(x[:200])[:, 0])
    _, sd = gp.predict_ehull(x[:200])
    assert (sd > 0).all() and ((p > 0) & (p < 1)).all()
    # the process interpolates its training rows far better than a random guess
    train_mu, _ = gp.predict_ehull(x[rows])
    target = np.clip(pool.ehull_mev[rows], -500, 500)
    assert np.corrcoef(train_mu, target)[0, 1] > 0.5


def test_logistic_reg_is_the_label_default_and_calibrated_in_shape(pool) -> None:
    rec = build_recommender(ProposalConfig())
    assert rec.signal == "labels" and rec.surrogate == "logistic-reg"
    x, _ = feature_matrix(pool, "engine+elements+tf")
    rows = np.arange(0, 3881, 20)
    p = make_surrogate("logistic-reg", seed=0).fit(x[rows], pool.labels[rows]).predict_committee(x)
    assert p.shape == (3881, 1) and ((p > 0) & (p < 1)).all()
    # mean P near the training positives' share, and it ranks the positives first
    assert abs(p.mean() - pool.labels[rows].mean()) < 0.05
    top = np.argsort(-p[:, 0])[:200]
    assert pool.labels[top].mean() > 3 * pool.accessible_fraction
    # the same seed gives the same batch (one campaign step through the recommender)
    small = CampaignSettings(seed_size=20, batch_size=8, budget=28)
    seed_rows = seed_sets(len(pool), 20, 1, 3)[0]
    a, b = (run_campaign(pool, rec, seed_rows, small, seed=3) for _ in range(2))
    assert len(a.proposed) == 8 and np.array_equal(a.proposed, b.proposed)


def test_single_class_training_set_gives_its_frequency(pool) -> None:
    x, _ = feature_matrix(pool)
    s = make_surrogate("rf").fit(x[:5], np.zeros(5, dtype=bool))
    assert np.all(s.predict_committee(x[:7]) == 0.0)


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (CampaignSettings(20, 8, 10), "budget 10 is below the seed size 20"),
        (CampaignSettings(20, 8, 20), "nothing is left to propose"),
        (
            CampaignSettings(20, 4000, 200),
            "batch of 4000 is larger than the 3861 compositions left",
        ),
        (CampaignSettings(20, 8, 5000), "budget 5000 is larger than the pool of 3881"),
        (CampaignSettings(0, 8, 50), "seed size must be at least 1"),
    ],
)
def test_impossible_campaigns(pool, settings: CampaignSettings, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        backtest(pool, ["exploit"], settings=settings, repeats=1)


def test_unknown_names_and_missing_data(pool, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown strategy 'best'"):
        backtest(pool, ["best"], settings=SMALL, repeats=1)
    with pytest.raises(ValidationError, match="unknown surrogate 'svm9'"):
        backtest(pool, ["exploit"], settings=SMALL, repeats=1, surrogate="svm9")
    with pytest.raises(ValidationError, match="repeats must be at least 1"):
        backtest(pool, ["exploit"], settings=SMALL, repeats=0)
    with pytest.raises(DataMissingError, match=r"train\.csv not found"):
        dft_pool(read_dft_dataset(tmp_path))


# -- CLI -----------------------------------------------------------------------------------


def test_cli_simulate_json_and_figure(dft_data_dir: Path, tmp_path: Path) -> None:
    figure = tmp_path / "curves.png"
    result = run_cli(
        ["simulate", "--seed-size", "20", "--batch", "8", "--budget", "36", "--strategy",
         "exploit", "--repeats", "1", "--json", "--data", str(dft_data_dir), "--figure",
         str(figure), "--quiet"],
    )  # fmt: skip
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out["strategies"]) == {"exploit", "random"} == set(out["enhancement"])
    assert {"hits_mean", "hits_sd"} <= set(out["strategies"]["exploit"])
    assert out["random_baseline"]["enhancement"] == out["enhancement"]["random"]
    assert out["n_proposed"] == 16 and out["figure"] == str(figure)
    assert figure.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "10"], "error: budget 10 is below the seed size 20"),
        (["--data", "/nonexistent"], "error: DFT data set file /nonexistent/train.csv not found"),
    ],
)
def test_cli_simulate_bad_input_exits_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [NASICON, "simulate", "--repeats", "1", "--quiet", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "5000"], "batch of 5000 is larger than the 3861 compositions left"),
        (["--strategy", "greedy"], "unknown strategy 'greedy'"),
        (["--surrogate", "svm9"], "unknown surrogate 'svm9'"),
        (["--features", "colour"], "unknown feature set 'colour'"),
        (["--repeats", "0"], "--repeats must be at least 1"),
    ],
)
def test_cli_simulate_bad_options(
    dft_data_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli(["simulate", "--quiet", "--data", str(dft_data_dir), *args], cwd=tmp_path)
    assert result.error_message().startswith(message)
    assert not (tmp_path / "reports").exists()
