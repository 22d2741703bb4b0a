"""Model runs: trained models with their CV metrics, artifacts and the champion flag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from registry.errors import NotFoundError
from registry.repositories.base import Repository
from registry.snapshots import ModelRunRecord, frozen_mapping
from registry.tables import ModelRunRow
from registry.types import utcnow


def _round_is(number: int | None) -> sa.ColumnElement[bool]:
    if number is None:
        return ModelRunRow.round_number.is_(None)
    return ModelRunRow.round_number == number


def to_record(row: ModelRunRow) -> ModelRunRecord:
    """Snapshot of a model-run row."""
    return ModelRunRecord(
        id=row.id,
        round_number=row.round_number,
        algorithm=row.algorithm,
        scope=row.scope,
        hyperparameters=frozen_mapping(row.hyperparameters),
        fold_metrics=tuple(frozen_mapping(m) for m in row.fold_metrics),
        metrics=frozen_mapping(row.metrics),
        is_champion=row.is_champion,
        artifact_path=row.artifact_path,
        artifact_sha256=row.artifact_sha256,
        training_data_sha256=row.training_data_sha256,
        library_versions=frozen_mapping(row.library_versions),
        n_train=row.n_train,
        created_at=row.created_at,
    )


class ModelRunRepository(Repository):
    """The ``model_runs`` table."""

    def add(
        self,
        *,
        round_number: int | None,
        algorithm: str,
        scope: str,
        hyperparameters: Mapping[str, Any],
        fold_metrics: Sequence[Mapping[str, Any]],
        metrics: Mapping[str, Any],
        is_champion: bool,
        artifact_path: str | None,
        artifact_sha256: str | None,
        training_data_sha256: str,
        library_versions: Mapping[str, Any],
        n_train: int,
    ) -> int:
        """Store a model run; idempotent per (round_number, algorithm): a second call returns
        the id of the run already stored."""
        existing = self.session.execute(
            sa.select(ModelRunRow.id).where(
                _round_is(round_number), ModelRunRow.algorithm == algorithm
            )
        ).scalar()
        if existing is not None:
            return existing
        row = ModelRunRow(
            round_number=round_number,
            algorithm=algorithm,
            scope=scope,
            hyperparameters=dict(hyperparameters),
            fold_metrics=[dict(m) for m in fold_metrics],
            metrics=dict(metrics),
            is_champion=False,
            artifact_path=artifact_path,
            artifact_sha256=artifact_sha256,
            training_data_sha256=training_data_sha256,
            library_versions=dict(library_versions),
            n_train=int(n_train),
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        if is_champion:
            self.set_champion(row.id)
        return row.id

    def _row(self, run_id: int) -> ModelRunRow:
        row = self.session.get(ModelRunRow, run_id)
        if row is None:
            raise NotFoundError(f"there is no model run {run_id} (see nasicon models list)")
        return row

    def set_champion(self, run_id: int) -> None:
        """Make ``run_id`` the only champion of its round.

        Raises:
            NotFoundError: no such model run.
        """
        row = self._row(run_id)
        self.session.execute(
            sa.update(ModelRunRow)
            .where(_round_is(row.round_number), ModelRunRow.id != run_id, ModelRunRow.is_champion)
            .values(is_champion=False)
        )
        self.session.flush()
        row.is_champion = True
        self.session.flush()

    def get(self, run_id: int) -> ModelRunRecord:
        """One model run.

        Raises:
            NotFoundError: no such run.
        """
        return to_record(self._row(run_id))

    def find(self, round_number: int | None = None) -> list[ModelRunRecord]:
        """Model runs of round ``round_number`` (None: of every round), oldest first."""
        stmt = sa.select(ModelRunRow).order_by(ModelRunRow.id)
        if round_number is not None:
            stmt = stmt.where(ModelRunRow.round_number == round_number)
        return [to_record(r) for r in self.session.execute(stmt).scalars()]

    def champion(self) -> ModelRunRecord | None:
        """The global champion (the default of predict and propose): the champion of the
        latest round that has one and compared the configured model set (runs outside rounds
        rank below every round). A round restricted with ``--models`` keeps its own champion
        (metrics ``default_eligible`` false) but never becomes the default; if every
        champion is restricted, the latest one is the default (there is no other)."""
        stmt = (
            sa.select(ModelRunRow)
            .where(ModelRunRow.is_champion)
            .order_by(sa.func.coalesce(ModelRunRow.round_number, -1).desc(), ModelRunRow.id.desc())
        )
        rows = list(self.session.execute(stmt).scalars())
        if not rows:
            return None
        eligible = (r for r in rows if (r.metrics or {}).get("default_eligible", True))
        return to_record(next(eligible, rows[0]))
