"""The proposal queue in the database: adding proposals and moving them through the lifecycle.

The lifecycle itself (statuses, allowed moves, claim expiry) is :mod:`registry.queue`.
Every status change writes a :class:`registry.tables.ProposalEventRow` (who, when, why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loop.chemistry import parse_nasicon
from loop.errors import CompositionError, ValidationError
from registry.compositions import ensure_compositions, formulas_by_id
from registry.errors import NotFoundError, QueueTransitionError
from registry.queue import OPEN, ProposalStatus, can_move, claim_expired, claim_expiry
from registry.snapshots import ProposalEvent, ProposalRecord, frozen_mapping
from registry.tables import ModelRunRow, ProposalEventRow, ProposalRow
from registry.types import utcnow

log = logging.getLogger(__name__)

SYSTEM_USER = "nasicon"
_OPEN_VALUES = [s.value for s in OPEN]


class AddedProposals(list[int]):
    """Ids of the stored proposals (new ones and idempotent repeats), in request order.

    Attributes:
        skipped: formula -> why it was not queued (already open, already measured, ...).
        new: ids created by this call (the rest already existed for this round).
    """

    def __init__(self, ids: Sequence[int], skipped: Mapping[str, str], new: Sequence[int]) -> None:
        super().__init__(ids)
        self.skipped = dict(skipped)
        self.new = list(new)


def to_record(row: ProposalRow, formula: str) -> ProposalRecord:
    """Snapshot of a proposal row."""
    return ProposalRecord(
        id=row.id,
        round_number=row.round_number,
        formula=formula,
        composition_id=row.composition_id,
        model_run_id=row.model_run_id,
        probabilities=frozen_mapping(row.probabilities),
        acquisition_score=row.acquisition_score,
        strategy=row.strategy,
        reason=row.reason,
        status=ProposalStatus(row.status),
        status_reason=row.status_reason,
        status_changed_at=row.status_changed_at,
        status_changed_by=row.status_changed_by,
        claimed_by=row.claimed_by,
        claim_expires_at=row.claim_expires_at,
        created_at=row.created_at,
    )


def records(session: Session, rows: Sequence[ProposalRow]) -> list[ProposalRecord]:
    """Snapshots of proposal rows, with their formulas."""
    formulas = formulas_by_id(session, (r.composition_id for r in rows))
    return [to_record(r, formulas[r.composition_id]) for r in rows]


def get_row(session: Session, proposal_id: int, *, lock: bool = False) -> ProposalRow:
    """The proposal row ``proposal_id``.

    Raises:
        NotFoundError: no such proposal.
    """
    stmt = sa.select(ProposalRow).where(ProposalRow.id == proposal_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"there is no proposal {proposal_id} (see nasicon queue list)")
    return row


def move(
    session: Session,
    row: ProposalRow,
    new: ProposalStatus,
    who: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move a proposal to ``new`` and log the event.

    Raises:
        QueueTransitionError: the lifecycle does not allow the move.
    """
    current = ProposalStatus(row.status)
    if not can_move(current, new):
        raise QueueTransitionError(
            f"proposal {row.id} is {current.value}; it cannot become {new.value}"
        )
    now = now or utcnow()
    row.status = new.value
    row.status_changed_at = now
    row.status_changed_by = who
    if new in (ProposalStatus.ABANDONED, ProposalStatus.REJECTED):
        row.status_reason = reason
    if new is not ProposalStatus.CLAIMED:
        row.claimed_by = None
        row.claim_expires_at = None
    session.add(
        ProposalEventRow(
            proposal_id=row.id, from_status=current.value, to_status=new.value,
            who=who, reason=reason, at=now,
        )
    )  # fmt: skip
    session.flush()


def expire_claims(session: Session, now: datetime | None = None) -> list[int]:
    """Return every lapsed claim to the queue; ids of the proposals released."""
    now = now or utcnow()
    rows = (
        session.execute(
            sa.select(ProposalRow)
            .where(ProposalRow.status == ProposalStatus.CLAIMED.value)
            .where(ProposalRow.claim_expires_at <= now)
        )
        .scalars()
        .all()
    )
    for row in rows:
        if claim_expired(row.claim_expires_at, now):
            until = f"{row.claim_expires_at:%Y-%m-%d %H:%M} UTC"
            reason = f"claim by {row.claimed_by} expired at {until}"
            move(session, row, ProposalStatus.QUEUED, SYSTEM_USER, reason, now)
            log.info("proposal %d: %s", row.id, reason)
    return [r.id for r in rows]


def open_proposal_for(session: Session, composition_id: int) -> ProposalRow | None:
    """The open (queued, claimed or synthesized) proposal of a composition, if any."""
    return session.execute(
        sa.select(ProposalRow)
        .where(ProposalRow.composition_id == composition_id)
        .where(ProposalRow.status.in_(_OPEN_VALUES))
    ).scalar_one_or_none()


def open_composition_ids(session: Session) -> set[int]:
    """Compositions with an open proposal."""
    stmt = sa.select(ProposalRow.composition_id).where(ProposalRow.status.in_(_OPEN_VALUES))
    return set(session.execute(stmt).scalars())


def add_proposals(
    session: Session,
    round_number: int | None,
    proposals: Sequence[Mapping[str, Any]],
    measured_composition_ids: set[int],
    who: str = SYSTEM_USER,
) -> AddedProposals:
    """Queue proposals (see :meth:`registry.store.Registry.add_proposals`)."""
    comps = []
    for i, item in enumerate(proposals):
        if "formula" not in item or "strategy" not in item:
            raise ValidationError(f"proposal {i + 1} needs at least 'formula' and 'strategy'")
        try:
            comps.append(parse_nasicon(str(item["formula"])))
        except CompositionError as exc:
            raise CompositionError(f"proposal {i + 1}: {exc}") from None
    run_ids = {int(p["model_run_id"]) for p in proposals if p.get("model_run_id") is not None}
    if run_ids:
        stmt = sa.select(ModelRunRow.id).where(ModelRunRow.id.in_(run_ids))
        unknown = run_ids - set(session.execute(stmt).scalars())
        if unknown:
            raise NotFoundError(f"unknown model run id(s) {sorted(unknown)} in the proposals")
    expire_claims(session)
    ids_by_formula = ensure_compositions(session, comps)
    existing = {
        row.composition_id: row
        for row in session.execute(
            sa.select(ProposalRow).where(
                sa.func.coalesce(ProposalRow.round_number, -1)
                == (-1 if round_number is None else round_number)
            )
        ).scalars()
    }
    open_ids = {
        row.composition_id: row
        for row in session.execute(
            sa.select(ProposalRow).where(ProposalRow.status.in_(_OPEN_VALUES))
        ).scalars()
    }
    ids: list[int] = []
    new: list[int] = []
    skipped: dict[str, str] = {}
    seen: set[int] = set()
    now = utcnow()
    for item, comp in zip(proposals, comps, strict=True):
        cid = ids_by_formula[comp.formula]
        if cid in seen:
            skipped[comp.formula] = "listed twice in this batch"
        elif cid in existing:
            ids.append(existing[cid].id)  # idempotent repeat of this round
        elif cid in open_ids:
            row = open_ids[cid]
            skipped[comp.formula] = f"already open in the queue as proposal {row.id} ({row.status})"
        elif cid in measured_composition_ids:
            skipped[comp.formula] = "already measured"
        else:
            row = _new_row(item, round_number, cid, who, now)
            session.add(row)
            session.flush()
            session.add(
                ProposalEventRow(
                    proposal_id=row.id, from_status=None, to_status=row.status, who=who,
                    reason=item.get("reason"), at=now,
                )
            )  # fmt: skip
            ids.append(row.id)
            new.append(row.id)
            open_ids[cid] = row
        seen.add(cid)
    for formula, why in skipped.items():
        log.info("not queued: %s (%s)", formula, why)
    session.flush()
    return AddedProposals(ids, skipped, new)


def _new_row(
    item: Mapping[str, Any], round_number: int | None, composition_id: int, who: str, now: datetime
) -> ProposalRow:
    score = item.get("acquisition_score")
    probabilities = item.get("probabilities") or {}
    return ProposalRow(
        round_number=round_number,
        composition_id=composition_id,
        model_run_id=item.get("model_run_id"),
        probabilities={str(k): float(v) for k, v in probabilities.items()},
        acquisition_score=None if score is None else float(score),
        strategy=str(item["strategy"]),
        reason=item.get("reason"),
        status=ProposalStatus.QUEUED.value,
        status_changed_at=now,
        status_changed_by=who,
        created_at=now,
    )


def claim(
    session: Session, proposal_id: int, who: str, hours: float, now: datetime | None = None
) -> ProposalRow:
    """Claim a queued proposal for ``hours``; the claimant may renew their own claim.

    Raises:
        QueueTransitionError: the proposal is claimed by someone else or not queued.
    """
    now = now or utcnow()
    if hours <= 0:
        raise ValidationError(f"a claim must last a positive number of hours, not {hours:g}")
    expire_claims(session, now)
    row = get_row(session, proposal_id, lock=True)
    if row.status == ProposalStatus.CLAIMED.value:
        if row.claimed_by != who:
            raise QueueTransitionError(
                f"proposal {proposal_id} is claimed by {row.claimed_by} until "
                f"{row.claim_expires_at:%Y-%m-%d %H:%M} UTC; they can release it"
            )
        row.claim_expires_at = claim_expiry(now, hours)
        session.add(
            ProposalEventRow(
                proposal_id=row.id, from_status=row.status, to_status=row.status, who=who,
                reason=f"claim renewed for {hours:g} h", at=now,
            )
        )  # fmt: skip
        session.flush()
        return row
    move(session, row, ProposalStatus.CLAIMED, who, f"claimed for {hours:g} h", now)
    row.claimed_by = who
    row.claim_expires_at = claim_expiry(now, hours)
    session.flush()
    return row


def release(session: Session, proposal_id: int, who: str) -> ProposalRow:
    """Put a claimed proposal back in the queue."""
    expire_claims(session)
    row = get_row(session, proposal_id, lock=True)
    if row.status != ProposalStatus.CLAIMED.value:
        raise QueueTransitionError(f"proposal {proposal_id} is {row.status}, not claimed")
    move(session, row, ProposalStatus.QUEUED, who, f"released (claimed by {row.claimed_by})")
    return row


def close(
    session: Session, proposal_id: int, status: ProposalStatus, reason: str, who: str
) -> ProposalRow:
    """Abandon or reject a proposal, keeping the reason.

    Raises:
        ValidationError: no reason given.
        QueueTransitionError: the lifecycle does not allow it (e.g. already measured).
    """
    if not reason or not reason.strip():
        raise ValidationError(f"say why proposal {proposal_id} is {status.value} (--reason)")
    expire_claims(session)
    row = get_row(session, proposal_id, lock=True)
    move(session, row, status, who, reason.strip())
    return row


def list_rows(
    session: Session,
    status: ProposalStatus | Sequence[ProposalStatus] | None = None,
    round_number: int | None = None,
) -> list[ProposalRow]:
    """Proposal rows, optionally of some statuses or one round, oldest first."""
    stmt = sa.select(ProposalRow).order_by(ProposalRow.id)
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        stmt = stmt.where(ProposalRow.status.in_([ProposalStatus(s).value for s in wanted]))
    if round_number is not None:
        stmt = stmt.where(ProposalRow.round_number == round_number)
    return list(session.execute(stmt).scalars())


def events(session: Session, proposal_id: int) -> list[ProposalEvent]:
    """Every status change of a proposal, oldest first."""
    rows = session.execute(
        sa.select(ProposalEventRow)
        .where(ProposalEventRow.proposal_id == proposal_id)
        .order_by(ProposalEventRow.id)
    ).scalars()
    return [
        ProposalEvent(
            proposal_id=r.proposal_id,
            from_status=None if r.from_status is None else ProposalStatus(r.from_status),
            to_status=ProposalStatus(r.to_status),
            who=r.who,
            reason=r.reason,
            at=r.at,
        )
        for r in rows
    ]
