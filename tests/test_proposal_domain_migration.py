"""Migration 0004: proposals gain nullable ``in_domain`` / ``domain_reason``; rows stored
before keep NULL, the unique (round, composition) expression index still holds, and the
downgrade removes the two columns again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from registry_fixtures import *  # noqa: F403  (the any_url fixture)

from registry.migrations import alembic_config, current_revision, upgrade

_PROPOSAL = (
    "INSERT INTO proposals (round_number, composition_id, probabilities, strategy, status, "
    "status_changed_at, created_at) VALUES (1, 1, '{}', 'exploit', :status, CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP)"
)


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("proposals")}


def test_upgrade_0003_to_0004_keeps_proposals_and_their_unique_index(any_url: str) -> None:
    upgrade(any_url, "0003")
    engine = sa.create_engine(any_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO compositions (formula, na, m_site, a_site, descriptors, "
                    "descriptors_version, created_at) VALUES ('Na3Zr2Si2PO12', 3, '[]', '[]', "
                    "'{}', 'v', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(sa.text(_PROPOSAL), {"status": "queued"})
        assert "in_domain" not in _columns(engine)
        assert upgrade(any_url, "0004") == "0004"
        assert {"in_domain", "domain_reason"} <= _columns(engine)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT in_domain, domain_reason FROM proposals")).all()
            assert [tuple(r) for r in rows] == [(None, None)]
            conn.execute(sa.text("UPDATE proposals SET in_domain = false, domain_reason = 'x'"))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            # same round and composition (and open): refused by the indexes kept by the upgrade
            conn.execute(sa.text(_PROPOSAL), {"status": "abandoned"})
        command.downgrade(alembic_config(any_url), "0003")
        assert current_revision(engine) == "0003"
        assert not {"in_domain", "domain_reason"} & _columns(engine)
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM proposals")).scalar() == 1
    finally:
        engine.dispose()
