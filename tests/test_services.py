"""The round, record, queue and ingest services (``flows.services``) on SQLite and PostgreSQL:
each write is one unit of work, and what they report is what that unit committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import NZSP, SC_NZSP, add, proposals

from experiments.records import SynthesisRecord, XRDRecord
from flows.services import queue, rounds
from flows.services.ingest import ingest_batch
from flows.services.record import record_outcome, retract
from loop.errors import ValidationError
from registry import ProposalStatus, Registry


@pytest.fixture
def units(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``write`` flag of every unit of work the registry opens from now on."""
    opened: list[bool] = []
    real_run, real_unit = registry.run, registry.unit_of_work

    def run(work, *, write=True):
        opened.append(write)
        return real_run(work, write=write)

    def unit_of_work(*, write=True):
        opened.append(write)
        return real_unit(write=write)

    monkeypatch.setattr(registry, "run", run)
    monkeypatch.setattr(registry, "unit_of_work", unit_of_work)
    return opened


def test_rounds_open_resume_and_close(registry: Registry, units: list[bool]) -> None:
    first = rounds.open_round(registry, flow_run_id="a")
    assert (first.number, first.resumed, first.n_new_labels) == (1, False, 0)
    assert units == [True]  # resolve, start and count: one unit of work
    again = rounds.open_round(registry, flow_run_id="b")  # unfinished: resumed
    assert (again.number, again.resumed) == (1, True)
    assert registry.run(lambda uow: uow.rounds.latest()).flow_run_id == "b"
    rounds.close_round(registry, 1, champion_run_id=None, n_new_labels=0, n_proposals=0)
    assert rounds.resolve_round(registry, None) == 2 == rounds.next_free_round(registry)
    assert rounds.open_round(registry, 5).number == 5
    assert rounds.default_round(registry) == 5


def test_record_reports_the_committed_label_and_proposal(
    registry: Registry, units: list[bool]
) -> None:
    (pid,) = add(registry, 1, proposals(NZSP))
    units.clear()
    made = record_outcome(
        registry, SynthesisRecord.create("S1", NZSP, True), recorded_by="ann",
        impurity_threshold=0.02,
    )  # fmt: skip
    assert units == [True]  # the write and what it reports: one unit of work
    assert made.sample.sample_id == "S1" and made.label.value is None
    assert [(p.id, p.status) for p in made.proposals_moved] == [(pid, ProposalStatus.SYNTHESIZED)]
    xrd = record_outcome(
        registry, XRDRecord.create("S1", phases="NASICON=0.99;ZrO2=0.01"), recorded_by="ann",
        impurity_threshold=0.02,
    )  # fmt: skip
    assert xrd.label.value == 1 and xrd.label.text.startswith("synthesizable (")
    assert xrd.proposals_moved[0].status is ProposalStatus.MEASURED
    rid = retract(registry, "xrd", xrd.record_id, reason="wrong pattern", recorded_by="ann")
    assert rid > xrd.record_id
    with pytest.raises(ValidationError, match="not synthesis, xrd or conductivity"):
        retract(registry, "nmr", 1, reason="x", recorded_by="ann")  # type: ignore[arg-type]


def test_queue_actions(registry: Registry) -> None:
    a, b = add(registry, 1, proposals(NZSP, SC_NZSP))
    assert queue.claim(registry, a, "ann", 2).claimed_by == "ann"
    assert queue.release(registry, a, "ann").status is ProposalStatus.QUEUED
    assert queue.reject(registry, b, "too dear", "pi").status_reason == "too dear"
    assert queue.abandon(registry, a, "no precursor", "ann").status is ProposalStatus.ABANDONED
    assert queue.list_proposals(registry, queue.statuses(None)) == []
    everything = queue.list_proposals(registry, queue.statuses(None, include_finished=True))
    assert [p.id for p in everything] == [a, b]
    with pytest.raises(ValidationError, match="--status must be one of"):
        queue.statuses(["lost"])


def test_ingest_counts_the_labels_it_committed(registry: Registry, tmp_path: Path) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text(f"sample_id,formula,succeeded,phase_pure\nS-1,{NZSP},1,1\nS-2,{NZSP},0,\n")
    first = ingest_batch(registry, batch, recorded_by="ann", impurity_threshold=0.02)
    assert first.new_labels == 2 and first.to_dict()["new_labels"] == 2
    rounds.open_round(registry)  # labels are counted from the latest round's start
    batch.write_text(f"sample_id,formula,succeeded,phase_pure\nS-3,{SC_NZSP},1,0\n")
    assert ingest_batch(registry, batch, recorded_by="ann", impurity_threshold=0.02).new_labels == 1
