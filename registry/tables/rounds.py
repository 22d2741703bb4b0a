"""The loop's state: model runs, rounds, proposals and their status events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from registry.queue import OPEN, ProposalStatus
from registry.tables.base import RegistryModel, json_field, ts_field
from registry.types import UTCDateTime

_OPEN_SQL = ", ".join(f"'{s.value}'" for s in OPEN)
_STATUS_SQL = ", ".join(f"'{s.value}'" for s in ProposalStatus)


def index_where(where: str | None) -> dict[str, Any]:
    """Index options that index only the rows where ``where`` (SQL) holds, on SQLite and
    PostgreSQL alike (none when ``where`` is None)."""
    return (
        {}
        if where is None
        else {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
    )


def unique_per_round(name: str, *columns: str, where: str | None = None) -> sa.Index:
    """A unique index over the round number (no round counts as round -1) and ``columns``."""
    round_key = sa.func.coalesce(sa.column("round_number"), -1)
    return sa.Index(name, round_key, *map(sa.column, columns), unique=True, **index_where(where))


class ModelRunRow(RegistryModel, table=True):
    """One trained model of a round: its settings, CV metrics and artifact."""

    __tablename__ = "model_runs"
    __table_args__ = (
        unique_per_round("uq_model_runs_round_algorithm", "algorithm"),
        unique_per_round("uq_model_runs_champion_per_round", where="is_champion"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_number: int | None = None
    algorithm: str
    scope: str
    hyperparameters: dict = json_field()
    fold_metrics: list = json_field()
    metrics: dict = json_field()
    is_champion: bool = False
    artifact_path: str | None = None
    artifact_sha256: str | None = None
    training_data_sha256: str
    library_versions: dict = json_field()
    n_train: int
    created_at: datetime = ts_field()


class RoundRow(RegistryModel, table=True):
    """One closed-loop round."""

    __tablename__ = "rounds"
    __table_args__ = (sa.CheckConstraint("status IN ('running', 'finished')", name="status_known"),)
    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    flow_run_id: str | None = None
    status: str = "running"
    started_at: datetime = ts_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    champion_run_id: int | None = Field(default=None, foreign_key="model_runs.id")
    n_new_labels: int | None = None
    n_proposals: int | None = None


class ProposalRow(RegistryModel, table=True):
    """A composition proposed for synthesis, with why, and where it is in the lab."""

    __tablename__ = "proposals"
    __table_args__ = (
        unique_per_round("uq_proposals_round_composition", "composition_id"),
        sa.Index(
            "uq_proposals_open_composition",
            sa.column("composition_id"),
            unique=True,
            **index_where(f"status IN ({_OPEN_SQL})"),
        ),
        sa.CheckConstraint(f"status IN ({_STATUS_SQL})", name="status_known"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_number: int | None = None
    composition_id: int = Field(foreign_key="compositions.id")
    model_run_id: int | None = Field(default=None, foreign_key="model_runs.id")
    probabilities: dict = json_field()  # model name -> P(synthesizable)
    acquisition_score: float | None = None
    strategy: str
    reason: str | None = None
    in_domain: bool | None = None  # in the champion round's training domain (None: unchecked)
    domain_reason: str | None = None  # why not
    # -- the recommender's objectives (migration 0005) --
    p_forms: float | None = None  # P(forms), mean over the committee
    p_forms_sd: float | None = None  # its spread over the committee
    log10_sigma_s_cm: float | None = None  # predicted log10 conductivity at 25 C, S/cm
    log10_sigma_sd: float | None = None  # its predictive sd
    objective: str | None = None  # synthesis, conductivity or both
    signal: str | None = None  # what the surrogate learned from (labels, ehull)
    # -- end 0005 --
    status: str = ProposalStatus.QUEUED.value
    status_reason: str | None = None  # why abandoned / rejected
    status_changed_at: datetime = ts_field()
    status_changed_by: str | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = ts_field()


class ProposalEventRow(RegistryModel, table=True):
    """A status change of a proposal: from, to, who, when, why."""

    __tablename__ = "proposal_events"
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True)
    from_status: str | None = None
    to_status: str
    who: str
    reason: str | None = None
    at: datetime = ts_field()
