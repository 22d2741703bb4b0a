"""Alembic migrations: the upgrade builds exactly the models' schema, the version is checked
at connect time with the command to run, and optuna's tables in the same database survive."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from registry_fixtures import *  # noqa: F403  (the any_url fixture)
from registry_fixtures import assert_one_error_line, invoke, run_nasicon

from registry import Registry, SchemaVersionError
from registry.migrations import VERSION_TABLE, check_schema, head_revision, upgrade
from registry.migrations.settings import include_object
from registry.tables import metadata


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_on_an_empty_database_creates_the_models_schema(any_url: str) -> None:
    assert upgrade(any_url) == head_revision()
    assert set(metadata.tables) | {VERSION_TABLE} <= _tables(any_url)
    engine = sa.create_engine(any_url)
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes
        ctx = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(ctx, metadata) == []  # migration == models
        assert check_schema(engine) == head_revision()
    engine.dispose()
    assert upgrade(any_url) == head_revision()  # a second upgrade is a no-op


def test_the_migrated_check_constraints_are_the_tables(any_url: str) -> None:
    """Autogenerate does not compare CHECK constraints: the shared ones of the audit mixin
    and each table's own must exist in the migrated database under the same names."""
    upgrade(any_url)
    engine = sa.create_engine(any_url)
    try:
        inspector = sa.inspect(engine)
        for table in metadata.sorted_tables:
            declared = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            stored = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert stored == declared, table.name
    finally:
        engine.dispose()


def test_an_empty_database_names_the_command_to_create_it(any_url: str) -> None:
    sa.create_engine(any_url).connect().close()  # an existing, empty database
    with pytest.raises(SchemaVersionError, match=r"is empty; create it with: nasicon --db .* init"):
        Registry.from_url(any_url)


def test_a_database_behind_names_the_upgrade_command(any_url: str) -> None:
    upgrade(any_url, "base")  # the version table exists but records no revision
    engine = sa.create_engine(any_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE lab_notes (id integer primary key)"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match=r"no nasicon registry schema.*init"):
        Registry.from_url(any_url)


def test_a_database_at_an_old_revision_names_the_upgrade_command(sqlite_url: str) -> None:
    upgrade(sqlite_url, "0001")
    head = head_revision()
    assert head != "0001"
    with pytest.raises(SchemaVersionError) as info:
        Registry.from_url(sqlite_url)
    assert f"nasicon --db '{sqlite_url}' db upgrade" in str(info.value)
    assert f"behind {head}" in str(info.value)


_XRD_0001 = (
    "INSERT INTO xrd_results (sample_pk, phase_pure, phases, is_retraction, recorded_by, "
    "recorded_at) VALUES (:pk, :pure, NULL, false, 'ann', CURRENT_TIMESTAMP)"
)


def test_upgrade_0001_to_0002_keeps_xrd_rows_and_their_immutability(any_url: str) -> None:
    """A registry with XRD rows at 0001 upgrades: rows kept (verdict NULL), the new check
    takes an inconclusive row without phase_pure, and the rows stay immutable."""
    upgrade(any_url, "0001")
    engine = sa.create_engine(any_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO campaigns (name, created_at) VALUES ('c', CURRENT_TIMESTAMP)")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO compositions (formula, na, m_site, a_site, descriptors, "
                    "descriptors_version, created_at) VALUES ('Na3Zr2Si2PO12', 3, '[]', '[]', "
                    "'{}', 'v', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO samples (campaign_id, sample_id, composition_id, source, "
                    "created_at, created_by) VALUES (1, 'S1', 1, 'bench', CURRENT_TIMESTAMP, 'ann')"
                )
            )
            conn.execute(sa.text(_XRD_0001), {"pk": 1, "pure": True})
            with pytest.raises(sa.exc.IntegrityError):  # 0001: a verdict needs phase_pure
                with conn.begin_nested():
                    conn.execute(sa.text(_XRD_0001), {"pk": 1, "pure": None})
        upgrade(any_url)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT phase_pure, verdict FROM xrd_results")).all()
            assert [(bool(r[0]), r[1]) for r in rows] == [(True, None)]
            conn.execute(
                sa.text(
                    "INSERT INTO xrd_results (sample_pk, verdict, verdict_reason, is_retraction, "
                    "recorded_by, recorded_at) VALUES (1, 'inconclusive', 'R_wp 40 %', false, "
                    "'ann', CURRENT_TIMESTAMP)"
                )
            )
        for sql in ("UPDATE xrd_results SET phase_pure = false", "DELETE FROM xrd_results"):
            with pytest.raises(sa.exc.DBAPIError, match="immutable"), engine.begin() as conn:
                conn.execute(sa.text(sql))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO xrd_results (sample_pk, verdict, is_retraction, recorded_by, "
                    "recorded_at) VALUES (1, 'maybe', false, 'ann', CURRENT_TIMESTAMP)"
                )
            )
        indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("xrd_results")}
        assert "ix_xrd_results_sample_pk" in indexes
    finally:
        engine.dispose()


def test_a_database_from_a_newer_nasicon_is_refused(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="newer than this nasicon knows"):
        Registry.from_url(sqlite_url)


def test_a_missing_sqlite_file_is_not_created_by_reading(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    with pytest.raises(SchemaVersionError, match=r"no registry database at .*nope\.db.* init"):
        Registry.from_url(url)
    assert not (tmp_path / "nope.db").exists()


def test_optuna_and_the_registry_share_a_database(any_url: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(any_url)
    study = optuna.create_study(study_name="before", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    upgrade(any_url)  # the registry's migration leaves optuna's tables and version alone
    reg = Registry.from_url(any_url)
    reg.init_schema()
    assert reg.run(lambda uow: uow.compositions.ensure("Na3Zr2Si2PO12")) > 0
    reg.close()
    after = optuna.load_study(study_name="before", storage=optuna.storages.RDBStorage(any_url))
    assert len(after.trials) == 2
    optuna.create_study(study_name="after", storage=optuna.storages.RDBStorage(any_url))
    assert {"studies", "trials", "alembic_version", VERSION_TABLE} <= _tables(any_url)
    storage.engine.dispose()


def test_nasicon_init_runs_the_migration_and_is_repeatable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    result = invoke(["--db", url, "init"])
    assert result.code == 0 and f"schema revision {head_revision()}" in result.output
    assert invoke(["--db", url, "init"]).code == 0
    assert set(metadata.tables) <= _tables(url)
    current = invoke(["--db", url, "db", "current"])
    assert "up to date" in current.output
    assert "nothing to do" in invoke(["--db", url, "db", "upgrade"]).output


def test_nasicon_on_an_empty_database_prints_the_command(tmp_path: Path) -> None:
    proc = run_nasicon(["queue", "list"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "there is no registry database", "nasicon init")
    assert not (tmp_path / "nasicon.db").exists()
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # an empty SQLite file
    proc = run_nasicon(["--db", f"sqlite:///{empty}", "queue", "list"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "is empty; create it with: nasicon --db")
