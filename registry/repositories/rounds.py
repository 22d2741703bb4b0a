"""Closed-loop rounds: started (idempotently), finished with their champion and counts."""

from __future__ import annotations

import sqlalchemy as sa

from registry.errors import NotFoundError
from registry.repositories.base import Repository
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


class RoundRepository(Repository):
    """The ``rounds`` table."""

    def _row(self, number: int) -> RoundRow | None:
        stmt = sa.select(RoundRow).where(RoundRow.number == number)
        return self.session.execute(stmt).scalar_one_or_none()

    def start(self, number: int, flow_run_id: str | None = None) -> RoundRecord:
        """Start round ``number``; a second call returns it (recording a re-run's flow-run id)."""
        row = self._row(number)
        if row is None:
            row = RoundRow(
                number=number, flow_run_id=flow_run_id, status="running", started_at=utcnow()
            )
            self.session.add(row)
        elif flow_run_id is not None and row.status == "running" and row.flow_run_id != flow_run_id:
            row.flow_run_id = flow_run_id  # the round is being run again after dying half-way
        self.session.flush()
        return to_record(row)

    def finish(
        self, number: int, champion_run_id: int | None, n_new_labels: int, n_proposals: int
    ) -> RoundRecord:
        """Mark round ``number`` finished with its champion, labels used and proposals made.

        Raises:
            NotFoundError: the round was never started, or the champion run does not exist.
        """
        row = self._row(number)
        if row is None:
            raise NotFoundError(f"round {number} was never started")
        if champion_run_id is not None and self.session.get(ModelRunRow, champion_run_id) is None:
            raise NotFoundError(
                f"there is no model run {champion_run_id} to be round {number}'s champion"
            )
        row.status = "finished"
        row.finished_at = utcnow()
        row.champion_run_id = champion_run_id
        row.n_new_labels = int(n_new_labels)
        row.n_proposals = int(n_proposals)
        self.session.flush()
        return to_record(row)

    def latest(self) -> RoundRecord | None:
        """The round with the highest number, or None."""
        stmt = sa.select(RoundRow).order_by(RoundRow.number.desc()).limit(1)
        row = self.session.execute(stmt).scalar()
        return None if row is None else to_record(row)

    def all(self) -> list[RoundRecord]:
        """Every round, in number order."""
        rows = self.session.execute(sa.select(RoundRow).order_by(RoundRow.number)).scalars()
        return [to_record(r) for r in rows]
