"""Closed-loop rounds: started (idempotently), finished with their champion and counts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.errors import NotFoundError
from registry.snapshots import RoundRecord
from registry.tables import ModelRunRow, RoundRow
from registry.types import utcnow


def to_record(row: RoundRow) -> RoundRecord:
    """Snapshot of a round row."""
    return RoundRecord(
        number=row.number,
        flow_run_id=row.flow_run_id,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        champion_run_id=row.champion_run_id,
        n_new_labels=row.n_new_labels,
        n_proposals=row.n_proposals,
    )


def get_row(session: Session, number: int) -> RoundRow | None:
    """Round ``number``, or None."""
    return session.execute(
        sa.select(RoundRow).where(RoundRow.number == number)
    ).scalar_one_or_none()


def start_round(session: Session, number: int, flow_run_id: str | None = None) -> RoundRecord:
    """Start round ``number``; a second call returns it (recording a re-run's flow-run id)."""
    row = get_row(session, number)
    if row is None:
        row = RoundRow(
            number=number, flow_run_id=flow_run_id, status="running", started_at=utcnow()
        )
        session.add(row)
    elif flow_run_id is not None and row.status == "running" and row.flow_run_id != flow_run_id:
        row.flow_run_id = flow_run_id  # the round is being run again after dying half-way
    session.flush()
    return to_record(row)


def finish_round(
    session: Session,
    number: int,
    champion_run_id: int | None,
    n_new_labels: int,
    n_proposals: int,
) -> RoundRecord:
    """Mark round ``number`` finished with its champion and counts.

    Raises:
        NotFoundError: the round was never started, or the champion run does not exist.
    """
    row = get_row(session, number)
    if row is None:
        raise NotFoundError(f"round {number} was never started")
    if champion_run_id is not None and session.get(ModelRunRow, champion_run_id) is None:
        raise NotFoundError(
            f"there is no model run {champion_run_id} to be round {number}'s champion"
        )
    row.status = "finished"
    row.finished_at = utcnow()
    row.champion_run_id = champion_run_id
    row.n_new_labels = int(n_new_labels)
    row.n_proposals = int(n_proposals)
    session.flush()
    return to_record(row)


def latest_round(session: Session) -> RoundRecord | None:
    """The round with the highest number, or None."""
    row = session.execute(sa.select(RoundRow).order_by(RoundRow.number.desc()).limit(1)).scalar()
    return None if row is None else to_record(row)


def all_rounds(session: Session) -> list[RoundRecord]:
    """Every round, in number order."""
    rows = session.execute(sa.select(RoundRow).order_by(RoundRow.number)).scalars()
    return [to_record(r) for r in rows]
