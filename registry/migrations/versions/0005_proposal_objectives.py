"""Proposals carry both objectives with their uncertainty, the objective and the signal.

New nullable columns of ``proposals``: ``p_forms`` and ``p_forms_sd`` (the recommender's
P(forms), mean and spread over its committee), ``log10_sigma_s_cm`` and ``log10_sigma_sd``
(predicted log10 of the conductivity at 25 C in S/cm, mean and sd), ``objective``
(synthesis, conductivity or both) and ``signal`` (what the surrogate learned from).
Rows stored before this revision keep them NULL. ``strategy`` and ``reason`` exist already.

Plain ``ADD COLUMN`` on every backend (nullable, no constraint); downgrade drops them
(SQLite >= 3.35 drops a column in place).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "proposals"
COLUMNS: tuple[tuple[str, sa.types.TypeEngine], ...] = (
    ("p_forms", sa.Float()),
    ("p_forms_sd", sa.Float()),
    ("log10_sigma_s_cm", sa.Float()),
    ("log10_sigma_sd", sa.Float()),
    ("objective", sa.String()),
    ("signal", sa.String()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column(TABLE, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {name}")
