"""Outcome rows (synthesis, XRD, conductivity): writing, correcting, retracting, reading.

Writes arrive as :class:`registry.snapshots.OutcomeWrite` (values already validated and
in canonical units by ``experiments.records``); :mod:`registry.repositories.outcome_writes`
meets them with what is stored (samples, corrections, proposals). Rows are immutable: a
correction or a retraction is a new row naming the one it replaces (``supersedes_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from loop.errors import NasiconError, ValidationError
from registry.errors import ConflictError, NotFoundError, RecordErrors
from registry.repositories.base import Repository
from registry.repositories.outcome_writes import OutcomeWriter, successor_id
from registry.snapshots import (
    OUTCOME_KINDS,
    OutcomeKind,
    OutcomeSnapshot,
    OutcomeWrite,
    RecordStatus,
    WriteReport,
    frozen_mapping,
)
from registry.tables import (
    OUTCOME_TABLES,
    CampaignRow,
    CompositionRow,
    SampleRow,
    SynthesisRow,
    XRDRow,
    value_columns,
)
from registry.types import utcnow


def _status(is_retraction: bool, successor: int | None, successor_retracts: bool) -> RecordStatus:
    if is_retraction:
        return "retraction"
    if successor is None:
        return "current"
    return "retracted" if successor_retracts else "superseded"


class OutcomeRepository(Repository):
    """The ``synthesis_records``, ``xrd_results`` and ``conductivity_results`` tables."""

    def find(
        self,
        *,
        kinds: Sequence[OutcomeKind] = OUTCOME_KINDS,
        include_history: bool = False,
        since: datetime | None = None,
        sample_pks: Iterable[int] | None = None,
    ) -> list[OutcomeSnapshot]:
        """Outcome rows with sample, campaign and formula, by kind then id.

        Args:
            kinds: which outcome tables to read.
            include_history: also superseded, retracted and retraction rows (else only
                current ones).
            since: only rows recorded after this time.
            sample_pks: only rows of these samples (primary keys).
        """
        pks = None if sample_pks is None else list(sample_pks)
        out: list[OutcomeSnapshot] = []
        for kind in kinds:
            table = OUTCOME_TABLES[kind]
            succ = aliased(table)
            stmt = (
                sa.select(table, succ.id, succ.is_retraction)
                .add_columns(SampleRow.sample_id, CampaignRow.name, CompositionRow.formula)
                .join(SampleRow, table.sample_pk == SampleRow.id)
                .join(CampaignRow, SampleRow.campaign_id == CampaignRow.id)
                .join(CompositionRow, SampleRow.composition_id == CompositionRow.id)
                .outerjoin(succ, succ.supersedes_id == table.id)
                .order_by(table.id)
            )
            if not include_history:
                stmt = stmt.where(succ.id.is_(None)).where(table.is_retraction == sa.false())
            if pks is not None:
                stmt = stmt.where(table.sample_pk.in_(pks))
            if since is not None:
                stmt = stmt.where(table.recorded_at > since)
            columns = value_columns(kind)
            rows = self.session.execute(stmt)
            for row, succ_id, succ_retracts, sample_id, campaign, formula in rows:
                out.append(
                    OutcomeSnapshot(
                        kind=kind, id=row.id, sample_pk=row.sample_pk, sample_id=sample_id,
                        campaign=campaign, formula=formula,
                        values=frozen_mapping({c: getattr(row, c) for c in columns}),
                        supersedes_id=row.supersedes_id, is_retraction=row.is_retraction,
                        reason=row.reason, recorded_by=row.recorded_by,
                        recorded_at=row.recorded_at,
                        status=_status(row.is_retraction, succ_id, bool(succ_retracts)),
                        superseded_by=succ_id,
                    )
                )  # fmt: skip
        return out

    def write(
        self,
        writes: Sequence[OutcomeWrite],
        *,
        recorded_by: str,
        skip_identical: bool = False,
        create_campaigns: bool = False,
        dry_run: bool = False,
    ) -> WriteReport:
        """Store synthesis / XRD / conductivity rows: all of them or none.

        Args:
            writes: the rows, in order (a sample created by one write can be used by a later).
            recorded_by: who records them.
            skip_identical: a write identical to a stored current row is skipped (reported
                as unchanged) instead of refused or duplicated; makes imports idempotent.
            create_campaigns: create unknown campaigns instead of refusing the write.
            dry_run: check everything, then undo it (the rest of the unit of work stays).

        Raises:
            RecordErrors: one or more writes were refused; ``problems`` lists them all.
        """
        if not recorded_by or not recorded_by.strip():
            raise ValidationError("say who records the results (--by)")
        writer = OutcomeWriter(self.uow, recorded_by.strip(), skip_identical, create_campaigns)
        problems: list[tuple[int, str]] = []
        savepoint = self.session.begin_nested()  # this call's writes, undone together
        try:
            for index, w in enumerate(writes):
                try:
                    with self.session.begin_nested():
                        writer.write(index, w)
                except NasiconError as exc:
                    problems.append((index, str(exc)))
        except BaseException:
            savepoint.rollback()
            raise
        if dry_run or problems:
            savepoint.rollback()
        else:
            savepoint.commit()
        if problems:
            raise RecordErrors(problems, len(writes))
        return writer.report()

    def retract(self, kind: OutcomeKind, record_id: int, *, reason: str, recorded_by: str) -> int:
        """Withdraw a current outcome row (it stays in the history); id of the retraction.

        Raises:
            NotFoundError: no such row.
            ConflictError: the row is already superseded or retracted, or is a retraction.
            ValidationError: no reason or no name given, or an unknown kind.
        """
        if kind not in OUTCOME_TABLES:
            raise ValidationError(
                f"unknown record kind {kind!r} (one of {', '.join(OUTCOME_TABLES)})"
            )
        if not reason or not reason.strip():
            raise ValidationError(f"say why {kind} record {record_id} is retracted (--reason)")
        if not recorded_by or not recorded_by.strip():
            raise ValidationError("say who retracts the record (--by)")
        table = OUTCOME_TABLES[kind]
        target = self.session.get(table, record_id)
        if target is None:
            raise NotFoundError(f"there is no {kind} record {record_id}")
        if target.is_retraction:
            raise ConflictError(f"{kind} record {record_id} is itself a retraction")
        later = successor_id(self.session, kind, record_id)
        if later is not None:
            raise ConflictError(
                f"{kind} record {record_id} was already superseded or retracted by record {later}"
            )
        row = table(
            sample_pk=target.sample_pk, supersedes_id=record_id, is_retraction=True,
            reason=reason.strip(), recorded_by=recorded_by.strip(), recorded_at=utcnow(),
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def labelled_composition_ids(self) -> set[int]:
        """Compositions with a measured outcome: a current XRD result or a failed synthesis."""
        ids: set[int] = set()
        for table, extra in ((XRDRow, None), (SynthesisRow, SynthesisRow.succeeded == sa.false())):
            succ = aliased(table)
            stmt = (
                sa.select(SampleRow.composition_id)
                .join(table, table.sample_pk == SampleRow.id)
                .outerjoin(succ, succ.supersedes_id == table.id)
                .where(succ.id.is_(None))
                .where(table.is_retraction == sa.false())
            )
            if extra is not None:
                stmt = stmt.where(extra)
            ids.update(self.session.execute(stmt).scalars())
        return ids

    def count_labels(self, since: datetime | None = None) -> int:
        """New lab labels: current label-bearing rows (XRD results, failed syntheses) of
        bench samples recorded after ``since`` (all of them when None). Not counted:
        retractions, rows a later correction superseded, literature imports."""
        total = 0
        for table, extra in ((XRDRow, None), (SynthesisRow, SynthesisRow.succeeded == sa.false())):
            later = aliased(table)
            superseded = sa.exists().where(later.supersedes_id == table.id)
            stmt = (
                sa.select(sa.func.count())
                .select_from(table)
                .join(SampleRow, table.sample_pk == SampleRow.id)
                .where(table.is_retraction == sa.false(), ~superseded, SampleRow.source == "bench")
            )
            if extra is not None:
                stmt = stmt.where(extra)
            if since is not None:
                stmt = stmt.where(table.recorded_at > since)
            total += self.session.execute(stmt).scalar_one()
        return total
