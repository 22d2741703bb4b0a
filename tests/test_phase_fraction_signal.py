"""The ``phase_fraction`` signal (issue 14): the NASICON weight fraction XRD recorded
reaches the recommender's observations (current records only), a near miss (95 % NASICON)
ranks above a clear miss (10 %) that labels cannot tell apart, and the signal is chosen
by ``[proposals] signal`` or ``propose --signal``; a bad value is refused with one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from registry_fixtures import sqlite_registry, synthesis, write, xrd  # noqa: F401
from test_recommender import LU_QUARTERS, trained  # noqa: F401  (module fixture reused)

from flows.services.observations import phase_fractions, registry_observations
from flows.services.record import retract
from loop.recommend import Compositions, Observations, build_recommender
from loop.settings import LabelConfig, ProposalConfig
from registry import OutcomeWrite, Registry

A = "Na3Zr1.5Ti0.5Si2PO12"
B = "Na3.5Zr1.5Sc0.5Si2PO12"
C = "Na3Zr1.5Sn0.5Si2PO12"
D = "Na3.5Zr1.5Y0.5Si2PO12"
E = "Na3Zr1.5Hf0.5Si2PO12"


def test_observations_carry_the_current_recorded_fractions(
    sqlite_registry: Registry,  # noqa: F811
) -> None:
    reg = sqlite_registry
    made = [("S1", A), ("S2", A), ("S3", B), ("S4", C), ("S5", C), ("S6", D), ("S7", E)]
    write(reg, [synthesis(s, f) for s, f in made])
    write(reg, [synthesis("S8", E, succeeded=False)])
    writes = [
        xrd("S1", False, 0.4), xrd("S2", False, 0.2),  # A: its best sample, 0.8
        xrd("S3", False, 0.3),  # B: corrected below to 0.1 -> 0.9
        xrd("S4", False, 0.25),  # C: retracted below; S5 unquantified -> no fraction
        xrd("S5", False, None),
        OutcomeWrite("xrd", "S6", {"phase_pure": False, "verdict": "no_nasicon"}),  # D: 0
        xrd("S7", True, 0.01),  # E: 0.99 (S8 failed: its XRD is not consulted)
        xrd("S8", False, 0.5),
    ]  # fmt: skip
    report = write(reg, writes)
    ids = {writes[i].sample_id: row_id for i, _, row_id in report.added}
    write(reg, [xrd("S3", False, 0.1, supersedes_id=ids["S3"], reason="refined again")])
    retract(reg, "xrd", ids["S4"], reason="wrong pattern", recorded_by="ann")
    expected = {A: 0.8, B: 0.9, D: 0.0, E: 0.99}
    assert phase_fractions(reg) == pytest.approx(expected)
    observed = registry_observations(reg, LabelConfig())
    got = dict(zip(observed.compositions.formulas, observed.phase_fraction, strict=True))
    assert set(got) == {A, B, C, D, E}  # C is labelled (S5) but carries no fraction
    assert np.isnan(got[C])
    assert {f: got[f] for f in expected} == pytest.approx(expected)


def _families() -> tuple[Compositions, Observations, np.ndarray, np.ndarray]:
    """Sc and Y substitutions, every other one made: none pure; the Sc ones 95 % NASICON,
    the Y ones 10 %; Hf ones (pure) on the side. The candidates are the rest."""
    sc = [f"Na{3 + a:.2f}Zr{2 - a:.2f}Sc{a:.2f}Si2PO12" for a in np.arange(0.05, 1.0, 0.05)]
    y = [f"Na{3 + a:.2f}Zr{2 - a:.2f}Y{a:.2f}Si2PO12" for a in np.arange(0.05, 1.0, 0.05)]
    hf = [f"Na3Zr{2 - a:.2f}Hf{a:.2f}Si2PO12" for a in np.arange(0.1, 1.0, 0.1)]
    comps = Compositions.of_formulas(sc + y + hf)
    n = len(sc)
    seen = np.r_[np.arange(0, n, 2), n + np.arange(0, n, 2), 2 * n + np.arange(len(hf))]
    cands = np.setdiff1d(np.arange(len(comps)), seen)
    labels = seen >= 2 * n
    fraction = np.where(seen < n, 0.95, np.where(seen < 2 * n, 0.10, 1.0))
    observed = Observations.of(comps.take(seen), labels, phase_fraction=fraction)
    metal = np.array([next(m for m in ("Sc", "Y", "Hf") if m in f) for f in comps.formulas])
    return comps, observed, cands, metal


def test_a_near_miss_ranks_above_a_clear_miss() -> None:
    comps, observed, cands, metal = _families()
    pool = comps.take(cands)
    sc = metal[cands] == "Sc"
    fraction = build_recommender(ProposalConfig(signal="phase_fraction", min_distance=0.0))
    ranked = fraction.recommend(pool, observed, len(pool), seed=0)  # every candidate, ranked
    assert all("Sc" in f for f in ranked.formulas[: sc.sum()])  # 95 % NASICON is nearer pure
    assert all("[phase_fraction via et-fraction: 29 recorded fraction(s)" in r
               for r in ranked.reasons)  # fmt: skip
    # labels alone: both families failed, so they cannot tell Sc from Y
    # (et-fraction's label classifier is the extra-trees committee, surrogate "et")
    labels = build_recommender(ProposalConfig(min_distance=0.0, surrogate="et"))
    committee = labels.predict(pool, observed, seed=0)  # the fractions play no part
    p_labels = committee.mean(1)
    assert p_labels[sc].mean() == pytest.approx(p_labels[~sc].mean(), abs=0.1)
    # no fraction recorded: the signal is the label classifier, and says so
    bare = Observations.of(observed.compositions, observed.labels)
    out = fraction.recommend(pool, bare, 2, seed=0)
    assert np.allclose(out.mean_probability, p_labels[out.indices])
    assert "no fraction recorded, labels only" in out.reasons[0]
    assert "labels only when no fraction is recorded" in fraction.describe()["learns_from"]


def test_a_stricter_impurity_threshold_lowers_the_near_misses() -> None:
    comps, observed, cands, metal = _families()
    pool = comps.take(cands)
    sc = metal[cands] == "Sc"

    def p_sc(threshold: float) -> float:
        rec = build_recommender(ProposalConfig(signal="phase_fraction"),
                                impurity_threshold=threshold)  # fmt: skip
        return float(rec.predict(pool, observed, seed=0).mean(1)[sc].mean())

    assert p_sc(0.06) > p_sc(0.02) > p_sc(0.0)


def _lab(trained_db: Path, tmp_path: Path) -> str:
    """A copy of the trained registry with XRD fractions on two Lu-free compositions."""
    db = tmp_path / "nasicon.db"
    shutil.copy(trained_db, db)
    (tmp_path / "lu.toml").write_text(LU_QUARTERS)
    url = f"sqlite:///{db}"
    with Registry.from_url(url) as reg:
        write(reg, [synthesis("X1", B), synthesis("X2", D)])
        write(reg, [xrd("X1", False, 0.05), xrd("X2", False, 0.9)])
    return url


def _open(url: str) -> tuple:
    with Registry.from_url(url) as reg:
        return reg.run(lambda uow: uow.proposals.snapshot().open, write=False)


def test_the_signal_is_chosen_in_the_settings(trained: Path, tmp_path: Path) -> None:  # noqa: F811
    url = _lab(trained, tmp_path)
    args = ["propose", "--db", url, "--space", "lu.toml", "--batch", "3", "--json", "--quiet",
            "--shortlist", "400"]  # fmt: skip
    (tmp_path / "nasicon.toml").write_text('[proposals]\nsignal = "phase_fraction"\n')
    done = run_cli(args, cwd=tmp_path)
    assert done.code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["signal"] == "phase_fraction"
    assert doc["recommender"]["surrogate"] == "et-fraction"
    tag = "[phase_fraction via et-fraction: 2 recorded fraction(s), labels elsewhere]"
    assert all(tag in row["reason"] for row in doc["proposals"])
    assert {r.signal for r in _open(url)} == {"phase_fraction"}


def test_the_option_overrides_the_settings(trained: Path, tmp_path: Path) -> None:  # noqa: F811
    url = _lab(trained, tmp_path)
    (tmp_path / "nasicon.toml").write_text('[proposals]\nsignal = "labels"\n')
    args = ["propose", "--db", url, "--space", "lu.toml", "--batch", "3", "--json", "--quiet",
            "--shortlist", "400", "--dry-run", "--signal", "phase_fraction"]  # fmt: skip
    done = run_cli(args, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["signal"] == "phase_fraction"
    assert _open(url) == ()  # a dry run


@pytest.mark.parametrize("where", ["settings", "option"])
def test_a_bad_signal_is_refused_with_one_line(
    trained: Path,  # noqa: F811
    tmp_path: Path,
    where: str,
) -> None:
    url = _lab(trained, tmp_path)
    args = ["propose", "--db", url, "--space", "lu.toml", "--batch", "3", "--quiet"]
    if where == "settings":
        (tmp_path / "nasicon.toml").write_text('[proposals]\nsignal = "fractions"\n')
    else:
        args += ["--signal", "fractions"]
    refused = run_cli(args, cwd=tmp_path)
    assert refused.error_message().startswith(
        "unknown signal 'fractions' (one of labels, ehull, phase_fraction)"
    )
    assert _open(url) == ()
