"""Contract of the registry's repositories in a unit of work, on a SQLite file and on the real
PostgreSQL server (the proposal queue's part: test_registry_queue.py)."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import (
    LU_NZSP,
    NZSP,
    SC_NZSP,
    count,
    proposals,
    sigma,
    synthesis,
    write,
    xrd,
)

from loop.chemistry import parse_nasicon
from loop.errors import CompositionError, ValidationError
from registry import (
    ConflictError,
    NotFoundError,
    RecordErrors,
    Registry,
    RegistryError,
    UnitOfWork,
)


def model_run(
    reg: Registry, round_number: int | None, algorithm: str, champion: bool = False
) -> int:
    with reg.unit_of_work() as uow:
        return add_run(uow, round_number, algorithm, champion)


def add_run(uow: UnitOfWork, round_number: int | None, algorithm: str, champion: bool) -> int:
    return uow.model_runs.add(
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


# -- compositions --


def test_ensure_composition_is_canonical_and_idempotent(registry: Registry) -> None:
    with registry.unit_of_work() as uow:
        first = uow.compositions.ensure("Na3Zr2(SiO4)2(PO4)")
        assert uow.compositions.ensure(NZSP) == first
    with registry.unit_of_work(write=False) as uow:
        comp = uow.compositions.get("Na3Zr2Si2P1O12")
    assert comp is not None and comp.formula == parse_nasicon(NZSP).formula
    assert comp.na == pytest.approx(3.0)
    assert comp.m_site == (("Zr", 4, 2.0),)
    assert {"n_na", "t1", "t2", "tf_accessible", "entropy_class"} <= set(comp.descriptors)
    assert count(registry, "compositions") == 1


def test_bad_formula_is_refused(registry: Registry) -> None:
    with pytest.raises(CompositionError, match="charge balanced"):
        with registry.unit_of_work() as uow:
            uow.compositions.ensure("Na4Zr2Si2PO12")
    assert count(registry, "compositions") == 0


# -- outcomes, corrections, history --


def test_outcomes_are_stored_with_sample_and_formula(registry: Registry) -> None:
    report = write(registry, [synthesis("S1"), xrd("S1"), sigma("S1")])
    assert [k for _, k, _ in report.added] == ["synthesis", "xrd", "conductivity"]
    assert report.samples_created == ("S1",)
    with registry.unit_of_work(write=False) as uow:
        current = uow.outcomes.find()
    assert {o.kind for o in current} == {"synthesis", "xrd", "conductivity"}
    assert all(o.sample_id == "S1" and o.formula == NZSP and o.status == "current" for o in current)
    assert all(o.recorded_at.tzinfo is not None for o in current)


def test_a_bad_write_stores_nothing_and_every_problem_is_reported(registry: Registry) -> None:
    write(registry, [synthesis("S1")])
    before = count(registry, "samples"), count(registry, "xrd_results")
    with pytest.raises(RecordErrors) as info:
        write(registry, [synthesis("S2"), xrd("S2"), synthesis("S1"), xrd("NOPE")])
    problems = dict(info.value.problems)
    assert set(problems) == {2, 3}
    assert "duplicate sample id 'S1'" in problems[2]
    assert "unknown sample id 'NOPE'" in problems[3]
    assert (count(registry, "samples"), count(registry, "xrd_results")) == before


def test_repeats_of_a_composition_are_separate_samples(registry: Registry) -> None:
    write(registry, [synthesis("A"), synthesis("B")])
    with registry.unit_of_work(write=False) as uow:
        samples = uow.samples.all()
    assert [s.sample_id for s in samples] == ["A", "B"]
    assert samples[0].composition_id == samples[1].composition_id


def test_sample_ids_are_unique_per_campaign_only(registry: Registry) -> None:
    with registry.unit_of_work() as uow:
        uow.campaigns.ensure("other")
        uow.outcomes.write([synthesis("S1"), synthesis("S1", campaign="other")], recorded_by="ann")
    with registry.unit_of_work(write=False) as uow:
        with pytest.raises(ConflictError, match="campaigns default, other"):
            uow.samples.get("S1")
        assert uow.samples.get("S1", "other").campaign == "other"


def test_unknown_campaign_is_refused_unless_asked_to_create(registry: Registry) -> None:
    with pytest.raises(RecordErrors, match="no campaign 'nowhere'"):
        write(registry, [synthesis("S1", campaign="nowhere")])
    write(registry, [synthesis("S1", campaign="nowhere")], create_campaigns=True)
    with registry.unit_of_work(write=False) as uow:
        assert "nowhere" in {c.name for c in uow.campaigns.all()}


def test_correction_supersedes_and_history_keeps_both(registry: Registry) -> None:
    first = write(registry, [synthesis("S1"), sigma("S1", 1e-3)]).added[1][2]
    fix = sigma("S1", 2e-3, supersedes_id=first, reason="unit typo")
    second = write(registry, [fix], by="bob").added[0][2]
    with registry.unit_of_work(write=False) as uow:
        current = uow.outcomes.find(kinds=("conductivity",))
        history = uow.samples.history("S1")
    assert [(o.id, o.values["sigma_total_s_cm"]) for o in current] == [(second, 2e-3)]
    trail = [r for r in history.records if r.kind == "conductivity"]
    assert [(r.id, r.status, r.superseded_by) for r in trail] == [
        (first, "superseded", second),
        (second, "current", None),
    ]
    assert trail[1].reason == "unit typo" and trail[1].recorded_by == "bob"


def test_a_correction_needs_a_reason_and_a_current_target(registry: Registry) -> None:
    first = write(registry, [synthesis("S1"), sigma("S1")]).added[1][2]
    with pytest.raises(RecordErrors, match="needs a reason"):
        write(registry, [sigma("S1", supersedes_id=first)], by="bob")
    write(registry, [sigma("S1", 2e-3, supersedes_id=first, reason="r")], by="bob")
    with pytest.raises(RecordErrors, match="already superseded"):
        write(registry, [sigma("S1", 3e-3, supersedes_id=first, reason="r")], by="c")
    write(registry, [synthesis("S2", SC_NZSP)])
    with pytest.raises(RecordErrors, match="belongs to another sample"):
        write(registry, [sigma("S2", supersedes_id=first + 1, reason="r")], by="c")


def test_retraction_removes_a_result_from_current_but_not_from_history(registry: Registry) -> None:
    xrd_id = write(registry, [synthesis("S1"), xrd("S1")]).added[1][2]
    with registry.unit_of_work() as uow:
        assert NZSP in uow.proposals.excluded_formulas()
        uow.outcomes.retract("xrd", xrd_id, reason="pattern of another pellet", recorded_by="bob")
        assert uow.outcomes.find(kinds=("xrd",)) == []
        statuses = [(r.kind, r.status) for r in uow.samples.history("S1").records]
        assert ("xrd", "retracted") in statuses and ("xrd", "retraction") in statuses
        assert NZSP not in uow.proposals.excluded_formulas()
    with pytest.raises(ConflictError, match="already superseded or retracted"):
        registry.run(lambda u: u.outcomes.retract("xrd", xrd_id, reason="again", recorded_by="b"))
    with pytest.raises(ValidationError, match="say why"):
        registry.run(lambda u: u.outcomes.retract("xrd", xrd_id, reason=" ", recorded_by="bob"))
    with pytest.raises(NotFoundError):
        registry.run(lambda u: u.outcomes.retract("xrd", 999, reason="x", recorded_by="bob"))


def test_stored_results_cannot_be_updated_or_deleted(registry: Registry) -> None:
    write(registry, [synthesis("S1"), xrd("S1")])
    for statement in ("UPDATE xrd_results SET phase_pure = false", "DELETE FROM xrd_results"):
        with pytest.raises(RegistryError, match="immutable"):
            with registry.unit_of_work() as uow:
                uow.session.execute(sa.text(statement))
    with registry.unit_of_work(write=False) as uow:
        assert uow.outcomes.find(kinds=("xrd",))[0].values["phase_pure"] is True


def test_identical_rewrites_are_unchanged_when_asked(registry: Registry) -> None:
    writes = [synthesis("S1"), xrd("S1"), sigma("S1")]
    write(registry, writes)
    again = write(registry, writes, skip_identical=True)
    assert again.added == () and again.unchanged == (0, 1, 2)
    changed = write(registry, [sigma("S1", 5e-3)], by="a", skip_identical=True)
    assert len(changed.added) == 1  # a new measurement, not a silent duplicate


def test_a_result_must_match_the_sample_composition(registry: Registry) -> None:
    write(registry, [synthesis("S1")])
    with pytest.raises(RecordErrors, match=f"made as {NZSP}"):
        write(registry, [dataclasses.replace(xrd("S1"), formula=SC_NZSP)], by="a")


def test_snapshots_are_frozen_and_detached(registry: Registry) -> None:
    write(registry, [synthesis("S1")])
    with registry.unit_of_work(write=False) as uow:
        snap = uow.outcomes.find()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.status = "superseded"  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap.values["succeeded"] = False  # type: ignore[index]
    with registry.unit_of_work(write=False) as uow:
        assert uow.outcomes.find()[0].values["succeeded"] is True


def test_a_dry_run_checks_then_undoes_only_its_own_writes(registry: Registry) -> None:
    with registry.unit_of_work() as uow:
        uow.campaigns.ensure("kept")
        report = uow.outcomes.write([synthesis("S1"), xrd("S1")], recorded_by="a", dry_run=True)
        assert [k for _, k, _ in report.added] == ["synthesis", "xrd"]
        assert uow.outcomes.find() == []
    with registry.unit_of_work(write=False) as uow:
        assert "kept" in {c.name for c in uow.campaigns.all()}
    assert count(registry, "samples") == 0 and count(registry, "xrd_results") == 0


# -- the unit of work --


def test_two_repositories_in_one_unit_of_work_roll_back_together(registry: Registry) -> None:
    with pytest.raises(NotFoundError, match="model run"):
        with registry.unit_of_work() as uow:
            report = uow.outcomes.write([synthesis("S1", SC_NZSP), xrd("S1")], recorded_by="a")
            assert len(report.added) == 2 and count(registry, "samples") == 0  # not yet visible
            uow.proposals.add(1, [{**proposals(NZSP)[0], "model_run_id": 42}])  # refused
    assert count(registry, "samples") == 0 and count(registry, "xrd_results") == 0
    assert count(registry, "compositions") == 0 and count(registry, "proposals") == 0
    with registry.unit_of_work() as uow:  # the same work without the bad proposal commits
        uow.outcomes.write([synthesis("S1", SC_NZSP), xrd("S1")], recorded_by="a")
        added = uow.proposals.add(1, proposals(NZSP, SC_NZSP))
    assert len(added) == 1 and "measured" in added.skipped[SC_NZSP]  # saw the uncommitted XRD
    assert count(registry, "xrd_results") == 1 and count(registry, "proposals") == 1


def test_an_error_outside_the_registry_rolls_the_unit_back(registry: Registry) -> None:
    with pytest.raises(ZeroDivisionError):
        with registry.unit_of_work() as uow:
            uow.rounds.start(1)
            add_run(uow, 1, "rf", champion=True)
            _ = 1 / 0
    with registry.unit_of_work(write=False) as uow:
        assert uow.rounds.all() == [] and uow.model_runs.find() == []


def test_a_read_only_unit_of_work_refuses_to_write(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="read-only unit of work"):
        with registry.unit_of_work(write=False) as uow:
            uow.campaigns.ensure("sneaky")
    with pytest.raises(RegistryError, match="read-only unit of work"):
        registry.run(lambda uow: uow.rounds.start(1), write=False)
    with pytest.raises(RegistryError, match="needs a writable unit of work"):
        with registry.unit_of_work(write=False) as uow:
            uow.proposals.find()  # would return lapsed claims to the queue: always refused
    with registry.unit_of_work() as uow:  # the pooled connection writes again afterwards
        uow.campaigns.ensure("fine")
    with registry.unit_of_work(write=False) as uow:
        assert {c.name for c in uow.campaigns.all()} == {"default", "fine"}


def test_run_returns_the_result_and_rolls_back_on_error(registry: Registry) -> None:
    assert registry.run(lambda uow: uow.rounds.start(4)).number == 4
    with pytest.raises(NotFoundError):
        registry.run(lambda uow: (uow.rounds.start(5), uow.rounds.finish(6, None, 0, 0)))
    with registry.unit_of_work(write=False) as uow:
        assert [r.number for r in uow.rounds.all()] == [4]


# -- model runs --


def test_model_runs_are_idempotent_per_round_and_algorithm(registry: Registry) -> None:
    first = model_run(registry, 1, "random_forest")
    assert model_run(registry, 1, "random_forest") == first
    assert model_run(registry, 2, "random_forest") != first
    none_a = model_run(registry, None, "gnb")
    assert model_run(registry, None, "gnb") == none_a
    with registry.unit_of_work(write=False) as uow:
        runs = uow.model_runs.find(1)
        assert uow.model_runs.get(first).library_versions == {"scikit-learn": "1.5"}
        with pytest.raises(NotFoundError, match="no model run 999"):
            uow.model_runs.get(999)
    assert len(runs) == 1 and runs[0].fold_metrics[1]["f1_macro"] == 0.8


def test_one_champion_per_round_and_the_latest_round_wins(registry: Registry) -> None:
    assert registry.run(lambda uow: uow.model_runs.champion(), write=False) is None
    rf = model_run(registry, 1, "random_forest", champion=True)
    gnb = model_run(registry, 1, "gnb")
    with registry.unit_of_work() as uow:
        uow.model_runs.set_champion(gnb)
        flags = {r.algorithm: r.is_champion for r in uow.model_runs.find(1)}
        assert flags == {"random_forest": False, "gnb": True}
        assert uow.model_runs.champion().id == gnb
    later = model_run(registry, 2, "svm", champion=True)
    with registry.unit_of_work() as uow:
        assert uow.model_runs.champion().id == later
        uow.model_runs.set_champion(rf)  # re-crowning in an older round: global one unchanged
        assert uow.model_runs.champion().id == later
    with pytest.raises(NotFoundError):
        registry.run(lambda uow: uow.model_runs.set_champion(999))


# -- rounds --


def labels_since_latest_round(reg: Registry) -> int:
    with reg.unit_of_work(write=False) as uow:
        latest = uow.rounds.latest()
        return uow.outcomes.count_labels(since=None if latest is None else latest.started_at)


def test_rounds_are_idempotent_and_count_new_labels(registry: Registry) -> None:
    write(registry, [synthesis("S1"), xrd("S1")])
    write(registry, [synthesis("S2", SC_NZSP, succeeded=False)])
    assert labels_since_latest_round(registry) == 2
    started = registry.run(lambda uow: uow.rounds.start(1, "flow-a"))
    assert registry.run(lambda uow: uow.rounds.start(1)).started_at == started.started_at
    assert labels_since_latest_round(registry) == 0
    write(registry, [synthesis("S3", LU_NZSP), xrd("S3"), sigma("S3")], by="a")
    assert labels_since_latest_round(registry) == 1  # conductivity is not a label
    run = model_run(registry, 1, "rf", champion=True)
    done = registry.run(lambda uow: uow.rounds.finish(1, run, n_new_labels=2, n_proposals=8))
    assert done.status == "finished" and done.champion_run_id == run and done.n_proposals == 8
    with registry.unit_of_work(write=False) as uow:
        assert uow.rounds.latest().number == 1 and len(uow.rounds.all()) == 1
    with pytest.raises(NotFoundError):
        registry.run(lambda uow: uow.rounds.finish(5, None, 0, 0))


def test_a_rerun_of_a_dead_round_records_its_new_flow_run(registry: Registry) -> None:
    registry.run(lambda uow: uow.rounds.start(3, "first-try"))
    assert registry.run(lambda uow: uow.rounds.start(3, "second-try")).flow_run_id == "second-try"
