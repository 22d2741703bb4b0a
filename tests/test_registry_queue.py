"""Contract of the proposal queue's repository (``uow.proposals``), on a SQLite file and on
the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import LU_NZSP, NZSP, SC_NZSP, add, proposals, synthesis, write, xrd

from loop.chemistry import parse_nasicon
from loop.errors import CompositionError, ValidationError
from registry import (
    NotFoundError,
    ProposalStatus,
    QueueTransitionError,
    Registry,
    RegistryError,
)


def test_add_proposals_is_idempotent_per_round_and_formula(registry: Registry) -> None:
    ids = add(registry, 1, proposals(NZSP, SC_NZSP))
    again = add(registry, 1, proposals("Na3Zr2(SiO4)2PO4", SC_NZSP))
    assert list(again) == list(ids) and again.new == []
    with registry.unit_of_work() as uow:
        rows = uow.proposals.find()
    assert [p.formula for p in rows] == [NZSP, SC_NZSP]
    assert rows[0].probabilities == {"rf": 0.9, "gnb": 0.6}
    assert rows[0].status is ProposalStatus.QUEUED


def test_open_or_measured_compositions_are_not_queued_again(registry: Registry) -> None:
    add(registry, 1, proposals(NZSP))
    write(registry, [synthesis("S1", SC_NZSP), xrd("S1")])
    added = add(registry, 2, proposals(NZSP, SC_NZSP, LU_NZSP))
    assert len(added) == 1 and added.skipped.keys() == {NZSP, SC_NZSP}
    assert "already open" in added.skipped[NZSP] and "measured" in added.skipped[SC_NZSP]
    with registry.unit_of_work() as uow:
        assert uow.proposals.excluded_formulas() == {
            NZSP, SC_NZSP, parse_nasicon(LU_NZSP).formula
        }  # fmt: skip


def test_add_proposals_refuses_a_bad_formula_and_stores_nothing(registry: Registry) -> None:
    with pytest.raises(CompositionError, match="proposal 2"):
        add(registry, 1, proposals(NZSP, "Na9Zr2Si2PO12"))
    with registry.unit_of_work() as uow:
        assert uow.proposals.find() == []
    with pytest.raises(NotFoundError, match="model run"):
        add(registry, 1, [{**proposals(NZSP)[0], "model_run_id": 42}])


def test_lifecycle_claim_synthesize_measure_with_who_and_when(registry: Registry) -> None:
    (pid,) = add(registry, 1, proposals(NZSP))
    with registry.unit_of_work() as uow:
        claimed = uow.proposals.claim(pid, "ann", hours=2)
    assert claimed.status is ProposalStatus.CLAIMED and claimed.claimed_by == "ann"
    with pytest.raises(QueueTransitionError, match="claimed by ann"):
        registry.run(lambda uow: uow.proposals.claim(pid, "bob"))
    write(registry, [synthesis("S1")])
    with registry.unit_of_work(write=False) as uow:
        assert uow.proposals.get(pid).status is ProposalStatus.SYNTHESIZED
        assert uow.samples.get("S1").proposal_id == pid
    write(registry, [xrd("S1")], by="cid")
    with registry.unit_of_work(write=False) as uow:
        assert uow.proposals.get(pid).status is ProposalStatus.MEASURED
        events = uow.proposals.events(pid)
    assert [(e.to_status.value, e.who) for e in events] == [
        ("queued", "nasicon"), ("claimed", "ann"), ("synthesized", "ann"), ("measured", "cid"),
    ]  # fmt: skip
    assert all(e.at.tzinfo is not None for e in events)
    assert ProposalStatus.MEASURED.is_terminal and not ProposalStatus.CLAIMED.is_terminal


def test_failed_synthesis_is_an_outcome_not_an_abandonment(registry: Registry) -> None:
    (pid,) = add(registry, 1, proposals(NZSP))
    write(registry, [synthesis("S1", succeeded=False)])
    with registry.unit_of_work() as uow:
        assert uow.proposals.get(pid).status is ProposalStatus.MEASURED
        assert NZSP in uow.proposals.excluded_formulas()


def test_release_abandon_and_reject_keep_reasons(registry: Registry) -> None:
    a, b, c = add(registry, 1, proposals(NZSP, SC_NZSP, LU_NZSP))
    with registry.unit_of_work() as uow:
        uow.proposals.claim(a, "ann")
        assert uow.proposals.release(a, "ann").status is ProposalStatus.QUEUED
        gone = uow.proposals.abandon(b, "precursor out of stock", "ann")
        assert uow.proposals.reject(c, "Lu too expensive", "pi").status_reason == (
            "Lu too expensive"
        )
    assert (
        gone.status is ProposalStatus.ABANDONED and gone.status_reason == "precursor out of stock"
    )
    with pytest.raises(QueueTransitionError):
        registry.run(lambda uow: uow.proposals.claim(b, "ann"))
    with pytest.raises(ValidationError, match="say why"):
        registry.run(lambda uow: uow.proposals.abandon(a, "", "ann"))
    with pytest.raises(NotFoundError):
        registry.run(lambda uow: uow.proposals.claim(999, "ann"))
    # an abandoned composition may be proposed again in a later round
    assert len(add(registry, 2, proposals(SC_NZSP))) == 1


def test_an_expired_claim_returns_to_the_queue(registry: Registry) -> None:
    (pid,) = add(registry, 1, proposals(NZSP))
    with registry.unit_of_work() as uow:
        uow.proposals.claim(pid, "ann", hours=1)
        assert uow.proposals.expire_claims(datetime.now(UTC) + timedelta(minutes=30)) == []
        assert uow.proposals.expire_claims(datetime.now(UTC) + timedelta(hours=2)) == [pid]
    with registry.unit_of_work() as uow:
        p = uow.proposals.get(pid)
        assert p.status is ProposalStatus.QUEUED and p.claimed_by is None
        assert "expired" in uow.proposals.events(pid)[-1].reason
        assert uow.proposals.claim(pid, "bob").claimed_by == "bob"


def test_reading_the_queue_releases_lapsed_claims(registry: Registry) -> None:
    (pid,) = add(registry, 1, proposals(NZSP))
    # lapses at once: a lab restart leaves nothing stuck
    registry.run(lambda uow: uow.proposals.claim(pid, "ann", hours=1e-9))
    with registry.unit_of_work() as uow:
        assert uow.proposals.find()[0].status is ProposalStatus.QUEUED


def test_the_default_claim_lasts_the_registrys_claim_hours(registry: Registry) -> None:
    (pid,) = add(registry, 1, proposals(NZSP))
    registry.claim_hours = 5.0
    claimed = registry.run(lambda uow: uow.proposals.claim(pid, "ann"))
    assert claimed.claim_expires_at - claimed.status_changed_at == timedelta(hours=5)


def test_only_one_open_proposal_per_composition_in_the_database(registry: Registry) -> None:
    add(registry, 1, proposals(NZSP))
    cid = registry.run(lambda uow: uow.compositions.ensure(NZSP))
    with pytest.raises(RegistryError):
        with registry.unit_of_work() as uow:
            uow.session.execute(
                sa.text(
                    "INSERT INTO proposals (round_number, composition_id, probabilities, strategy, "
                    "status, status_changed_at, created_at) VALUES (2, :c, '{}', 'x', 'queued', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"c": cid},
            )
    with registry.unit_of_work() as uow:
        assert len(uow.proposals.find()) == 1


def test_a_snapshot_reads_the_queue_in_a_read_only_unit_and_reports_lapsed_claims(
    registry: Registry,
) -> None:
    a, b = add(registry, 1, proposals(NZSP, LU_NZSP))
    write(registry, [synthesis("S1", SC_NZSP), xrd("S1")])
    registry.run(lambda uow: uow.proposals.reject(b, "too dear", "pi"))
    registry.run(lambda uow: uow.proposals.claim(a, "ann", hours=1e-9))  # lapses at once
    with registry.unit_of_work(write=False) as uow:  # read-only: nothing may be written
        snap = uow.proposals.snapshot(round_number=1)
    assert [p.id for p in snap.open] == [a] and snap.open[0].status is ProposalStatus.CLAIMED
    assert snap.lapsed == (a,)
    assert [p.id for p in snap.round_rows] == [a, b]  # the round's rows, rejected ones too
    assert snap.excluded == {NZSP, SC_NZSP}  # open or measured; the rejected one is free
    with registry.unit_of_work(write=False) as uow:
        assert uow.proposals.get(a).status is ProposalStatus.CLAIMED  # still as stored
    # returning exactly the snapshot's lapsed claims, in a writable unit
    assert registry.run(lambda uow: uow.proposals.expire_claims(ids=snap.lapsed)) == [a]
    assert registry.run(lambda uow: uow.proposals.expire_claims(ids=())) == []
    with registry.unit_of_work(write=False) as uow:
        assert uow.proposals.get(a).status is ProposalStatus.QUEUED
        assert uow.proposals.snapshot().lapsed == ()


def test_proposals_given_as_compositions_are_stored_as_given(registry: Registry) -> None:
    from loop.chemistry import Ion

    third = 2.0 / 3.0  # printed to 8 decimals in the formula; parsing it back would round
    comp = parse_nasicon("Na3Zr2Si2PO12")
    comp = type(comp)(
        comp.na + third, ((Ion("Zr", 4), 2.0 - third), (Ion("Y", 3), third)), comp.a_site
    )
    assert abs(comp.charge) < 1e-12
    items = [{"composition": comp, "strategy": "exploit", "probabilities": {"rf": 0.7}}]
    (pid,) = add(registry, 1, items)
    with registry.unit_of_work(write=False) as uow:
        stored = uow.compositions.by_formula([comp.formula])[comp.formula]
        assert uow.proposals.get(pid).composition_id == stored.id
    assert stored.na == comp.na  # exactly, not the 8-decimal text
    assert dict((e, a) for e, _, a in stored.m_site) == {"Zr": 2.0 - third, "Y": third}
    with pytest.raises(ValidationError, match="proposal 1: 'composition'"):
        add(registry, 2, [{"composition": comp.formula, "strategy": "exploit"}])
