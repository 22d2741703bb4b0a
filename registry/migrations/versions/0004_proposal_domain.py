"""Proposals say whether their composition lies in the training domain of the champion's
round: nullable ``in_domain`` (bool) and ``domain_reason`` (why not) on ``proposals``.

Rows stored before this revision keep both NULL (not checked). Plain ADD COLUMN on both
dialects: nothing is rebuilt, so the expression-based unique indexes of ``proposals`` stay
as they are (the table has no immutability triggers). The downgrade drops the two columns
(SQLite >= 3.35 drops a column in place).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "proposals"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("in_domain", sa.Boolean(), nullable=True))
    op.add_column(TABLE, sa.Column("domain_reason", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column(TABLE, "domain_reason")
    op.drop_column(TABLE, "in_domain")
