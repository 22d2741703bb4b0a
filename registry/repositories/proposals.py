"""The proposal queue: adding proposals and moving them through the lifecycle.

The lifecycle itself (statuses, allowed moves, claim expiry) is :mod:`registry.queue`.
Every status change writes a :class:`registry.tables.ProposalEventRow` (who, when, why).
Reading or changing the queue first returns lapsed claims to it, so those methods need a
writable unit of work.
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
from registry.errors import NotFoundError, QueueTransitionError, RegistryError
from registry.queue import OPEN, ProposalStatus, can_move, claim_expired, claim_expiry
from registry.repositories.base import Repository
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
        .where(ProposalRow.status.in_(_OPEN_VALUES))
    ).scalar_one_or_none()


def _event(row: ProposalRow, old: str | None, who: str, reason: str | None, at: datetime) -> Any:
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
    session.add(_event(row, current.value, who, reason, now))
    session.flush()


def _new_row(
    item: Mapping[str, Any], round_number: int | None, composition_id: int, who: str, now: datetime
) -> ProposalRow:
    score = item.get("acquisition_score")
    probabilities = item.get("probabilities") or {}
    return ProposalRow(
        round_number=round_number, composition_id=composition_id,
        model_run_id=item.get("model_run_id"),
        probabilities={str(k): float(v) for k, v in probabilities.items()},
        acquisition_score=None if score is None else float(score),
        strategy=str(item["strategy"]), reason=item.get("reason"),
        status=ProposalStatus.QUEUED.value, status_changed_at=now, status_changed_by=who,
        created_at=now,
    )  # fmt: skip


class ProposalRepository(Repository):
    """The ``proposals`` and ``proposal_events`` tables."""

    def _records(self, rows: Sequence[ProposalRow]) -> list[ProposalRecord]:
        formulas = self.uow.compositions.formulas_by_id(r.composition_id for r in rows)
        return [
            ProposalRecord(
                id=r.id, round_number=r.round_number, formula=formulas[r.composition_id],
                composition_id=r.composition_id, model_run_id=r.model_run_id,
                probabilities=frozen_mapping(r.probabilities),
                acquisition_score=r.acquisition_score, strategy=r.strategy, reason=r.reason,
                status=ProposalStatus(r.status), status_reason=r.status_reason,
                status_changed_at=r.status_changed_at, status_changed_by=r.status_changed_by,
                claimed_by=r.claimed_by, claim_expires_at=r.claim_expires_at,
                created_at=r.created_at,
            )
            for r in rows
        ]  # fmt: skip

    def add(
        self, round_number: int | None, proposals: Sequence[Mapping[str, Any]]
    ) -> AddedProposals:
        """Queue proposals; idempotent per (round_number, formula).

        Each item has ``formula``, ``strategy`` and optionally ``model_run_id``,
        ``probabilities`` (model -> P), ``acquisition_score``, ``reason``. A composition
        already open in the queue or already measured is skipped; the returned list holds
        the ids of the queued proposals (repeats of this round included) and its
        ``skipped`` maps each skipped formula to the reason.

        Raises:
            ValidationError / CompositionError: a malformed item (numbered from 1).
            NotFoundError: an unknown model run id.
        """
        comps = []
        for i, item in enumerate(proposals):
            if "formula" not in item or "strategy" not in item:
                raise ValidationError(f"proposal {i + 1} needs at least 'formula' and 'strategy'")
            try:
                comps.append(parse_nasicon(str(item["formula"])))
            except CompositionError as exc:
                raise CompositionError(f"proposal {i + 1}: {exc}") from None
        runs = {int(p["model_run_id"]) for p in proposals if p.get("model_run_id") is not None}
        if runs:
            stmt = sa.select(ModelRunRow.id).where(ModelRunRow.id.in_(runs))
            unknown = runs - set(self.session.execute(stmt).scalars())
            if unknown:
                raise NotFoundError(f"unknown model run id(s) {sorted(unknown)} in the proposals")
        self.expire_claims()
        measured = self.uow.outcomes.labelled_composition_ids()
        ids_by_formula = self.uow.compositions.ensure_parsed(comps)
        this_round = sa.func.coalesce(ProposalRow.round_number, -1) == (
            -1 if round_number is None else round_number
        )
        existing = {
            r.composition_id: r
            for r in self.session.execute(sa.select(ProposalRow).where(this_round)).scalars()
        }
        open_rows = {
            r.composition_id: r
            for r in self.session.execute(
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
            elif cid in open_rows:
                row = open_rows[cid]
                skipped[comp.formula] = (
                    f"already open in the queue as proposal {row.id} ({row.status})"
                )
            elif cid in measured:
                skipped[comp.formula] = "already measured"
            else:
                row = _new_row(item, round_number, cid, SYSTEM_USER, now)
                self.session.add(row)
                self.session.flush()
                self.session.add(_event(row, None, SYSTEM_USER, item.get("reason"), now))
                ids.append(row.id)
                new.append(row.id)
                open_rows[cid] = row
            seen.add(cid)
        for formula, why in skipped.items():
            log.info("not queued: %s (%s)", formula, why)
        self.session.flush()
        return AddedProposals(ids, skipped, new)

    def excluded_formulas(self) -> set[str]:
        """Canonical formulas not to propose: open in the queue, or already measured."""
        self.expire_claims()
        stmt = sa.select(ProposalRow.composition_id).where(ProposalRow.status.in_(_OPEN_VALUES))
        ids = set(self.session.execute(stmt).scalars())
        ids |= self.uow.outcomes.labelled_composition_ids()
        return set(self.uow.compositions.formulas_by_id(ids).values())

    def expire_claims(self, now: datetime | None = None) -> list[int]:
        """Return every lapsed claim to the queue; ids of the proposals released.

        Raises:
            RegistryError: the unit of work is read-only (so are all queue reads that return
                lapsed claims first: ``find``, ``excluded_formulas``, ``add``, ``claim``, ...).
        """
        if not self.uow.writable:
            raise RegistryError(
                "reading the queue returns lapsed claims to it, so it needs a writable unit "
                "of work (registry.unit_of_work(), not write=False)"
            )
        now = now or utcnow()
        rows = self.session.execute(
            sa.select(ProposalRow)
            .where(ProposalRow.status == ProposalStatus.CLAIMED.value)
            .where(ProposalRow.claim_expires_at <= now)
        ).scalars().all()  # fmt: skip
        for row in rows:
            if claim_expired(row.claim_expires_at, now):
                until = f"{row.claim_expires_at:%Y-%m-%d %H:%M} UTC"
                reason = f"claim by {row.claimed_by} expired at {until}"
                move(self.session, row, ProposalStatus.QUEUED, SYSTEM_USER, reason, now)
                log.info("proposal %d: %s", row.id, reason)
        return [r.id for r in rows]

    def claim(self, proposal_id: int, who: str, hours: float | None = None) -> ProposalRecord:
        """Claim a queued proposal for ``hours`` (default: the registry's ``claim_hours``);
        the claimant may renew their own claim.

        Raises:
            ValidationError: hours not positive.
            QueueTransitionError: the proposal is claimed by someone else or not queued.
        """
        hours = self.uow.claim_hours if hours is None else hours
        if hours <= 0:
            raise ValidationError(f"a claim must last a positive number of hours, not {hours:g}")
        now = utcnow()
        self.expire_claims(now)
        row = proposal_row(self.session, proposal_id, lock=True)
        if row.status == ProposalStatus.CLAIMED.value:
            if row.claimed_by != who:
                raise QueueTransitionError(
                    f"proposal {proposal_id} is claimed by {row.claimed_by} until "
                    f"{row.claim_expires_at:%Y-%m-%d %H:%M} UTC; they can release it"
                )
            row.claim_expires_at = claim_expiry(now, hours)
            self.session.add(_event(row, row.status, who, f"claim renewed for {hours:g} h", now))
        else:
            move(self.session, row, ProposalStatus.CLAIMED, who, f"claimed for {hours:g} h", now)
            row.claimed_by = who
            row.claim_expires_at = claim_expiry(now, hours)
        self.session.flush()
        return self._records([row])[0]

    def release(self, proposal_id: int, who: str) -> ProposalRecord:
        """Put a claimed proposal back in the queue.

        Raises:
            QueueTransitionError: the proposal is not claimed.
        """
        self.expire_claims()
        row = proposal_row(self.session, proposal_id, lock=True)
        if row.status != ProposalStatus.CLAIMED.value:
            raise QueueTransitionError(f"proposal {proposal_id} is {row.status}, not claimed")
        why = f"released (claimed by {row.claimed_by})"
        move(self.session, row, ProposalStatus.QUEUED, who, why)
        return self._records([row])[0]

    def abandon(self, proposal_id: int, reason: str, who: str) -> ProposalRecord:
        """Abandon a proposal (the reason is kept)."""
        return self._close(proposal_id, ProposalStatus.ABANDONED, reason, who)

    def reject(self, proposal_id: int, reason: str, who: str) -> ProposalRecord:
        """Reject a queued proposal before anyone makes it (the reason is kept)."""
        return self._close(proposal_id, ProposalStatus.REJECTED, reason, who)

    def _close(
        self, proposal_id: int, status: ProposalStatus, reason: str, who: str
    ) -> ProposalRecord:
        """Abandon or reject, keeping the reason.

        Raises:
            ValidationError: no reason given.
            QueueTransitionError: the lifecycle does not allow it (e.g. already measured).
        """
        if not reason or not reason.strip():
            raise ValidationError(f"say why proposal {proposal_id} is {status.value} (--reason)")
        self.expire_claims()
        row = proposal_row(self.session, proposal_id, lock=True)
        move(self.session, row, status, who, reason.strip())
        return self._records([row])[0]

    def find(
        self,
        status: ProposalStatus | str | Sequence[ProposalStatus | str] | None = None,
        round_number: int | None = None,
    ) -> list[ProposalRecord]:
        """Proposals (after returning lapsed claims to the queue) of some statuses and one
        round (None: any), oldest first."""
        self.expire_claims()
        stmt = sa.select(ProposalRow).order_by(ProposalRow.id)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            stmt = stmt.where(ProposalRow.status.in_([ProposalStatus(s).value for s in wanted]))
        if round_number is not None:
            stmt = stmt.where(ProposalRow.round_number == round_number)
        return self._records(list(self.session.execute(stmt).scalars()))

    def get(self, proposal_id: int) -> ProposalRecord:
        """One proposal, as stored (lapsed claims are not returned here).

        Raises:
            NotFoundError: no such proposal.
        """
        return self._records([proposal_row(self.session, proposal_id)])[0]

    def events(self, proposal_id: int) -> list[ProposalEvent]:
        """Every status change of a proposal, oldest first."""
        rows = self.session.execute(
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
