"""Campaigns: named lines of work that sample ids are unique within."""

from __future__ import annotations

import sqlalchemy as sa

from registry.errors import NotFoundError
from registry.repositories.base import Repository, insert_ignoring_duplicates
from registry.snapshots import CampaignRecord
from registry.tables import CampaignRow
from registry.types import utcnow

#: The campaign of bench samples recorded without one.
DEFAULT_CAMPAIGN = "default"


class CampaignRepository(Repository):
    """The ``campaigns`` table."""

    def ensure(self, name: str, description: str | None = None) -> int:
        """Id of campaign ``name``, created if new."""
        insert_ignoring_duplicates(
            self.session,
            CampaignRow.__table__,
            [{"name": name, "description": description, "created_at": utcnow()}],
            ["name"],
        )
        stmt = sa.select(CampaignRow.id).where(CampaignRow.name == name)
        return self.session.execute(stmt).scalar_one()

    def id_of(self, name: str) -> int:
        """Id of an existing campaign.

        Raises:
            NotFoundError: no such campaign (the message lists the known ones).
        """
        stmt = sa.select(CampaignRow.id).where(CampaignRow.name == name)
        found = self.session.execute(stmt).scalar()
        if found is None:
            known = ", ".join(self.session.execute(sa.select(CampaignRow.name)).scalars())
            raise NotFoundError(
                f"there is no campaign {name!r} (known: {known or 'none'}); create it with "
                f"`nasicon campaign add {name}`"
            )
        return found

    def all(self) -> list[CampaignRecord]:
        """Every campaign, oldest first."""
        rows = self.session.execute(sa.select(CampaignRow).order_by(CampaignRow.id)).scalars()
        return [CampaignRecord(r.id, r.name, r.description, r.created_at) for r in rows]
