"""The proposal queue: adding proposals and moving them through the lifecycle.

The lifecycle itself (statuses, allowed moves, claim expiry) is :mod:`registry.queue`; the
row helpers shared with the outcome writes are :mod:`registry.repositories.proposal_rows`.
Every status change writes a :class:`registry.tables.ProposalEventRow` (who, when, why).
Reading or changing existing proposals first returns lapsed claims to the queue, so those
methods need a writable unit of work; :meth:`ProposalRepository.snapshot` reads the open
queue without writing (lapsed claims are reported, not returned), and
:meth:`ProposalRepository.add` only inserts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from loop.chemistry import NasiconComposition, parse_nasicon
from loop.errors import CompositionError, ValidationError
from registry.errors import NotFoundError, QueueTransitionError, RegistryError
from registry.queue import ProposalStatus, claim_expired, claim_expiry
from registry.repositories.base import Repository, chunks
from registry.repositories.proposal_rows import (
    OBJECTIVE_FIELDS,
    OPEN_VALUES,
    SYSTEM_USER,
    event_row,
    move,
    new_row,
    proposal_row,
)
from registry.snapshots import ProposalEvent, ProposalRecord, QueueSnapshot, frozen_mapping
from registry.tables import ModelRunRow, ProposalEventRow, ProposalRow
from registry.types import utcnow

log = logging.getLogger(__name__)

#: Longest claim accepted, h (a year): longer ones overflow the date arithmetic.
MAX_CLAIM_HOURS = 24.0 * 365


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


def _compositions(proposals: Sequence[Mapping[str, Any]]) -> list[NasiconComposition]:
    """The composition of each item: its ``composition`` as given, else its parsed ``formula``.

    Raises:
        ValidationError / CompositionError: a malformed item (numbered from 1).
    """
    comps = []
    for i, item in enumerate(proposals):
        if "strategy" not in item or ("formula" not in item and "composition" not in item):
            raise ValidationError(
                f"proposal {i + 1} needs at least 'formula' (or 'composition') and 'strategy'"
            )
        comp = item.get("composition")
        if comp is not None:
            if not isinstance(comp, NasiconComposition):
                raise ValidationError(f"proposal {i + 1}: 'composition' is not a composition")
            comps.append(comp)
            continue
        try:
            comps.append(parse_nasicon(str(item["formula"])))
        except CompositionError as exc:
            raise CompositionError(f"proposal {i + 1}: {exc}") from None
    return comps


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
                created_at=r.created_at, in_domain=r.in_domain, domain_reason=r.domain_reason,
                **{name: getattr(r, name) for name in OBJECTIVE_FIELDS},
            )
            for r in rows
        ]  # fmt: skip

    def add(
        self, round_number: int | None, proposals: Sequence[Mapping[str, Any]]
    ) -> AddedProposals:
        """Queue proposals; idempotent per (round_number, composition). Inserts only.

        Each item has ``strategy`` and either ``composition`` (a
        :class:`~loop.chemistry.NasiconComposition`, stored as given) or ``formula`` (any
        notation, parsed), and optionally ``model_run_id``, ``probabilities`` (model -> P),
        ``acquisition_score``, ``reason``, ``in_domain`` and ``domain_reason`` (in the
        training domain of the model run's round, and why not) and the objectives of
        :data:`OBJECTIVE_FIELDS` (``p_forms``, ``p_forms_sd``, ``log10_sigma_s_cm``,
        ``log10_sigma_sd``, ``objective``, ``signal``). A composition already open
        in the queue or already measured is skipped; the returned list holds the ids of the queued
        proposals (repeats of this round included) and its ``skipped`` maps each skipped
        formula to the reason. Only the rows of these compositions are read.

        Raises:
            ValidationError / CompositionError: a malformed item (numbered from 1).
            NotFoundError: an unknown model run id.
        """
        comps = _compositions(proposals)
        runs = {int(p["model_run_id"]) for p in proposals if p.get("model_run_id") is not None}
        if runs:
            stmt = sa.select(ModelRunRow.id).where(ModelRunRow.id.in_(runs))
            unknown = runs - set(self.session.execute(stmt).scalars())
            if unknown:
                raise NotFoundError(f"unknown model run id(s) {sorted(unknown)} in the proposals")
        ids_by_formula = self.uow.compositions.ensure_parsed(comps)
        batch_ids = sorted(set(ids_by_formula.values()))
        measured = self.uow.outcomes.labelled_composition_ids() & set(batch_ids)
        rn = -1 if round_number is None else round_number
        existing: dict[int, ProposalRow] = {}
        open_rows: dict[int, ProposalRow] = {}
        for part in chunks(batch_ids):
            stmt = sa.select(ProposalRow).where(ProposalRow.composition_id.in_(part))
            for r in self.session.execute(stmt).scalars():
                if (-1 if r.round_number is None else r.round_number) == rn:
                    existing[r.composition_id] = r
                if r.status in OPEN_VALUES:
                    open_rows[r.composition_id] = r
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
                row = new_row(item, round_number, cid, SYSTEM_USER, now)
                self.session.add(row)
                self.session.flush()
                self.session.add(event_row(row, None, SYSTEM_USER, item.get("reason"), now))
                ids.append(row.id)
                new.append(row.id)
                open_rows[cid] = row
            seen.add(cid)
        for formula, why in skipped.items():
            log.info("not queued: %s (%s)", formula, why)
        self.session.flush()
        return AddedProposals(ids, skipped, new)

    def snapshot(
        self, round_number: int | None = None, now: datetime | None = None
    ) -> QueueSnapshot:
        """The open queue, the measured formulas and round ``round_number``'s proposals,
        in one query of the queue; writes nothing (a read-only unit of work will do).

        A claim lapsed at ``now`` is not returned to the queue here: the snapshot lists it
        in ``lapsed`` (pass those ids to :meth:`expire_claims` in a writable unit).
        """
        now = now or utcnow()
        wanted = ProposalRow.status.in_(OPEN_VALUES)
        if round_number is not None:
            wanted = sa.or_(wanted, ProposalRow.round_number == round_number)
        stmt = sa.select(ProposalRow).where(wanted).order_by(ProposalRow.id)
        rows = self._records(list(self.session.execute(stmt).scalars()))
        labelled = self.uow.outcomes.labelled_composition_ids()
        measured = self.uow.compositions.formulas_by_id(labelled)
        return QueueSnapshot(
            open=tuple(r for r in rows if r.status.is_open),
            measured=frozenset(measured.values()),
            round_rows=tuple(
                r for r in rows if round_number is not None and r.round_number == round_number
            ),
            now=now,
        )

    def excluded_formulas(self) -> set[str]:
        """Canonical formulas not to propose: open in the queue, or already measured."""
        self.expire_claims()
        stmt = sa.select(ProposalRow.composition_id).where(ProposalRow.status.in_(OPEN_VALUES))
        ids = set(self.session.execute(stmt).scalars())
        ids |= self.uow.outcomes.labelled_composition_ids()
        return set(self.uow.compositions.formulas_by_id(ids).values())

    def expire_claims(
        self, now: datetime | None = None, *, ids: Collection[int] | None = None
    ) -> list[int]:
        """Return every lapsed claim (or those among ``ids``) to the queue; ids released.

        ``ids`` (e.g. a :meth:`snapshot`'s ``lapsed``) limits the update to those rows, which
        are locked and checked again: one that was released or renewed meanwhile stays as is.

        Raises:
            RegistryError: the unit of work is read-only (so are all queue reads that return
                lapsed claims first: ``find``, ``excluded_formulas``, ``claim``, ...).
        """
        if not self.uow.writable:
            raise RegistryError(
                "reading the queue returns lapsed claims to it, so it needs a writable unit "
                "of work (registry.unit_of_work(), not write=False)"
            )
        now = now or utcnow()
        stmt = (
            sa.select(ProposalRow)
            .where(ProposalRow.status == ProposalStatus.CLAIMED.value)
            .where(ProposalRow.claim_expires_at <= now)
        )
        if ids is not None:
            if not ids:
                return []
            stmt = stmt.where(ProposalRow.id.in_(sorted(ids))).with_for_update()
        rows = self.session.execute(stmt).scalars().all()
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
        if not (math.isfinite(hours) and 0 < hours <= MAX_CLAIM_HOURS):
            raise ValidationError(
                f"a claim lasts more than 0 and at most {MAX_CLAIM_HOURS:g} hours (a year), "
                f"not {hours:g}"
            )
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
            self.session.add(event_row(row, row.status, who, f"claim renewed for {hours:g} h", now))
        else:
            move(self.session, row, ProposalStatus.CLAIMED, who, f"claimed for {hours:g} h", now)
            row.claimed_by = who
            row.claim_expires_at = claim_expiry(now, hours)
        self.session.flush()
        return self._records([row])[0]

    def release(self, proposal_id: int, who: str, *, force: bool = False) -> ProposalRecord:
        """Put a claimed proposal back in the queue; only its claimant may, unless ``force``
        (an admin, or ``--force`` on the command line), which the event records.

        Raises:
            QueueTransitionError: the proposal is not claimed, or claimed by someone else.
        """
        self.expire_claims()
        row = proposal_row(self.session, proposal_id, lock=True)
        if row.status != ProposalStatus.CLAIMED.value:
            raise QueueTransitionError(f"proposal {proposal_id} is {row.status}, not claimed")
        if row.claimed_by != who and not force:
            raise QueueTransitionError(
                f"proposal {proposal_id} is claimed by {row.claimed_by}, not {who}; only they "
                "can release it (or force it: nasicon queue release --force)"
            )
        why = f"released (claimed by {row.claimed_by})"
        if row.claimed_by != who:
            why = f"released by {who} over the claim of {row.claimed_by} (forced)"
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
