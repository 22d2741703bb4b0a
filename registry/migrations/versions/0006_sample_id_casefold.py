"""Sample ids are unique case-insensitively within a campaign, enforced by the database.

A unique index ``uq_samples_campaign_sample_id_lower`` on ``(campaign_id, lower(sample_id))``
of ``samples`` (the only table holding sample ids; outcome rows point at ``samples.id``).
The code already refused a new ``s001`` next to ``S001`` (issue 17); now a writer that
bypasses it (a concurrent one, a script) is refused by the database too.

A registry that already holds two ids of one campaign differing only by case is NOT
merged: which one is right, and whether their records belong to one pellet, is for a person
to decide. The upgrade stops with one line naming the ids and their rows (and changes
nothing: the upgrade is one transaction); rename one, then upgrade again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_samples_campaign_sample_id_lower"
#: Clashes named in the refusal (the rest are counted).
SHOWN = 5


def case_clashes(conn: sa.Connection) -> list[tuple[str, list[tuple[int, str]]]]:
    """(campaign name, [(row id, sample id), ...]) for every group of ids of one campaign
    that differ only by case (as the database's ``lower()`` folds them)."""
    rows = conn.execute(
        sa.text(
            "SELECT s.id, s.sample_id, c.name FROM samples s "
            "JOIN campaigns c ON c.id = s.campaign_id "
            "WHERE EXISTS (SELECT 1 FROM samples t WHERE t.campaign_id = s.campaign_id "
            "AND t.id <> s.id AND lower(t.sample_id) = lower(s.sample_id)) "
            "ORDER BY c.name, lower(s.sample_id), s.id"
        )
    ).all()
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for pk, sample_id, campaign in rows:
        groups.setdefault((campaign, sample_id.lower()), []).append((pk, sample_id))
    return [(campaign, members) for (campaign, _), members in groups.items()]


def clash_message(clashes: list[tuple[str, list[tuple[int, str]]]]) -> str:
    """The one line that stops the upgrade."""
    shown = "; ".join(
        f"campaign {campaign!r}: "
        + " and ".join(f"{sid!r} (samples row {pk})" for pk, sid in members)
        for campaign, members in clashes[:SHOWN]
    )
    more = f"; and {len(clashes) - SHOWN} more" if len(clashes) > SHOWN else ""
    return (
        f"cannot make sample ids unique regardless of case (schema revision 0006): "
        f"{len(clashes)} group(s) of sample ids differ only by case: {shown}{more}; they "
        "are not merged automatically: rename one of each (UPDATE samples SET sample_id = "
        "'...' WHERE id = ...) and run nasicon db upgrade again (nothing was changed)"
    )


def upgrade() -> None:
    clashes = case_clashes(op.get_bind())
    if clashes:
        from registry.errors import ConflictError

        raise ConflictError(clash_message(clashes))
    op.create_index(
        INDEX, "samples", ["campaign_id", sa.text("lower(sample_id)")], unique=True
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="samples")
