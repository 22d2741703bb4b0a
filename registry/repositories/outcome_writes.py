"""How one call's outcome writes meet what is stored: samples, corrections, proposals.

Used by :meth:`registry.repositories.outcomes.OutcomeRepository.write`, which runs each
write in its own savepoint and collects every refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loop.chemistry import parse_nasicon
from loop.errors import ValidationError
from registry.errors import ConflictError, NotFoundError
from registry.queue import ProposalStatus
from registry.repositories.base import same_value
from registry.repositories.campaigns import DEFAULT_CAMPAIGN
from registry.repositories.proposal_rows import move, open_proposal_row, proposal_row
from registry.repositories.samples import sample_row
from registry.snapshots import OutcomeKind, OutcomeWrite, WriteReport
from registry.tables import OUTCOME_TABLES, CompositionRow, SampleRow, value_columns
from registry.types import utcnow

if TYPE_CHECKING:
    from registry.unit_of_work import UnitOfWork


def successor_id(session: Session, kind: OutcomeKind, row_id: int) -> int | None:
    """Id of the row that supersedes or retracts row ``row_id`` of ``kind``, if any."""
    table = OUTCOME_TABLES[kind]
    return session.execute(sa.select(table.id).where(table.supersedes_id == row_id)).scalar()


class OutcomeWriter:
    """Applies a list of writes in one unit of work and reports what it stored."""

    def __init__(
        self, uow: UnitOfWork, recorded_by: str, skip_identical: bool, create_campaigns: bool
    ) -> None:
        self.uow = uow
        self.session = uow.session
        self.recorded_by = recorded_by
        self.skip_identical = skip_identical
        self.create_campaigns = create_campaigns
        self.added: list[tuple[int, OutcomeKind, int]] = []
        self.unchanged: list[int] = []
        self.samples_created: list[str] = []
        self.proposals_updated: list[int] = []

    def _campaign(self, name: str | None) -> int:
        name = name or DEFAULT_CAMPAIGN
        if self.create_campaigns or name == DEFAULT_CAMPAIGN:
            return self.uow.campaigns.ensure(name)
        return self.uow.campaigns.id_of(name)

    def _check_values(self, w: OutcomeWrite) -> None:
        unknown = set(w.values) - set(value_columns(w.kind))
        if unknown:
            raise ValueError(f"{w.kind} write has unknown fields {sorted(unknown)}")

    def _composition_matches(self, sample: SampleRow, formula: str | None) -> None:
        if formula is None:
            return
        canonical = parse_nasicon(formula).formula
        stored = self.session.get(CompositionRow, sample.composition_id).formula
        if canonical != stored:
            raise ValidationError(
                f"sample {sample.sample_id!r} was made as {stored}, not {canonical}"
            )

    def _correction_target(self, w: OutcomeWrite, sample: SampleRow) -> Any:
        target = self.session.get(OUTCOME_TABLES[w.kind], w.supersedes_id)
        if target is None:
            raise NotFoundError(f"there is no {w.kind} record {w.supersedes_id} to correct")
        if target.sample_pk != sample.id:
            raise ValidationError(
                f"{w.kind} record {w.supersedes_id} belongs to another sample, not {w.sample_id!r}"
            )
        if target.is_retraction:
            raise ConflictError(
                f"{w.kind} record {w.supersedes_id} is a retraction; it cannot be corrected"
            )
        later = successor_id(self.session, w.kind, target.id)
        if later is not None:
            raise ConflictError(
                f"{w.kind} record {w.supersedes_id} was already superseded or retracted by "
                f"record {later}; correct that one (see nasicon history {w.sample_id})"
            )
        if not (w.reason and w.reason.strip()):
            raise ValidationError(
                f"a correction of {w.kind} record {w.supersedes_id} needs a reason"
            )
        return target

    def _identical_current(self, w: OutcomeWrite, sample: SampleRow) -> bool:
        columns = value_columns(w.kind)
        return any(
            all(same_value(w.values.get(c), snap.values.get(c)) for c in columns)
            for snap in self.uow.outcomes.find(kinds=(w.kind,), sample_pks=[sample.id])
        )

    def _insert(self, index: int, w: OutcomeWrite, sample: SampleRow) -> None:
        row = OUTCOME_TABLES[w.kind](
            sample_pk=sample.id,
            supersedes_id=w.supersedes_id,
            is_retraction=False,
            reason=w.reason.strip() if w.reason else None,
            recorded_by=self.recorded_by,
            recorded_at=utcnow(),
            **dict(w.values),
        )
        self.session.add(row)
        self.session.flush()
        self.added.append((index, w.kind, row.id))

    def _advance_proposal(self, sample: SampleRow, kind: OutcomeKind, values: Mapping) -> None:
        if sample.proposal_id is None:
            return
        proposal = proposal_row(self.session, sample.proposal_id)
        status = ProposalStatus(proposal.status)
        if status.is_terminal:
            return
        failed = kind == "synthesis" and values.get("succeeded") is False
        if kind == "xrd" or failed:
            new = ProposalStatus.MEASURED
            why = "synthesis failed (negative label)" if failed else "XRD recorded"
        elif kind == "synthesis" and status in (ProposalStatus.QUEUED, ProposalStatus.CLAIMED):
            new, why = ProposalStatus.SYNTHESIZED, f"sample {sample.sample_id} made"
        else:
            return
        move(self.session, proposal, new, self.recorded_by, why)
        self.proposals_updated.append(proposal.id)

    def _link_proposal(self, w: OutcomeWrite, composition_id: int) -> int | None:
        if w.proposal_id is None:
            row = open_proposal_row(self.session, composition_id)
            return None if row is None else row.id
        row = proposal_row(self.session, w.proposal_id)
        if row.composition_id != composition_id:
            raise ValidationError(
                f"proposal {w.proposal_id} is for another composition than sample {w.sample_id!r}"
            )
        if ProposalStatus(row.status).is_terminal:
            raise ConflictError(
                f"proposal {w.proposal_id} is {row.status}; record the sample without it"
            )
        return row.id

    def _new_sample(self, index: int, w: OutcomeWrite) -> None:
        if not w.formula:
            raise ValidationError(f"sample {w.sample_id!r}: a new sample needs its formula")
        comp = parse_nasicon(w.formula)
        cid = self._campaign(w.campaign)
        existing = self.session.execute(
            sa.select(SampleRow).where(
                SampleRow.campaign_id == cid, SampleRow.sample_id == w.sample_id
            )
        ).scalar_one_or_none()
        if existing is not None:
            same_composition = existing.composition_id == self.uow.compositions.ids(
                [comp.formula]
            ).get(comp.formula)
            if self.skip_identical and same_composition and self._identical_current(w, existing):
                self.unchanged.append(index)
                return
            campaign = w.campaign or DEFAULT_CAMPAIGN
            raise ConflictError(
                f"duplicate sample id {w.sample_id!r} in campaign {campaign!r} "
                f"(recorded {existing.created_at:%Y-%m-%d} by {existing.created_by}); a repeat "
                "needs its own sample id, a correction --supersedes"
            )
        other_case = self.session.execute(
            sa.select(SampleRow.sample_id).where(
                SampleRow.campaign_id == cid,
                sa.func.lower(SampleRow.sample_id) == w.sample_id.lower(),
            )
        ).scalar()
        if other_case is not None:  # S001 and s001 would be two samples of one pellet
            raise ConflictError(
                f"sample id {w.sample_id!r} differs only by case from the existing sample "
                f"{other_case!r} in campaign {w.campaign or DEFAULT_CAMPAIGN!r}; sample ids "
                "are compared case-insensitively (use the existing id for it, or a new one)"
            )
        composition_id = self.uow.compositions.ensure_parsed([comp])[comp.formula]
        sample = SampleRow(
            campaign_id=cid,
            sample_id=w.sample_id,
            composition_id=composition_id,
            proposal_id=self._link_proposal(w, composition_id),
            source=w.source,
            citation=w.citation,
            created_at=utcnow(),
            created_by=self.recorded_by,
        )
        self.session.add(sample)
        self.session.flush()
        self.samples_created.append(w.sample_id)
        self._insert(index, w, sample)
        self._advance_proposal(sample, w.kind, w.values)

    def write(self, index: int, w: OutcomeWrite) -> None:
        """Store write number ``index`` (a synthesis without ``supersedes_id`` makes a sample).

        Raises:
            NasiconError: the write is refused (the message says why).
        """
        self._check_values(w)
        if w.kind == "synthesis" and w.supersedes_id is None:
            self._new_sample(index, w)
            return
        sample = sample_row(self.session, w.sample_id, w.campaign)
        self._composition_matches(sample, w.formula)
        if w.supersedes_id is not None:
            self._correction_target(w, sample)
        elif self.skip_identical and self._identical_current(w, sample):
            self.unchanged.append(index)
            return
        self._insert(index, w, sample)
        self._advance_proposal(sample, w.kind, w.values)

    def report(self) -> WriteReport:
        """What the writes stored."""
        return WriteReport(
            added=tuple(self.added),
            unchanged=tuple(self.unchanged),
            samples_created=tuple(self.samples_created),
            proposals_updated=tuple(dict.fromkeys(self.proposals_updated)),
        )
