"""XRD results carry the analysis verdict: phase_pure, impure, no_nasicon or inconclusive.

``verdict`` and ``verdict_reason`` are new columns of ``xrd_results``. A row now needs a
verdict or ``phase_pure`` (an ``inconclusive`` pattern has no ``phase_pure``: it asks for a
person and makes no label). Rows stored before this revision keep ``verdict`` NULL; their
``phase_pure`` still says what they said.

On SQLite the table is rebuilt (a CHECK constraint cannot be altered in place) and its
immutability triggers, which go with the old table, are created again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "xrd_results"
VERDICTS = "('phase_pure', 'impure', 'no_nasicon', 'inconclusive')"
OLD_GIVEN = "is_retraction OR phase_pure IS NOT NULL"
NEW_GIVEN = "is_retraction OR phase_pure IS NOT NULL OR verdict IS NOT NULL"
KNOWN = f"verdict IS NULL OR verdict IN {VERDICTS}"


def _sqlite_triggers() -> None:
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {TABLE}_immutable_{action.lower()} BEFORE {action} "
            f"ON {TABLE} BEGIN SELECT RAISE(ABORT, "
            f"'{TABLE} rows are immutable: record a correction instead'); END"
        )


def _swap_checks(old: str, new: str, known: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with (
        warnings.catch_warnings(),
        op.batch_alter_table(TABLE, recreate="always" if sqlite else "auto") as batch,
    ):
        # reflecting the tables xrd_results refers to meets model_runs' expression index,
        # which SQLAlchemy cannot reflect on SQLite (and the rebuild does not need)
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        if known:
            batch.add_column(sa.Column("verdict", sa.String(), nullable=True))
            batch.add_column(sa.Column("verdict_reason", sa.String(), nullable=True))
        batch.drop_constraint(op.f(f"ck_{TABLE}_verdict_given"), type_="check")
        if not known:
            batch.drop_constraint(op.f(f"ck_{TABLE}_verdict_known"), type_="check")
            batch.drop_column("verdict_reason")
            batch.drop_column("verdict")
        batch.create_check_constraint(op.f(f"ck_{TABLE}_verdict_given"), new)
        if known:
            batch.create_check_constraint(op.f(f"ck_{TABLE}_verdict_known"), KNOWN)
    if sqlite:
        _sqlite_triggers()


def upgrade() -> None:
    _swap_checks(OLD_GIVEN, NEW_GIVEN, known=True)


def downgrade() -> None:
    _swap_checks(NEW_GIVEN, OLD_GIVEN, known=False)
