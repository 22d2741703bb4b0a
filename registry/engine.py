"""Database URL -> SQLAlchemy engine with the settings the registry relies on.

SQLite files get write-ahead logging (readers never block the writer), foreign keys,
a busy timeout, full fsync on commit and ``BEGIN IMMEDIATE`` for write transactions
(the write lock is taken up front, so two writers queue instead of deadlocking on a
lock upgrade). Read-only transaction views (:func:`read_engine`) refuse writes on both
databases (``PRAGMA query_only`` on SQLite; ``READ ONLY`` and one snapshot, ``REPEATABLE
READ``, on PostgreSQL). ``sqlite://`` is a private in-memory database for quick experiments.
PostgreSQL URLs (``postgresql://`` is read as ``postgresql+psycopg://``) get a connect
timeout and pre-ping. Nothing here creates, drops or alters tables: other tools that
share the database (optuna's RDB storage) keep their own tables untouched.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from registry.errors import RegistryError

log = logging.getLogger(__name__)

#: Execution option read by the ``begin`` hook: "IMMEDIATE" for write transactions.
BEGIN_OPTION = "nasicon_sqlite_begin"
#: Execution option read by the ``begin`` hooks: the transaction may not write.
READ_ONLY_OPTION = "nasicon_read_only"
POSTGRES_CONNECT_TIMEOUT_S = 10


def application_name() -> str:
    """``application_name`` of this process's PostgreSQL connections: ``nasicon:<pid>`` (so
    ``pg_stat_activity`` tells which process holds which connection)."""
    return f"nasicon:{os.getpid()}"


def parse_url(url: str | URL) -> URL:
    """Parse a database URL, defaulting PostgreSQL to the psycopg 3 driver.

    Raises:
        RegistryError: the text is not a SQLAlchemy URL or names an unsupported database.
    """
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        raise RegistryError(
            f"{url!r} is not a database URL (e.g. sqlite:///nasicon.db or "
            "postgresql+psycopg://user@host:5432/dbname)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise RegistryError(
            f"database {parsed.get_backend_name()!r} is not supported; use sqlite:///FILE or "
            "postgresql+psycopg://..."
        )
    return parsed


def display_url(url: str | URL) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def is_sqlite(engine_or_url: Engine | URL | str) -> bool:
    """Whether the engine or URL is SQLite."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else sa.make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _install_sqlite_hooks(engine: Engine, busy_timeout_s: float, memory: bool) -> None:
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook emit BEGIN itself (pysqlite's own is deferred-only).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        # set on every transaction, so a pooled connection never keeps a reader's setting
        read_only = 1 if options.get(READ_ONLY_OPTION) else 0
        connection.exec_driver_sql(f"PRAGMA query_only = {read_only}")
        connection.exec_driver_sql(f"BEGIN {options.get(BEGIN_OPTION, 'DEFERRED')}")


def _install_postgres_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def make_engine(url: str | URL, *, busy_timeout_s: float = 30.0, echo: bool = False) -> Engine:
    """Create the engine for ``url`` (no connection is made yet).

    Args:
        url: SQLAlchemy URL; ``sqlite:///path.db``, ``sqlite://`` (in memory) or
            ``postgresql+psycopg://user@host:port/db``.
        busy_timeout_s: how long a SQLite writer waits for the lock before the registry's
            retry loop takes over, s.
        echo: log every SQL statement.

    Raises:
        RegistryError: the URL is malformed or names an unsupported database.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = _sqlite_memory(parsed)
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": busy_timeout_s, "check_same_thread": False}
        }
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = sa.create_engine(parsed, echo=echo, **kwargs)
        _install_sqlite_hooks(engine, busy_timeout_s, memory)
    else:
        engine = sa.create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
                "application_name": application_name(),
            },
        )
        _install_postgres_hooks(engine)
    log.debug("engine for %s", display_url(parsed))
    return engine


def write_engine(engine: Engine) -> Engine:
    """A view of ``engine`` whose transactions take the write lock at BEGIN (SQLite)."""
    if engine.url.get_backend_name() == "sqlite":
        return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    return engine


def read_engine(engine: Engine) -> Engine:
    """A view of ``engine`` whose transactions are read-only (hooks of :func:`make_engine`)."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})
