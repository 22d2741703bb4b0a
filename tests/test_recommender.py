"""The one recommender (``loop.recommend``) shared by propose, round and simulate: a
simulation step and a propose dry run on the same registry state choose the same batch;
batches keep a minimum distance where chemists see it (Hf~Zr merged); bad settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from experiments.importers.design_spaces import load_space
from experiments.importers.dft import import_dft
from flows.services.observations import registry_observations
from flows.services.propose import ProposeRequest, propose
from flows.services.retrain import retrain
from loop.chemistry import parse_nasicon
from loop.descriptors.occupancy import parse_formulas
from loop.errors import ValidationError
from loop.recommend import (
    Compositions,
    Observations,
    build_recommender,
    chemist_coordinates,
    m_elements,
    select_batch,
)
from loop.settings import LabelConfig, NasiconConfig, ProposalConfig
from loop.simulation import LabelledPool, simulation_step
from registry import Registry

#: Lu with one other metal in quarters: Lu is not in the DFT data set, so no candidate is
#: an observation (quarters are exact in formula text: the pool can be built from text).
LU_QUARTERS = """
type = "grid"
name = "lu-quarters"
description = "Lu plus one metal, quarters"
pool = ["Lu", "Zr", "Hf", "Ti", "Sn", "Sc", "Y", "In", "Nb", "Ta", "Mg"]

[metals]
min_cations = 2
max_cations = 2
amount_denominators = [4]

[polyanions]
centres = ["Si", "P"]
max_centres = 2
amount_denominators = [1]

[constraints]
include = ["Lu"]
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, dft_data_dir: Path) -> Path:
    """A registry with 400 DFT labels (every 10th row of the data set, in a temporary
    folder) and two cheap models of round 1 (champion set)."""
    import pandas as pd

    from loop.training import RetrainSettings

    folder = tmp_path_factory.mktemp("recommender")
    subset = folder / "dft"
    subset.mkdir()
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(dft_data_dir / name)
        keep = (frame.index % 10 == 0) | (frame["CompName"] == "Na3Zr2Si2PO12")  # t2's norm
        frame[keep].to_csv(subset / name, index=False)
    dft_data_dir = subset
    cfg = NasiconConfig()
    cfg.database.url = f"sqlite:///{folder / 'nasicon.db'}"
    cfg.data.dft_path = dft_data_dir
    cfg.models.artifacts_dir = folder / "models"
    with Registry.from_url(cfg.database.url, check_schema=False) as registry:
        registry.init_schema()
        import_dft(registry, dft_data_dir)
        settings = RetrainSettings(
            folds=3, trials=0, models=("tolerance_factor", "gnb"), importance=()
        )
        retrain(registry, cfg, settings, round_number=1)
    return folder / "nasicon.db"


@pytest.mark.parametrize(
    ("strategy", "signal", "surrogate"),
    [("exploit", "labels", None), ("ucb", "labels", None), ("exploit", "ehull", "et-ehull")],
)
def test_a_simulation_step_and_a_propose_choose_the_same_batch(
    trained: Path, tmp_path: Path, strategy: str, signal: str, surrogate: str | None
) -> None:
    db = tmp_path / "nasicon.db"
    shutil.copy(trained, db)
    toml = tmp_path / "lu.toml"
    toml.write_text(LU_QUARTERS)
    space = load_space(toml)
    config = ProposalConfig(strategy=strategy, signal=signal, surrogate=surrogate, min_distance=0.3)
    rec = build_recommender(config)
    request = ProposeRequest(
        space, rec.strategy, 8, shortlist=len(space) + 1, seed=5, recommender=rec
    )
    with Registry.from_url(f"sqlite:///{db}") as registry:
        proposed = propose(registry, request, dry_run=True)
        observed = registry_observations(registry, LabelConfig())
    assert proposed.to_dict()["signal"] == signal
    chosen = [p.formula for p in proposed.proposals]
    # the same state as a lookup table: observed rows revealed, the space's rows not
    candidates = space.all().formulas()
    assert not set(candidates) & set(observed.compositions.formulas)
    text = [*observed.compositions.formulas, *candidates]
    parsed = parse_formulas(text)
    assert not parsed.errors
    table = Compositions.of_batch(parsed.batch)
    n_obs = len(observed)
    labels = np.concatenate([observed.labels, np.zeros(len(candidates), dtype=bool)])
    ehull = np.concatenate([observed.ehull_mev, np.full(len(candidates), np.nan)])
    pool = LabelledPool(table.formulas, parsed.batch, table.descriptors, labels, ehull)
    labelled = np.arange(len(pool)) < n_obs
    picks = simulation_step(pool, labelled, build_recommender(config), 8, seed=5)
    assert [str(f) for f in pool.formulas[picks]] == chosen
    assert len(chosen) == 8


def test_hf_zr_swaps_are_near_identical() -> None:
    comps = Compositions.of_formulas(
        ["Na3Zr2Si2PO12", "Na3Zr1.9Hf0.1Si2PO12", "Na3Zr1.9Ti0.1Si2PO12", "Na3Nb1Ta1P3O12"]
    )
    comps_swapped = Compositions.of_formulas(["Na3Nb0.5Ta1.5P3O12"])
    x = chemist_coordinates(comps.batch, m_elements(comps.batch))
    assert np.allclose(x[0], x[1])  # 0.1 Hf for Zr: the same composition to a chemist
    assert np.linalg.norm(x[0] - x[2]) == pytest.approx(np.sqrt(0.02))  # Ti is not Zr
    both = Compositions.of_formulas(["Na3Nb1Ta1P3O12", "Na3Nb0.5Ta1.5P3O12"])
    y = chemist_coordinates(both.batch, m_elements(both.batch))
    assert np.allclose(y[0], y[1]) and len(comps_swapped) == 1


def test_a_batch_never_holds_two_compositions_closer_than_the_minimum() -> None:
    rng = np.random.default_rng(0)
    formulas = [f"Na3Zr{2 - a:.1f}Hf{a:.1f}Si2PO12" for a in np.arange(0, 1.05, 0.1)] + [
        f"Na3Zr{2 - a:.1f}Ti{a:.1f}Si2PO12" for a in np.arange(0.1, 1.05, 0.1)
    ]
    comps = Compositions.of_formulas(formulas)
    x = chemist_coordinates(comps.batch, m_elements(comps.batch))
    scores = rng.random(len(formulas))
    picks, dist = select_batch(scores, x, 8, min_distance=0.25)
    gaps = np.sqrt(((x[picks][:, None] - x[picks][None]) ** 2).sum(-1))
    assert (gaps[np.triu_indices(len(picks), 1)] >= 0.25).all()
    hf = [i for i in picks if "Hf" in formulas[i] or formulas[i] == "Na3Zr2.0Hf0.0Si2PO12"]
    assert len(hf) == 1  # every Hf-for-Zr swap is the same composition: one of them at most
    assert picks[0] == int(np.argmax(scores)) or np.isfinite(dist[0]) is False
    free, _ = select_batch(scores, x, 8, min_distance=0.0)
    assert len(free) == 8 and len(picks) < 8  # the minimum is what shortened the batch


def test_recommender_batch_respects_the_minimum_and_names_its_signal() -> None:
    formulas = [f"Na3Zr{2 - a:.2f}Hf{a:.2f}Si2PO12" for a in np.arange(0, 1.0, 0.05)] + [
        f"Na{3 + a:.2f}Zr{2 - a:.2f}Y{a:.2f}Si2PO12" for a in np.arange(0.05, 1.0, 0.05)
    ]
    comps = Compositions.of_formulas(formulas)
    observed = Observations.of(comps.take(np.arange(0, 39, 2)), np.arange(20) % 3 == 0)
    open_rows = np.arange(1, 39, 2)
    rec = build_recommender(ProposalConfig(min_distance=0.3))
    out = rec.recommend(comps.take(open_rows), observed, 6, seed=1)
    x = chemist_coordinates(comps.batch, m_elements(comps.batch))[open_rows][out.indices]
    gaps = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))[np.triu_indices(len(x), 1)]
    assert (gaps >= 0.3).all()
    assert all("[labels via logistic-reg]" in r for r in out.reasons)
    assert rec.describe()["signal"] == "labels"


def test_order_of_the_rows_does_not_change_the_batch() -> None:
    formulas = [f"Na{3 + a:.2f}Zr{2 - a:.2f}Sc{a:.2f}Si2PO12" for a in np.arange(0, 0.96, 0.03)]
    comps = Compositions.of_formulas(formulas)
    observed = Observations.of(comps.take(np.arange(0, 32, 3)), np.arange(11) < 5)
    cands = np.setdiff1d(np.arange(32), np.arange(0, 32, 3))
    rec = build_recommender(ProposalConfig(min_distance=0.1))
    a = rec.recommend(comps.take(cands), observed, 5, seed=3).formulas
    shuffled = cands[::-1]
    b = rec.recommend(comps.take(shuffled), observed.take(np.arange(10, -1, -1)), 5, seed=3)
    assert a == b.formulas


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signal": "smell"}, "unknown signal 'smell'"),
        ({"surrogate": "svm9"}, "unknown surrogate 'svm9'"),
        ({"surrogate": "et-ehull"}, "surrogate 'et-ehull' learns from ehull, not from signal"),
        ({"strategy": "best"}, "unknown strategy 'best'"),
        ({"min_distance": -1.0}, "minimum distance must be >= 0"),
    ],
)
def test_bad_recommender_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_recommender(ProposalConfig(), **kwargs)


def test_the_ehull_signal_needs_computed_records() -> None:
    comps = Compositions.of_formulas(["Na3Zr2Si2PO12", "Na3Zr1.5Ti0.5Si2PO12", "NaZr2P3O12"])
    observed = Observations.of(comps.take(np.array([0, 1])), np.array([True, False]))
    rec = build_recommender(ProposalConfig(signal="ehull"))
    with pytest.raises(ValidationError, match="none of the 2 observations carries it"):
        rec.recommend(comps.take(np.array([2])), observed, 1)
    assert parse_nasicon("NaZr2P3O12").formula == comps.formulas[2]


# -- objectives: P(forms) and conductivity --------------------------------------------------


def test_few_conductivity_rows_report_the_prior_sd() -> None:
    from loop.recommend.objectives import PRIOR_SD_DECADES, GPConductivity

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = -4 + x[:, 0]
    few = GPConductivity().fit(x[:2], y[:2])
    _, sd_few = few.predict(x[2:5])
    assert np.allclose(sd_few, PRIOR_SD_DECADES)
    many = GPConductivity().fit(x, y)
    mean, sd = many.predict(x[:5])
    assert (sd < PRIOR_SD_DECADES / 4).all() and np.allclose(mean, y[:5], atol=0.3)


def test_pareto_fronts_and_constrained_ei() -> None:
    from loop.recommend.objectives import (
        expected_improvement,
        multi_objective_scores,
        pareto_fronts,
    )

    p = np.array([0.9, 0.5, 0.8, 0.1, 0.85])
    mu = np.array([-5.0, -3.0, -4.0, -2.0, -5.5])
    assert pareto_fronts(p, mu).tolist() == [0, 0, 0, 0, 1]
    sd = np.full(5, 0.5)
    ei = multi_objective_scores("constrained_ei", p, mu, sd, best=-3.5)
    assert np.allclose(ei, expected_improvement(mu, sd, -3.5) * p)
    assert (multi_objective_scores("pareto", p, mu, sd, -3.5)[:4] > -1).all()


def test_objective_both_reports_both_predictions() -> None:
    formulas = [f"Na{3 + a:.2f}Zr{2 - a:.2f}Sc{a:.2f}Si2PO12" for a in np.arange(0, 0.96, 0.03)]
    comps = Compositions.of_formulas(formulas)
    seen = np.arange(0, 32, 3)
    observed = Observations.of(
        comps.take(seen), np.arange(11) < 6, log10_sigma=-5 + 2 * comps.batch.na[seen] - 6
    )
    cands = np.setdiff1d(np.arange(32), seen)
    for strategy in ("constrained_ei", "pareto", "desirability"):
        rec = build_recommender(ProposalConfig(min_distance=0.1), strategy=strategy,
                                objective="both")  # fmt: skip
        out = rec.recommend(comps.take(cands), observed, 3, seed=0)
        assert out.log10_sigma is not None and len(out.log10_sigma_sd) == 3
        assert all("log10 sigma" in r and "P(forms)" in r for r in out.reasons)
        assert rec.name == strategy
    with pytest.raises(ValidationError, match="needs conductivity records"):
        build_recommender(ProposalConfig(), objective="conductivity").recommend(
            comps.take(cands), Observations.of(comps.take(seen), np.arange(11) < 6), 3
        )
    with pytest.raises(ValidationError, match="weighs two objectives"):
        build_recommender(ProposalConfig(), strategy="pareto")


def test_queued_proposals_store_both_objectives(trained: Path, tmp_path: Path) -> None:
    from cli_runner import run_cli

    db = tmp_path / "nasicon.db"
    shutil.copy(trained, db)
    toml = tmp_path / "lu.toml"
    toml.write_text(LU_QUARTERS)
    url = f"sqlite:///{db}"
    refused = run_cli(
        ["propose", "--db", url, "--space", str(toml), "--batch", "3", "--objective",
         "conductivity", "--quiet"], cwd=tmp_path,
    )  # fmt: skip
    assert refused.error_message().startswith("objective 'conductivity' needs conductivity")
    with Registry.from_url(url) as registry:
        assert registry.run(lambda uow: uow.proposals.snapshot().open, write=False) == ()
    done = run_cli(
        ["propose", "--db", url, "--space", str(toml), "--batch", "3", "--json", "--quiet",
         "--shortlist", "400"], cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    with Registry.from_url(url) as registry:
        rows = registry.run(lambda uow: uow.proposals.snapshot().open, write=False)
    assert len(rows) == 3
    for row in rows:
        assert 0 <= row.p_forms <= 1 and row.p_forms_sd >= 0
        assert row.objective == "synthesis" and row.signal == "labels"
        assert row.log10_sigma_s_cm is None  # no conductivity objective asked
