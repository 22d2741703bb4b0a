"""Samples: physical samples of a composition, each with the lab's id unique per campaign."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.errors import ConflictError, NotFoundError
from registry.repositories.base import Repository
from registry.snapshots import OUTCOME_KINDS, SampleHistory, SampleRecord
from registry.tables import CampaignRow, CompositionRow, SampleRow


def sample_row(session: Session, sample_id: str, campaign: str | None) -> SampleRow:
    """The sample ``sample_id`` of ``campaign`` (None: the one campaign that has it).

    Raises:
        NotFoundError: unknown sample id.
        ConflictError: campaign None and several campaigns use the id.
    """
    stmt = (
        sa.select(SampleRow, CampaignRow.name)
        .join(CampaignRow, SampleRow.campaign_id == CampaignRow.id)
        .where(SampleRow.sample_id == sample_id)
    )
    if campaign is not None:
        stmt = stmt.where(CampaignRow.name == campaign)
    rows = session.execute(stmt).all()
    if not rows:
        where = f" in campaign {campaign!r}" if campaign else ""
        other_case = session.execute(
            sa.select(SampleRow.sample_id).where(
                sa.func.lower(SampleRow.sample_id) == sample_id.lower()
            )
        ).scalar()
        if other_case is not None:  # ids are compared case-insensitively (issue 17)
            raise NotFoundError(
                f"unknown sample id {sample_id!r}{where}; did you mean {other_case!r}?"
            )
        raise NotFoundError(
            f"unknown sample id {sample_id!r}{where}; record its synthesis first "
            "(nasicon record synthesis)"
        )
    if len(rows) > 1:
        names = ", ".join(sorted(name for _, name in rows))
        raise ConflictError(
            f"sample id {sample_id!r} exists in campaigns {names}; say which (--campaign)"
        )
    return rows[0][0]


def to_record(session: Session, row: SampleRow) -> SampleRecord:
    """Snapshot of a sample row (with its campaign's name and its formula)."""
    campaign, formula = session.execute(
        sa.select(CampaignRow.name, CompositionRow.formula)
        .select_from(SampleRow)
        .join(CampaignRow, SampleRow.campaign_id == CampaignRow.id)
        .join(CompositionRow, SampleRow.composition_id == CompositionRow.id)
        .where(SampleRow.id == row.id)
    ).one()
    return SampleRecord(
        pk=row.id,
        sample_id=row.sample_id,
        campaign=campaign,
        formula=formula,
        composition_id=row.composition_id,
        proposal_id=row.proposal_id,
        source=row.source,
        citation=row.citation,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class SampleRepository(Repository):
    """The ``samples`` table (samples are created by synthesis writes, see outcomes)."""

    def get(self, sample_id: str, campaign: str | None = None) -> SampleRecord:
        """The sample ``sample_id`` (of ``campaign``, or the one campaign that has it).

        Raises:
            NotFoundError: unknown sample id; ConflictError: several campaigns use it.
        """
        return to_record(self.session, sample_row(self.session, sample_id, campaign))

    def all(self) -> list[SampleRecord]:
        """Every sample, oldest first."""
        rows = self.session.execute(sa.select(SampleRow).order_by(SampleRow.id)).scalars().all()
        return [to_record(self.session, r) for r in rows]

    def history(self, sample_id: str, campaign: str | None = None) -> SampleHistory:
        """Everything recorded about a sample (all versions, oldest first), with its
        proposal and the proposal's events."""
        row = sample_row(self.session, sample_id, campaign)
        records = self.uow.outcomes.find(include_history=True, sample_pks=[row.id])
        order = {k: i for i, k in enumerate(OUTCOME_KINDS)}
        records.sort(key=lambda r: (r.recorded_at, order[r.kind], r.id))
        proposal, events = None, []
        if row.proposal_id is not None:
            proposal = self.uow.proposals.get(row.proposal_id)
            events = self.uow.proposals.events(row.proposal_id)
        return SampleHistory(to_record(self.session, row), tuple(records), proposal, tuple(events))
