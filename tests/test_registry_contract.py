"""Contract of the Registry facade, run against a SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import LU_NZSP, NZSP, SC_NZSP

from loop.chemistry import parse_nasicon
from loop.errors import CompositionError, ValidationError
from registry import (
    ConflictError,
    NotFoundError,
    OutcomeWrite,
    ProposalStatus,
    QueueTransitionError,
    RecordErrors,
    Registry,
    RegistryError,
)


def synthesis(sample: str, formula: str = NZSP, succeeded: bool = True, **kw) -> OutcomeWrite:
    return OutcomeWrite("synthesis", sample, {"succeeded": succeeded}, formula=formula, **kw)


def xrd(sample: str, pure: bool = True, impurity: float | None = None, **kw) -> OutcomeWrite:
    values = {"phase_pure": pure, "impurity_fraction": impurity}
    return OutcomeWrite("xrd", sample, values, **kw)


def sigma(sample: str, value: float = 1e-3, **kw) -> OutcomeWrite:
    return OutcomeWrite(
        "conductivity", sample, {"sigma_total_s_cm": value, "temperature_k": 298.15}, **kw
    )


def model_run(
    reg: Registry, round_number: int | None, algorithm: str, champion: bool = False
) -> int:
    return reg.add_model_run(
        round_number=round_number,
        algorithm=algorithm,
        scope="all",
        hyperparameters={"C": 1.0},
        fold_metrics=[{"f1_macro": 0.7}, {"f1_macro": 0.8}],
        metrics={"f1_macro": 0.75},
        is_champion=champion,
        artifact_path=None,
        artifact_sha256=None,
        training_data_sha256="0" * 64,
        library_versions={"scikit-learn": "1.5"},
        n_train=100,
    )


def count(reg: Registry, table: str) -> int:
    with reg.session(write=False) as s:
        return s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


# -- compositions --


def test_ensure_composition_is_canonical_and_idempotent(registry: Registry) -> None:
    first = registry.ensure_composition("Na3Zr2(SiO4)2(PO4)")
    assert registry.ensure_composition(NZSP) == first
    comp = registry.composition("Na3Zr2Si2P1O12")
    assert comp is not None and comp.formula == parse_nasicon(NZSP).formula
    assert comp.na == pytest.approx(3.0)
    assert comp.m_site == (("Zr", 4, 2.0),)
    assert {"n_na", "t1", "t2", "tf_accessible", "entropy_class"} <= set(comp.descriptors)
    assert count(registry, "compositions") == 1


def test_bad_formula_is_refused(registry: Registry) -> None:
    with pytest.raises(CompositionError, match="charge balanced"):
        registry.ensure_composition("Na4Zr2Si2PO12")
    assert count(registry, "compositions") == 0


# -- outcomes, corrections, history --


def test_outcomes_are_stored_with_sample_and_formula(registry: Registry) -> None:
    report = registry.write_outcomes([synthesis("S1"), xrd("S1"), sigma("S1")], recorded_by="ann")
    assert [k for _, k, _ in report.added] == ["synthesis", "xrd", "conductivity"]
    assert report.samples_created == ("S1",)
    current = registry.outcomes()
    assert {o.kind for o in current} == {"synthesis", "xrd", "conductivity"}
    assert all(o.sample_id == "S1" and o.formula == NZSP and o.status == "current" for o in current)
    assert all(o.recorded_at.tzinfo is not None for o in current)


def test_a_bad_write_stores_nothing_and_every_problem_is_reported(registry: Registry) -> None:
    registry.write_outcomes([synthesis("S1")], recorded_by="ann")
    before = count(registry, "samples"), count(registry, "xrd_results")
    with pytest.raises(RecordErrors) as info:
        registry.write_outcomes(
            [synthesis("S2"), xrd("S2"), synthesis("S1"), xrd("NOPE")], recorded_by="ann"
        )
    problems = dict(info.value.problems)
    assert set(problems) == {2, 3}
    assert "duplicate sample id 'S1'" in problems[2]
    assert "unknown sample id 'NOPE'" in problems[3]
    assert (count(registry, "samples"), count(registry, "xrd_results")) == before


def test_repeats_of_a_composition_are_separate_samples(registry: Registry) -> None:
    registry.write_outcomes([synthesis("A"), synthesis("B")], recorded_by="ann")
    samples = registry.samples()
    assert [s.sample_id for s in samples] == ["A", "B"]
    assert samples[0].composition_id == samples[1].composition_id


def test_sample_ids_are_unique_per_campaign_only(registry: Registry) -> None:
    registry.ensure_campaign("other")
    registry.write_outcomes([synthesis("S1"), synthesis("S1", campaign="other")], recorded_by="ann")
    with pytest.raises(ConflictError, match="campaigns default, other"):
        registry.sample("S1")
    assert registry.sample("S1", "other").campaign == "other"


def test_unknown_campaign_is_refused_unless_asked_to_create(registry: Registry) -> None:
    with pytest.raises(RecordErrors, match="no campaign 'nowhere'"):
        registry.write_outcomes([synthesis("S1", campaign="nowhere")], recorded_by="ann")
    registry.write_outcomes(
        [synthesis("S1", campaign="nowhere")], recorded_by="ann", create_campaigns=True
    )
    assert "nowhere" in {c.name for c in registry.campaigns()}


def test_correction_supersedes_and_history_keeps_both(registry: Registry) -> None:
    report = registry.write_outcomes([synthesis("S1"), sigma("S1", 1e-3)], recorded_by="ann")
    first = report.added[1][2]
    fix = sigma("S1", 2e-3, supersedes_id=first, reason="unit typo")
    second = registry.write_outcomes([fix], recorded_by="bob").added[0][2]
    current = registry.outcomes(kinds=("conductivity",))
    assert [(o.id, o.values["sigma_total_s_cm"]) for o in current] == [(second, 2e-3)]
    trail = [r for r in registry.history("S1").records if r.kind == "conductivity"]
    assert [(r.id, r.status, r.superseded_by) for r in trail] == [
        (first, "superseded", second),
        (second, "current", None),
    ]
    assert trail[1].reason == "unit typo" and trail[1].recorded_by == "bob"


def test_a_correction_needs_a_reason_and_a_current_target(registry: Registry) -> None:
    first = registry.write_outcomes([synthesis("S1"), sigma("S1")], recorded_by="ann").added[1][2]
    with pytest.raises(RecordErrors, match="needs a reason"):
        registry.write_outcomes([sigma("S1", supersedes_id=first)], recorded_by="bob")
    registry.write_outcomes([sigma("S1", 2e-3, supersedes_id=first, reason="r")], recorded_by="bob")
    with pytest.raises(RecordErrors, match="already superseded"):
        registry.write_outcomes(
            [sigma("S1", 3e-3, supersedes_id=first, reason="r")], recorded_by="c"
        )
    registry.write_outcomes([synthesis("S2", SC_NZSP)], recorded_by="ann")
    with pytest.raises(RecordErrors, match="belongs to another sample"):
        registry.write_outcomes([sigma("S2", supersedes_id=first + 1, reason="r")], recorded_by="c")


def test_retraction_removes_a_result_from_current_but_not_from_history(registry: Registry) -> None:
    xrd_id = registry.write_outcomes([synthesis("S1"), xrd("S1")], recorded_by="ann").added[1][2]
    assert NZSP in registry.excluded_formulas()
    registry.retract("xrd", xrd_id, reason="pattern of another pellet", recorded_by="bob")
    assert registry.outcomes(kinds=("xrd",)) == []
    statuses = [(r.kind, r.status) for r in registry.history("S1").records]
    assert ("xrd", "retracted") in statuses and ("xrd", "retraction") in statuses
    assert NZSP not in registry.excluded_formulas()
    with pytest.raises(ConflictError, match="already superseded or retracted"):
        registry.retract("xrd", xrd_id, reason="again", recorded_by="bob")
    with pytest.raises(ValidationError, match="say why"):
        registry.retract("xrd", xrd_id, reason=" ", recorded_by="bob")
    with pytest.raises(NotFoundError):
        registry.retract("xrd", 999, reason="x", recorded_by="bob")


def test_stored_results_cannot_be_updated_or_deleted(registry: Registry) -> None:
    registry.write_outcomes([synthesis("S1"), xrd("S1")], recorded_by="ann")
    for statement in ("UPDATE xrd_results SET phase_pure = false", "DELETE FROM xrd_results"):
        with pytest.raises(RegistryError, match="immutable"):
            with registry.session() as s:
                s.execute(sa.text(statement))
    assert registry.outcomes(kinds=("xrd",))[0].values["phase_pure"] is True


def test_identical_rewrites_are_unchanged_when_asked(registry: Registry) -> None:
    writes = [synthesis("S1"), xrd("S1"), sigma("S1")]
    registry.write_outcomes(writes, recorded_by="ann")
    again = registry.write_outcomes(writes, recorded_by="ann", skip_identical=True)
    assert again.added == () and again.unchanged == (0, 1, 2)
    changed = registry.write_outcomes([sigma("S1", 5e-3)], recorded_by="a", skip_identical=True)
    assert len(changed.added) == 1  # a new measurement, not a silent duplicate


def test_a_result_must_match_the_sample_composition(registry: Registry) -> None:
    registry.write_outcomes([synthesis("S1")], recorded_by="ann")
    with pytest.raises(RecordErrors, match=f"made as {NZSP}"):
        registry.write_outcomes([dataclasses.replace(xrd("S1"), formula=SC_NZSP)], recorded_by="a")


def test_snapshots_are_frozen_and_detached(registry: Registry) -> None:
    registry.write_outcomes([synthesis("S1")], recorded_by="ann")
    snap = registry.outcomes()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.status = "superseded"  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap.values["succeeded"] = False  # type: ignore[index]
    assert registry.outcomes()[0].values["succeeded"] is True


# -- proposals and the queue --


def proposals(*formulas: str) -> list[dict]:
    return [
        {"formula": f, "model_run_id": None, "probabilities": {"rf": 0.9, "gnb": 0.6},
         "acquisition_score": 0.9 - i / 10, "strategy": "exploit", "reason": "high P"}
        for i, f in enumerate(formulas)
    ]  # fmt: skip


def test_add_proposals_is_idempotent_per_round_and_formula(registry: Registry) -> None:
    ids = registry.add_proposals(1, proposals(NZSP, SC_NZSP))
    again = registry.add_proposals(1, proposals("Na3Zr2(SiO4)2PO4", SC_NZSP))
    assert list(again) == list(ids) and again.new == []
    rows = registry.list_proposals()
    assert [p.formula for p in rows] == [NZSP, SC_NZSP]
    assert rows[0].probabilities == {"rf": 0.9, "gnb": 0.6}
    assert rows[0].status is ProposalStatus.QUEUED


def test_open_or_measured_compositions_are_not_queued_again(registry: Registry) -> None:
    registry.add_proposals(1, proposals(NZSP))
    registry.write_outcomes([synthesis("S1", SC_NZSP), xrd("S1")], recorded_by="ann")
    added = registry.add_proposals(2, proposals(NZSP, SC_NZSP, LU_NZSP))
    assert len(added) == 1 and added.skipped.keys() == {NZSP, SC_NZSP}
    assert "already open" in added.skipped[NZSP] and "measured" in added.skipped[SC_NZSP]
    assert registry.excluded_formulas() == {NZSP, SC_NZSP, parse_nasicon(LU_NZSP).formula}


def test_add_proposals_refuses_a_bad_formula_and_stores_nothing(registry: Registry) -> None:
    with pytest.raises(CompositionError, match="proposal 2"):
        registry.add_proposals(1, proposals(NZSP, "Na9Zr2Si2PO12"))
    assert registry.list_proposals() == []
    with pytest.raises(NotFoundError, match="model run"):
        registry.add_proposals(1, [{**proposals(NZSP)[0], "model_run_id": 42}])


def test_lifecycle_claim_synthesize_measure_with_who_and_when(registry: Registry) -> None:
    (pid,) = registry.add_proposals(1, proposals(NZSP))
    claimed = registry.claim(pid, "ann", hours=2)
    assert claimed.status is ProposalStatus.CLAIMED and claimed.claimed_by == "ann"
    with pytest.raises(QueueTransitionError, match="claimed by ann"):
        registry.claim(pid, "bob")
    registry.write_outcomes([synthesis("S1")], recorded_by="ann")
    assert registry.proposal(pid).status is ProposalStatus.SYNTHESIZED
    assert registry.sample("S1").proposal_id == pid
    registry.write_outcomes([xrd("S1")], recorded_by="cid")
    assert registry.proposal(pid).status is ProposalStatus.MEASURED
    events = registry.proposal_events(pid)
    assert [(e.to_status.value, e.who) for e in events] == [
        ("queued", "nasicon"), ("claimed", "ann"), ("synthesized", "ann"), ("measured", "cid"),
    ]  # fmt: skip
    assert all(e.at.tzinfo is not None for e in events)
    assert ProposalStatus.MEASURED.is_terminal and not ProposalStatus.CLAIMED.is_terminal


def test_failed_synthesis_is_an_outcome_not_an_abandonment(registry: Registry) -> None:
    (pid,) = registry.add_proposals(1, proposals(NZSP))
    registry.write_outcomes([synthesis("S1", succeeded=False)], recorded_by="ann")
    assert registry.proposal(pid).status is ProposalStatus.MEASURED
    assert NZSP in registry.excluded_formulas()


def test_release_abandon_and_reject_keep_reasons(registry: Registry) -> None:
    a, b, c = registry.add_proposals(1, proposals(NZSP, SC_NZSP, LU_NZSP))
    registry.claim(a, "ann")
    assert registry.release(a, "ann").status is ProposalStatus.QUEUED
    gone = registry.abandon(b, "precursor out of stock", "ann")
    assert (
        gone.status is ProposalStatus.ABANDONED and gone.status_reason == "precursor out of stock"
    )
    assert registry.reject(c, "Lu too expensive", "pi").status_reason == "Lu too expensive"
    with pytest.raises(QueueTransitionError):
        registry.claim(b, "ann")
    with pytest.raises(ValidationError, match="say why"):
        registry.abandon(a, "", "ann")
    with pytest.raises(NotFoundError):
        registry.claim(999, "ann")
    # an abandoned composition may be proposed again in a later round
    assert len(registry.add_proposals(2, proposals(SC_NZSP))) == 1


def test_an_expired_claim_returns_to_the_queue(registry: Registry) -> None:
    (pid,) = registry.add_proposals(1, proposals(NZSP))
    registry.claim(pid, "ann", hours=1)
    assert registry.expire_claims(datetime.now(UTC) + timedelta(minutes=30)) == []
    assert registry.expire_claims(datetime.now(UTC) + timedelta(hours=2)) == [pid]
    p = registry.proposal(pid)
    assert p.status is ProposalStatus.QUEUED and p.claimed_by is None
    assert "expired" in registry.proposal_events(pid)[-1].reason
    assert registry.claim(pid, "bob").claimed_by == "bob"


def test_reading_the_queue_releases_lapsed_claims(registry: Registry) -> None:
    (pid,) = registry.add_proposals(1, proposals(NZSP))
    registry.claim(pid, "ann", hours=1e-9)  # lapses at once: a lab restart leaves nothing stuck
    assert registry.list_proposals()[0].status is ProposalStatus.QUEUED


def test_only_one_open_proposal_per_composition_in_the_database(registry: Registry) -> None:
    registry.add_proposals(1, proposals(NZSP))
    cid = registry.ensure_composition(NZSP)
    with pytest.raises(RegistryError):
        with registry.session() as s:
            s.execute(
                sa.text(
                    "INSERT INTO proposals (round_number, composition_id, probabilities, strategy, "
                    "status, status_changed_at, created_at) VALUES (2, :c, '{}', 'x', 'queued', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"c": cid},
            )
    assert len(registry.list_proposals()) == 1


# -- model runs --


def test_model_runs_are_idempotent_per_round_and_algorithm(registry: Registry) -> None:
    first = model_run(registry, 1, "random_forest")
    assert model_run(registry, 1, "random_forest") == first
    assert model_run(registry, 2, "random_forest") != first
    none_a = model_run(registry, None, "gnb")
    assert model_run(registry, None, "gnb") == none_a
    runs = registry.model_runs(1)
    assert len(runs) == 1 and runs[0].fold_metrics[1]["f1_macro"] == 0.8
    assert registry.model_run(first).library_versions == {"scikit-learn": "1.5"}


def test_one_champion_per_round_and_the_latest_round_wins(registry: Registry) -> None:
    assert registry.champion() is None
    rf = model_run(registry, 1, "random_forest", champion=True)
    gnb = model_run(registry, 1, "gnb")
    registry.set_champion(gnb)
    flags = {r.algorithm: r.is_champion for r in registry.model_runs(1)}
    assert flags == {"random_forest": False, "gnb": True}
    assert registry.champion().id == gnb
    later = model_run(registry, 2, "svm", champion=True)
    assert registry.champion().id == later
    registry.set_champion(rf)  # re-crowning in an older round does not change the global one
    assert registry.champion().id == later
    with pytest.raises(NotFoundError):
        registry.set_champion(999)


# -- rounds --


def test_rounds_are_idempotent_and_count_new_labels(registry: Registry) -> None:
    registry.write_outcomes([synthesis("S1"), xrd("S1")], recorded_by="ann")
    registry.write_outcomes([synthesis("S2", SC_NZSP, succeeded=False)], recorded_by="ann")
    assert registry.labels_since_last_round() == 2
    started = registry.start_round(1, "flow-a")
    assert registry.start_round(1).started_at == started.started_at
    assert registry.labels_since_last_round() == 0
    registry.write_outcomes([synthesis("S3", LU_NZSP), xrd("S3"), sigma("S3")], recorded_by="a")
    assert registry.labels_since_last_round() == 1  # conductivity is not a label
    run = model_run(registry, 1, "rf", champion=True)
    done = registry.finish_round(1, run, n_new_labels=2, n_proposals=8)
    assert done.status == "finished" and done.champion_run_id == run and done.n_proposals == 8
    assert registry.latest_round().number == 1 and len(registry.rounds()) == 1
    with pytest.raises(NotFoundError):
        registry.finish_round(5, None, 0, 0)


def test_a_rerun_of_a_dead_round_records_its_new_flow_run(registry: Registry) -> None:
    registry.start_round(3, "first-try")
    assert registry.start_round(3, "second-try").flow_run_id == "second-try"
