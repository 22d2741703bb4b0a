"""Migration 0006: sample ids are unique regardless of case within a campaign, enforced by
a unique index on (campaign_id, lower(sample_id)); a registry already holding ``S001`` and
``s001`` in one campaign is not upgraded (one line naming them, nothing changed), and the
downgrade removes the index again. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from cli_runner import run_cli
from registry_fixtures import *  # noqa: F403  (the any_url fixture)

from registry.errors import ConflictError
from registry.migrations import alembic_config, current_revision, head_revision, upgrade

_CAMPAIGN = "INSERT INTO campaigns (name, created_at) VALUES (:name, CURRENT_TIMESTAMP)"
_COMPOSITION = (
    "INSERT INTO compositions (formula, na, m_site, a_site, descriptors, descriptors_version, "
    "created_at) VALUES ('Na3Zr2Si2PO12', 3, '[]', '[]', '{}', 'v', CURRENT_TIMESTAMP)"
)
_SAMPLE = (
    "INSERT INTO samples (campaign_id, sample_id, composition_id, source, created_at, "
    "created_by) VALUES (:campaign, :sid, 1, 'bench', CURRENT_TIMESTAMP, 'ann')"
)


def _at_0005_with(url: str, *samples: tuple[int, str]) -> sa.Engine:
    """A registry at revision 0005 with campaigns 1 (default) and 2 (other) and ``samples``."""
    upgrade(url, "0005")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(_CAMPAIGN), [{"name": "default"}, {"name": "other"}])
        conn.execute(sa.text(_COMPOSITION))
        for campaign, sid in samples:
            conn.execute(sa.text(_SAMPLE), {"campaign": campaign, "sid": sid})
    return engine


def _indexes(engine: sa.Engine) -> set[str]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes
        return {i["name"] for i in sa.inspect(engine).get_indexes("samples")}


def test_the_database_refuses_an_id_differing_only_by_case(any_url: str) -> None:
    engine = _at_0005_with(any_url, (1, "S001"), (2, "s001"))  # two campaigns: allowed
    try:
        assert upgrade(any_url, "0006") == "0006" == head_revision()
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(_SAMPLE), {"campaign": 1, "sid": "s001"})
        with engine.begin() as conn:
            conn.execute(sa.text(_SAMPLE), {"campaign": 1, "sid": "S002"})
        command.downgrade(alembic_config(any_url), "0005")
        assert current_revision(engine) == "0005"
        with engine.begin() as conn:  # the downgrade removed the index
            conn.execute(sa.text(_SAMPLE), {"campaign": 1, "sid": "s002"})
            assert conn.execute(sa.text("SELECT count(*) FROM samples")).scalar() == 4
    finally:
        engine.dispose()


def test_an_upgrade_over_ids_differing_by_case_stops_in_one_line(any_url: str) -> None:
    engine = _at_0005_with(any_url, (1, "S001"), (1, "s001"), (1, "S002"), (2, "x-1"))
    try:
        with pytest.raises(ConflictError) as info:
            upgrade(any_url)
        message = str(info.value)
        assert "\n" not in message
        assert "campaign 'default': 'S001' (samples row 1) and 's001' (samples row 2)" in message
        assert "S002" not in message and "not merged" in message
        assert current_revision(engine) == "0005"  # one transaction: nothing changed
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM samples")).scalar() == 4
    finally:
        engine.dispose()


def test_db_upgrade_names_the_clash_and_exits_2(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    _at_0005_with(url, (2, "Ab-7"), (2, "AB-7")).dispose()
    run = run_cli(["--db", url, "db", "upgrade"], cwd=tmp_path)
    message = run.error_message()
    assert "campaign 'other': 'Ab-7' (samples row 1) and 'AB-7' (samples row 2)" in message
    with sa.create_engine(url).connect() as conn:
        assert current_revision(conn.engine) == "0005"
