"""Initial registry schema: campaigns, compositions, computed records, samples and their
synthesis / XRD / conductivity records (immutable, corrected by superseding rows), model
runs, rounds, proposals and proposal events.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from registry.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = (
    "computed_records",
    "synthesis_records",
    "xrd_results",
    "conductivity_results",
    "proposal_events",
)
OPEN_STATUSES = "status IN ('queued', 'claimed', 'synthesized')"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _str(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _float(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.JSON(), nullable=nullable)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=nullable)


def _checks(table: str, *checks: tuple[str, str]) -> list[sa.CheckConstraint]:
    return [sa.CheckConstraint(sql, name=op.f(f"ck_{table}_{name}")) for name, sql in checks]


def _ranges(table: str, *ranges: tuple[str, str]) -> list[sa.CheckConstraint]:
    return _checks(table, *((f"{c}_range", f"{c} IS NULL OR ({cond})") for c, cond in ranges))


def _correction_columns(table: str) -> list:
    return [
        sa.Column(
            "supersedes_id", sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=True, unique=True
        ),
        sa.Column("is_retraction", sa.Boolean(), nullable=False),
        _str("reason"),
        _str("recorded_by", nullable=False),
        _ts("recorded_at"),
        *_checks(
            table, ("retraction_names_target", "NOT is_retraction OR supersedes_id IS NOT NULL")
        ),
    ]


def _immutable_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION nasicon_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% rows are immutable: record a correction instead', "
            "TG_TABLE_NAME; END $$"
        )
    for table in IMMUTABLE:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION nasicon_refuse_change()"
            )
        elif dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_immutable_{action.lower()} BEFORE {action} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, "
                    f"'{table} rows are immutable: record a correction instead'); END"
                )


def upgrade() -> None:
    op.create_table(
        "campaigns",
        _id(),
        sa.Column("name", sa.String(), nullable=False, unique=True),
        _str("description"),
        _ts("created_at"),
    )
    op.create_table(
        "compositions",
        _id(),
        sa.Column("formula", sa.String(), nullable=False, unique=True),
        _float("na", nullable=False),
        _json("m_site"),
        _json("a_site"),
        _json("descriptors"),
        _str("descriptors_version", nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "model_runs",
        _id(),
        sa.Column("round_number", sa.Integer(), nullable=True),
        _str("algorithm", nullable=False),
        _str("scope", nullable=False),
        _json("hyperparameters"),
        _json("fold_metrics"),
        _json("metrics"),
        sa.Column("is_champion", sa.Boolean(), nullable=False),
        _str("artifact_path"),
        _str("artifact_sha256"),
        _str("training_data_sha256", nullable=False),
        _json("library_versions"),
        sa.Column("n_train", sa.Integer(), nullable=False),
        _ts("created_at"),
    )
    op.create_index(
        "uq_model_runs_round_algorithm",
        "model_runs",
        [sa.text("coalesce(round_number, -1)"), "algorithm"],
        unique=True,
    )
    op.create_index(
        "uq_model_runs_champion_per_round",
        "model_runs",
        [sa.text("coalesce(round_number, -1)")],
        unique=True,
        sqlite_where=sa.text("is_champion"),
        postgresql_where=sa.text("is_champion"),
    )
    op.create_table(
        "computed_records",
        _id(),
        _fk("composition_id", "compositions"),
        _str("source", nullable=False),
        _str("dataset_formula", nullable=False),
        _str("split"),
        _float("ehull_mev", nullable=False),
        _float("ewald_ev_per_atom"),
        _float("formation_energy_ev_per_atom"),
        _json("published"),
        _str("citation", nullable=False),
        _str("data_repository"),
        _str("license"),
        _str("source_file", nullable=False),
        _str("source_sha256", nullable=False),
        _ts("imported_at"),
        sa.UniqueConstraint("source", "dataset_formula"),
    )
    op.create_index(
        op.f("ix_computed_records_composition_id"), "computed_records", ["composition_id"]
    )
    op.create_table(
        "proposals",
        _id(),
        sa.Column("round_number", sa.Integer(), nullable=True),
        _fk("composition_id", "compositions"),
        _fk("model_run_id", "model_runs", nullable=True),
        _json("probabilities"),
        _float("acquisition_score"),
        _str("strategy", nullable=False),
        _str("reason"),
        _str("status", nullable=False),
        _str("status_reason"),
        _ts("status_changed_at"),
        _str("status_changed_by"),
        _str("claimed_by"),
        _ts("claim_expires_at", nullable=True),
        _ts("created_at"),
        *_checks(
            "proposals",
            (
                "status_known",
                "status IN ('queued', 'claimed', 'synthesized', 'measured', 'abandoned', "
                "'rejected')",
            ),
        ),
    )
    op.create_index(
        "uq_proposals_round_composition",
        "proposals",
        [sa.text("coalesce(round_number, -1)"), "composition_id"],
        unique=True,
    )
    op.create_index(
        "uq_proposals_open_composition",
        "proposals",
        ["composition_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_STATUSES),
        postgresql_where=sa.text(OPEN_STATUSES),
    )
    op.create_table(
        "rounds",
        _id(),
        sa.Column("number", sa.Integer(), nullable=False, unique=True),
        _str("flow_run_id"),
        _str("status", nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        _fk("champion_run_id", "model_runs", nullable=True),
        sa.Column("n_new_labels", sa.Integer(), nullable=True),
        sa.Column("n_proposals", sa.Integer(), nullable=True),
        *_checks("rounds", ("status_known", "status IN ('running', 'finished')")),
    )
    op.create_table(
        "proposal_events",
        _id(),
        _fk("proposal_id", "proposals"),
        _str("from_status"),
        _str("to_status", nullable=False),
        _str("who", nullable=False),
        _str("reason"),
        _ts("at"),
    )
    op.create_index(op.f("ix_proposal_events_proposal_id"), "proposal_events", ["proposal_id"])
    op.create_table(
        "samples",
        _id(),
        _fk("campaign_id", "campaigns"),
        _str("sample_id", nullable=False),
        _fk("composition_id", "compositions"),
        _fk("proposal_id", "proposals", nullable=True),
        _str("source", nullable=False),
        _str("citation"),
        _ts("created_at"),
        _str("created_by", nullable=False),
        sa.UniqueConstraint("campaign_id", "sample_id"),
    )
    op.create_index(op.f("ix_samples_composition_id"), "samples", ["composition_id"])
    op.create_index(op.f("ix_samples_proposal_id"), "samples", ["proposal_id"])
    op.create_table(
        "synthesis_records",
        _id(),
        _fk("sample_pk", "samples"),
        sa.Column("succeeded", sa.Boolean(), nullable=True),
        _str("precursors"),
        _float("calcination_temperature_k"),
        _float("calcination_hours"),
        _float("sintering_temperature_k"),
        _float("sintering_hours"),
        _str("atmosphere"),
        _str("operator"),
        sa.Column("synthesized_on", sa.Date(), nullable=True),
        _str("notes"),
        *_correction_columns("synthesis_records"),
        *_checks("synthesis_records", ("outcome_given", "is_retraction OR succeeded IS NOT NULL")),
        *_ranges(
            "synthesis_records",
            ("calcination_temperature_k", "calcination_temperature_k >= 0"),
            ("sintering_temperature_k", "sintering_temperature_k >= 0"),
            ("calcination_hours", "calcination_hours >= 0"),
            ("sintering_hours", "sintering_hours >= 0"),
        ),
    )
    op.create_table(
        "xrd_results",
        _id(),
        _fk("sample_pk", "samples"),
        _json("phases", nullable=True),
        _float("impurity_fraction"),
        sa.Column("phase_pure", sa.Boolean(), nullable=True),
        _str("space_group"),
        _float("a_a"),
        _float("b_a"),
        _float("c_a"),
        _float("alpha_deg"),
        _float("beta_deg"),
        _float("gamma_deg"),
        _float("rwp"),
        _str("notes"),
        _str("raw_path"),
        _str("raw_sha256"),
        _str("analysis_version"),
        *_correction_columns("xrd_results"),
        *_checks("xrd_results", ("verdict_given", "is_retraction OR phase_pure IS NOT NULL")),
        *_ranges(
            "xrd_results",
            ("impurity_fraction", "impurity_fraction >= 0 AND impurity_fraction <= 1"),
        ),
    )
    op.create_table(
        "conductivity_results",
        _id(),
        _fk("sample_pk", "samples"),
        _float("sigma_total_s_cm"),
        _float("sigma_bulk_s_cm"),
        _float("sigma_gb_s_cm"),
        _float("temperature_k"),
        _float("ea_ev"),
        _float("relative_density"),
        _float("ccd_ma_cm2"),
        _str("notes"),
        _str("raw_path"),
        _str("raw_sha256"),
        _str("analysis_version"),
        *_correction_columns("conductivity_results"),
        *_checks(
            "conductivity_results",
            (
                "value_given",
                "is_retraction OR sigma_total_s_cm IS NOT NULL OR sigma_bulk_s_cm IS NOT NULL "
                "OR sigma_gb_s_cm IS NOT NULL",
            ),
            ("temperature_given", "is_retraction OR temperature_k IS NOT NULL"),
        ),
        *_ranges(
            "conductivity_results",
            ("sigma_total_s_cm", "sigma_total_s_cm > 0 AND sigma_total_s_cm <= 10"),
            ("sigma_bulk_s_cm", "sigma_bulk_s_cm > 0 AND sigma_bulk_s_cm <= 10"),
            ("sigma_gb_s_cm", "sigma_gb_s_cm > 0 AND sigma_gb_s_cm <= 10"),
            ("temperature_k", "temperature_k >= 0"),
            ("ea_ev", "ea_ev > 0"),
            ("relative_density", "relative_density > 0 AND relative_density <= 1"),
        ),
    )
    for table in ("synthesis_records", "xrd_results", "conductivity_results"):
        op.create_index(op.f(f"ix_{table}_sample_pk"), table, ["sample_pk"])
    _immutable_triggers()


def downgrade() -> None:
    for table in (
        "conductivity_results",
        "xrd_results",
        "synthesis_records",
        "samples",
        "proposal_events",
        "rounds",
        "proposals",
        "computed_records",
        "model_runs",
        "compositions",
        "campaigns",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS nasicon_refuse_change()")
