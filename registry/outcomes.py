"""Samples and their outcome rows: storing, correcting, retracting and reading them back.

Writes arrive as :class:`registry.snapshots.OutcomeWrite` (values already validated
and in canonical units by ``experiments.records``); here they meet what is stored:
sample ids, corrections, the proposal a sample answers. Every write of a call is
checked; if any is refused, all problems are reported together and nothing is stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from loop.chemistry import parse_nasicon
from loop.errors import NasiconError, ValidationError
from registry import proposals as queue_ops
from registry.compositions import ensure_compositions, insert_ignoring_duplicates
from registry.errors import ConflictError, NotFoundError, RecordErrors
from registry.queue import ProposalStatus
from registry.snapshots import (
    OUTCOME_KINDS,
    OutcomeKind,
    OutcomeSnapshot,
    OutcomeWrite,
    RecordStatus,
    SampleRecord,
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

DEFAULT_CAMPAIGN = "default"
TABLES: dict[str, type] = OUTCOME_TABLES


def same_value(a: Any, b: Any) -> bool:
    """Whether two stored values are equal (floats to 1e-9 relative, JSON deeply)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and isinstance(a, bool) == isinstance(b, bool)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, date | datetime) or isinstance(b, date | datetime):
        return str(a) == str(b)
    return a == b


def same_values(kind: OutcomeKind, values: Mapping[str, Any], row: Any) -> bool:
    """Whether a stored row holds exactly ``values`` (missing keys meaning None)."""
    return all(same_value(values.get(c), getattr(row, c)) for c in value_columns(kind))


# -- campaigns and samples ----------------------------------------------------------------


def ensure_campaign(session: Session, name: str, description: str | None = None) -> int:
    """Id of campaign ``name``, created if new."""
    insert_ignoring_duplicates(
        session,
        CampaignRow.__table__,
        [{"name": name, "description": description, "created_at": utcnow()}],
        ["name"],
    )
    return session.execute(sa.select(CampaignRow.id).where(CampaignRow.name == name)).scalar_one()


def campaign_id(session: Session, name: str) -> int:
    """Id of an existing campaign.

    Raises:
        NotFoundError: no such campaign (the message lists the known ones).
    """
    found = session.execute(sa.select(CampaignRow.id).where(CampaignRow.name == name)).scalar()
    if found is None:
        known = ", ".join(session.execute(sa.select(CampaignRow.name)).scalars()) or "none"
        raise NotFoundError(
            f"there is no campaign {name!r} (known: {known}); create it with "
            f"`nasicon campaign add {name}`"
        )
    return found


def find_sample(session: Session, sample_id: str, campaign: str | None) -> SampleRow:
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


def sample_record(session: Session, row: SampleRow) -> SampleRecord:
    """Snapshot of a sample row."""
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


def composition_id_of(session: Session, formula: str) -> int | None:
    """Id of the stored composition with this canonical formula, if any."""
    stmt = sa.select(CompositionRow.id).where(CompositionRow.formula == formula)
    return session.execute(stmt).scalar()


# -- reading outcomes -----------------------------------------------------------------------


def successor_id(session: Session, kind: OutcomeKind, row_id: int) -> int | None:
    """Id of the row that supersedes or retracts ``row_id``, if any."""
    table = TABLES[kind]
    return session.execute(sa.select(table.id).where(table.supersedes_id == row_id)).scalar()


def outcome_snapshots(
    session: Session,
    *,
    kinds: Sequence[OutcomeKind] = OUTCOME_KINDS,
    include_history: bool = False,
    sample_pks: Iterable[int] | None = None,
    since: datetime | None = None,
) -> list[OutcomeSnapshot]:
    """Outcome rows with sample, campaign and formula; only current ones unless asked.

    Args:
        kinds: which outcome tables to read.
        include_history: also superseded, retracted and retraction rows.
        sample_pks: only rows of these samples.
        since: only rows recorded after this time.
    """
    pks = None if sample_pks is None else list(sample_pks)
    out: list[OutcomeSnapshot] = []
    for kind in kinds:
        table = TABLES[kind]
        succ = aliased(table)
        stmt = (
            sa.select(
                table,
                succ.id,
                succ.is_retraction,
                SampleRow.sample_id,
                CampaignRow.name,
                CompositionRow.formula,
            )
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
        for row, succ_id, succ_retraction, sample_id, campaign, formula in session.execute(stmt):
            status: RecordStatus
            if row.is_retraction:
                status = "retraction"
            elif succ_id is None:
                status = "current"
            else:
                status = "retracted" if succ_retraction else "superseded"
            out.append(
                OutcomeSnapshot(
                    kind=kind,
                    id=row.id,
                    sample_pk=row.sample_pk,
                    sample_id=sample_id,
                    campaign=campaign,
                    formula=formula,
                    values=frozen_mapping({c: getattr(row, c) for c in columns}),
                    supersedes_id=row.supersedes_id,
                    is_retraction=row.is_retraction,
                    reason=row.reason,
                    recorded_by=row.recorded_by,
                    recorded_at=row.recorded_at,
                    status=status,
                    superseded_by=succ_id,
                )
            )
    return out


def labelled_composition_ids(session: Session) -> set[int]:
    """Compositions with a measured outcome: a current XRD result or a failed synthesis."""
    ids: set[int] = set()
    for kind, extra in (("xrd", None), ("synthesis", SynthesisRow.succeeded == sa.false())):
        table = TABLES[kind]
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
        ids.update(session.execute(stmt).scalars())
    return ids


def count_label_events(session: Session, since: datetime | None) -> int:
    """Label-bearing rows (XRD results, failed syntheses, not retractions) since a time."""
    total = 0
    for table, extra in ((XRDRow, None), (SynthesisRow, SynthesisRow.succeeded == sa.false())):
        stmt = (
            sa.select(sa.func.count()).select_from(table).where(table.is_retraction == sa.false())
        )
        if extra is not None:
            stmt = stmt.where(extra)
        if since is not None:
            stmt = stmt.where(table.recorded_at > since)
        total += session.execute(stmt).scalar_one()
    return total


# -- writing outcomes -----------------------------------------------------------------------


class _Writer:
    """Applies a list of writes in one session, collecting every refusal."""

    def __init__(
        self,
        session: Session,
        recorded_by: str,
        skip_identical: bool,
        create_campaigns: bool,
    ) -> None:
        self.session = session
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
            return ensure_campaign(self.session, name)
        return campaign_id(self.session, name)

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
        table = TABLES[w.kind]
        target = self.session.get(table, w.supersedes_id)
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
        for snap in outcome_snapshots(self.session, kinds=(w.kind,), sample_pks=[sample.id]):
            if all(same_value(w.values.get(c), snap.values.get(c)) for c in value_columns(w.kind)):
                return True
        return False

    def _insert(self, index: int, w: OutcomeWrite, sample: SampleRow) -> Any:
        row = TABLES[w.kind](
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
        return row

    def _advance_proposal(self, sample: SampleRow, kind: OutcomeKind, values: Mapping) -> None:
        if sample.proposal_id is None:
            return
        proposal = queue_ops.get_row(self.session, sample.proposal_id)
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
        queue_ops.move(self.session, proposal, new, self.recorded_by, why)
        self.proposals_updated.append(proposal.id)

    def _link_proposal(self, w: OutcomeWrite, composition_id: int) -> int | None:
        if w.proposal_id is None:
            row = queue_ops.open_proposal_for(self.session, composition_id)
            return None if row is None else row.id
        row = queue_ops.get_row(self.session, w.proposal_id)
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
            same_composition = existing.composition_id == composition_id_of(
                self.session, comp.formula
            )
            if self.skip_identical and same_composition and self._identical_current(w, existing):
                self.unchanged.append(index)
                return
            campaign = w.campaign or DEFAULT_CAMPAIGN
            raise ConflictError(
                f"duplicate sample id {w.sample_id!r} in campaign {campaign!r} "
                f"(recorded {existing.created_at:%Y-%m-%d} by {existing.created_by}); a repeat "
                "needs its own sample id, a correction --supersedes"
            )
        composition_id = ensure_compositions(self.session, [comp])[comp.formula]
        proposal_id = self._link_proposal(w, composition_id)
        sample = SampleRow(
            campaign_id=cid,
            sample_id=w.sample_id,
            composition_id=composition_id,
            proposal_id=proposal_id,
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
        self._check_values(w)
        if w.kind == "synthesis" and w.supersedes_id is None:
            self._new_sample(index, w)
            return
        sample = find_sample(self.session, w.sample_id, w.campaign)
        self._composition_matches(sample, w.formula)
        if w.supersedes_id is not None:
            self._correction_target(w, sample)
        elif self.skip_identical and self._identical_current(w, sample):
            self.unchanged.append(index)
            return
        self._insert(index, w, sample)
        self._advance_proposal(sample, w.kind, w.values)

    def report(self) -> WriteReport:
        return WriteReport(
            added=tuple(self.added),
            unchanged=tuple(self.unchanged),
            samples_created=tuple(self.samples_created),
            proposals_updated=tuple(dict.fromkeys(self.proposals_updated)),
        )


def write_outcomes(
    session: Session,
    writes: Sequence[OutcomeWrite],
    *,
    recorded_by: str,
    skip_identical: bool = False,
    create_campaigns: bool = False,
) -> WriteReport:
    """Store outcome writes; all or nothing (see :meth:`registry.store.Registry.write_outcomes`).

    Raises:
        RecordErrors: one or more writes were refused (every problem is listed).
    """
    if not recorded_by or not recorded_by.strip():
        raise ValidationError("say who records the results (--by)")
    writer = _Writer(session, recorded_by.strip(), skip_identical, create_campaigns)
    problems: list[tuple[int, str]] = []
    for index, w in enumerate(writes):
        try:
            with session.begin_nested():
                writer.write(index, w)
        except NasiconError as exc:
            problems.append((index, str(exc)))
    if problems:
        raise RecordErrors(problems, len(writes))
    return writer.report()


def retract(
    session: Session, kind: OutcomeKind, record_id: int, *, reason: str, recorded_by: str
) -> int:
    """Withdraw a current outcome row; returns the id of the retraction row.

    Raises:
        NotFoundError: no such row.
        ConflictError: the row is already superseded or retracted, or is a retraction.
        ValidationError: no reason or no name given.
    """
    if kind not in TABLES:
        raise ValidationError(f"unknown record kind {kind!r} (one of {', '.join(TABLES)})")
    if not reason or not reason.strip():
        raise ValidationError(f"say why {kind} record {record_id} is retracted (--reason)")
    if not recorded_by or not recorded_by.strip():
        raise ValidationError("say who retracts the record (--by)")
    table = TABLES[kind]
    target = session.get(table, record_id)
    if target is None:
        raise NotFoundError(f"there is no {kind} record {record_id}")
    if target.is_retraction:
        raise ConflictError(f"{kind} record {record_id} is itself a retraction")
    later = successor_id(session, kind, record_id)
    if later is not None:
        raise ConflictError(
            f"{kind} record {record_id} was already superseded or retracted by record {later}"
        )
    row = table(
        sample_pk=target.sample_pk,
        supersedes_id=record_id,
        is_retraction=True,
        reason=reason.strip(),
        recorded_by=recorded_by.strip(),
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row.id
