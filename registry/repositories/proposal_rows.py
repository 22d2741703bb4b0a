"""Proposal rows: fetching one, moving it through the lifecycle (with its event), new rows.

Shared by the queue (:mod:`registry.repositories.proposals`) and the outcome writes that
move a proposal on (:mod:`registry.repositories.outcome_writes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.errors import NotFoundError, QueueTransitionError
from registry.queue import OPEN, ProposalStatus, can_move
from registry.tables import ProposalEventRow, ProposalRow
from registry.types import utcnow

SYSTEM_USER = "nasicon"
OPEN_VALUES = [s.value for s in OPEN]


def proposal_row(session: Session, proposal_id: int, *, lock: bool = False) -> ProposalRow:
    """The proposal row ``proposal_id`` (``lock``: SELECT ... FOR UPDATE).

    Raises:
        NotFoundError: no such proposal.
    """
    stmt = sa.select(ProposalRow).where(ProposalRow.id == proposal_id)
    row = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"there is no proposal {proposal_id} (see nasicon queue list)")
    return row


def open_proposal_row(session: Session, composition_id: int) -> ProposalRow | None:
    """The open (queued, claimed or synthesized) proposal of a composition, if any."""
    return session.execute(
        sa.select(ProposalRow)
        .where(ProposalRow.composition_id == composition_id)
        .where(ProposalRow.status.in_(OPEN_VALUES))
    ).scalar_one_or_none()


def event_row(row: ProposalRow, old: str | None, who: str, reason: str | None, at: datetime) -> Any:
    """The event row of a status change of ``row`` (``old`` None: the proposal is new)."""
    return ProposalEventRow(
        proposal_id=row.id, from_status=old, to_status=row.status, who=who, reason=reason, at=at
    )


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
    session.add(event_row(row, current.value, who, reason, now))
    session.flush()


def new_row(
    item: Mapping[str, Any], round_number: int | None, composition_id: int, who: str, now: datetime
) -> ProposalRow:
    """A new queued proposal row of ``item`` (see :meth:`ProposalRepository.add`)."""
    score = item.get("acquisition_score")
    probabilities = item.get("probabilities") or {}
    return ProposalRow(
        round_number=round_number, composition_id=composition_id,
        model_run_id=item.get("model_run_id"),
        probabilities={str(k): float(v) for k, v in probabilities.items()},
        acquisition_score=None if score is None else float(score),
        strategy=str(item["strategy"]), reason=item.get("reason"),
        in_domain=None if item.get("in_domain") is None else bool(item["in_domain"]),
        domain_reason=item.get("domain_reason"),
        status=ProposalStatus.QUEUED.value, status_changed_at=now, status_changed_by=who,
        created_at=now,
        **{name: _objective(item.get(name), name) for name in OBJECTIVE_FIELDS},
    )  # fmt: skip


#: Optional objective fields of a proposal (migration 0005), floats except the two names.
OBJECTIVE_FIELDS = (
    "p_forms", "p_forms_sd", "log10_sigma_s_cm", "log10_sigma_sd", "objective", "signal",
)  # fmt: skip


def _objective(value: Any, name: str) -> Any:
    if value is None:
        return None
    return str(value) if name in ("objective", "signal") else float(value)
