"""Schema migrations (alembic): upgrade a database, read and check its schema revision.

``upgrade(url)`` is what ``nasicon init`` and ``nasicon db upgrade`` run. The registry
checks the revision when it connects (:func:`check_schema`) and names the exact
command to run when the database is empty or behind.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from registry.engine import display_url, make_engine, write_engine
from registry.errors import SchemaVersionError
from registry.migrations.settings import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent
DEFAULT_URL = "sqlite:///nasicon.db"
#: Arbitrary, fixed key of the PostgreSQL advisory lock that serialises upgrades.
_PG_LOCK_KEY = 748_213_001


def alembic_config(url: str | None = None) -> Config:
    """An alembic Config for the registry's migration scripts (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def script_directory() -> ScriptDirectory:
    """The registry's alembic scripts."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest schema revision this version of nasicon knows."""
    head = script_directory().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None: no registry schema)."""
    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def upgrade_command(url: str) -> str:
    """The exact shell command that upgrades the database at ``url``."""
    if url == DEFAULT_URL:
        return "nasicon db upgrade"
    return f"nasicon --db '{display_url(url)}' db upgrade"


def newer_than_code_message(shown_url: str, current: str) -> str:
    """The one line that refuses a database whose schema is newer than this code (optuna's
    pattern: name what to run)."""
    return (
        f"the registry database {shown_url} has schema revision {current}, newer than this "
        f"nasicon knows ({head_revision()}); upgrade the code: pip install --upgrade "
        "nasicon-loop (or git pull in a source checkout)"
    )


def is_known(revision: str) -> bool:
    """Whether this code has a migration script of ``revision``."""
    return revision in {rev.revision for rev in script_directory().walk_revisions()}


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (default: newest) in one transaction.

    Tables that are not the registry's (optuna's) are never touched. Concurrent
    upgrades of one database queue up (SQLite write lock, PostgreSQL advisory lock).

    Returns:
        The revision the database is at afterwards.
    """
    own = not isinstance(url_or_engine, Engine)
    engine = make_engine(url_or_engine) if own else url_or_engine
    try:
        cfg = alembic_config()
        with write_engine(engine).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            cfg.attributes["connection"] = conn
            stored = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
            if stored is not None and not is_known(stored):
                raise SchemaVersionError(newer_than_code_message(display_url(engine.url), stored))
            command.upgrade(cfg, revision)
        now = current_revision(engine)
        log.info("registry schema of %s at revision %s", display_url(engine.url), now)
        return now or "base"
    finally:
        if own:
            engine.dispose()


def check_schema(engine: Engine) -> str:
    """Raise unless the database holds the registry schema at the head revision.

    Raises:
        SchemaVersionError: empty database, schema behind (message has the upgrade
            command) or ahead of this version of nasicon.
    """
    url = engine.url.render_as_string(hide_password=False)
    shown = display_url(engine.url)
    head = head_revision()
    try:
        current = current_revision(engine)
    except SQLAlchemyError:
        raise  # the caller turns connection failures into a clear message
    if current == head:
        return current
    if current is None:
        tables = set(sa.inspect(engine).get_table_names())
        what = "is empty" if not tables else "has no nasicon registry schema"
        raise SchemaVersionError(
            f"the registry database {shown} {what}; create it with: "
            f"{upgrade_command(url).replace('db upgrade', 'init')}"
        )
    if not is_known(current):
        raise SchemaVersionError(newer_than_code_message(shown, current))
    raise SchemaVersionError(
        f"the registry database {shown} has schema revision {current}, behind {head}; "
        f"run: {upgrade_command(url)}"
    )
