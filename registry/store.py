"""The :class:`Registry`: the lab's records on SQLite or PostgreSQL, one unit of work at a time.

Guarantees (the contract tests check them on both databases):

* A unit of work (:meth:`Registry.unit_of_work`) is one transaction: it commits
  completely or changes nothing. Its repositories (``uow.outcomes``, ``uow.proposals``,
  ... see :mod:`registry.repositories`) hold every query. A write unit takes the write
  lock at BEGIN (SQLite); a busy file there is retried with jittered exponential
  backoff. :meth:`Registry.run` re-runs a whole unit of work when the database reports a
  transient conflict later on (PostgreSQL serialization failure or deadlock, a
  concurrent insert of the same key), so concurrent writers queue instead of failing.
* A read-only unit (``write=False``) sees one consistent snapshot and cannot write.
* Returned objects are frozen snapshots (:mod:`registry.snapshots`), detached from the
  database.
* Outcome records are immutable: corrections and retractions are new rows; the
  database refuses UPDATE and DELETE on them.
* Database errors surface as :class:`registry.errors.RegistryError` with one sentence
  that says what to do (unreachable server, missing or outdated schema, busy file).

Construct it with an engine (``Registry(engine)``) or a URL (``Registry.from_url``) and
pass it around; there is no module-level session factory.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from loop.settings import NasiconConfig
from registry import migrations
from registry.engine import (
    display_url,
    is_sqlite,
    make_engine,
    parse_url,
    read_engine,
    write_engine,
)
from registry.errors import (
    ConflictError,
    RegistryBusyError,
    RegistryError,
    RegistryUnavailableError,
    SchemaVersionError,
)
from registry.repositories import DEFAULT_CAMPAIGN
from registry.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")

_PG_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
#: admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now, connection_failure
_PG_DISCONNECT_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08003", "08006"}
#: A unit of work whose connection dropped is re-run on a new connection this many times.
MAX_DISCONNECT_RETRIES = 3


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Registry:
    """The experiment registry over one database.

    Args:
        engine: SQLAlchemy engine (see :func:`registry.engine.make_engine`).
        check_schema: verify at construction that the schema is at the newest revision.
        claim_hours: how long a queue claim holds unless the caller says otherwise, h.
        max_wait_s: how long a transaction keeps retrying a busy database (SQLite lock,
            PostgreSQL serialization failure or deadlock) before the error is reported, s.
        busy_timeout_s: the SQLite busy timeout the engine was made with (for messages), s.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        check_schema: bool = True,
        claim_hours: float = 72.0,
        max_wait_s: float = 120.0,
        busy_timeout_s: float | None = None,
    ) -> None:
        self.engine = engine
        self._writer = write_engine(engine)
        self._reader = read_engine(engine)
        self.claim_hours = claim_hours
        self.max_wait_s = max_wait_s
        self.busy_timeout_s = busy_timeout_s
        self.retries = 0  # transactions retried so far (busy / serialization / races)
        if check_schema:
            self.check_schema()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        busy_timeout_s: float = 30.0,
        check_schema: bool = True,
        claim_hours: float = 72.0,
    ) -> Registry:
        """Open the registry at ``url`` (``sqlite:///file.db``, ``postgresql+psycopg://...``).

        Raises:
            RegistryError: malformed URL; RegistryUnavailableError: cannot connect;
            SchemaVersionError: no schema or an outdated one (the message names the command).
        """
        parsed = parse_url(url)
        if check_schema and parsed.get_backend_name() == "sqlite" and parsed.database:
            path = Path(parsed.database)
            if parsed.database != ":memory:" and not path.exists():
                raise SchemaVersionError(
                    f"there is no registry database at {path}; create it with: "
                    + (
                        "nasicon init"
                        if str(url) == migrations.DEFAULT_URL
                        else f"nasicon --db '{url}' init"
                    )
                )
        engine = make_engine(parsed, busy_timeout_s=busy_timeout_s)
        try:
            return cls(
                engine,
                check_schema=check_schema,
                claim_hours=claim_hours,
                busy_timeout_s=busy_timeout_s,
            )
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def from_config(cls, config: NasiconConfig, *, check_schema: bool = True) -> Registry:
        """Open the registry configured in ``config`` (database URL, busy timeout, claim time)."""
        return cls.from_url(
            config.database.url,
            busy_timeout_s=config.database.busy_timeout_s,
            check_schema=check_schema,
            claim_hours=config.queue.claim_hours,
        )

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return display_url(self.engine.url)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------

    def init_schema(self) -> str:
        """Create or upgrade the schema to the newest revision (alembic); returns it."""
        try:
            revision = migrations.upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc
        self.run(lambda uow: uow.campaigns.ensure(DEFAULT_CAMPAIGN))
        return revision

    def check_schema(self) -> str:
        """The schema revision; raises SchemaVersionError unless it is the newest."""
        try:
            return migrations.check_schema(self.engine)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    def schema_revision(self) -> str | None:
        """The stored schema revision (None: no registry schema)."""
        try:
            return migrations.current_revision(self.engine)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    # -- transactions -------------------------------------------------------------------

    def _translate(self, exc: SQLAlchemyError, *, write: bool = True) -> RegistryError:
        msg = _first_line(exc)
        low = msg.lower()
        sqlite = is_sqlite(self.engine)
        if "immutable" in low:
            return RegistryError(
                f"{msg.split(':')[0]}: stored results are never changed; "
                "record a correction (--supersedes) or a retraction instead"
            )
        if not write and ("readonly" in low or "read-only" in low):
            return RegistryError(
                f"a read-only unit of work tried to write ({msg}); "
                "open it with registry.unit_of_work() to write"
            )
        if isinstance(exc, IntegrityError):
            return ConflictError(f"the registry refused the write ({msg})")
        if sqlite and ("locked" in low or "busy" in low):
            return RegistryBusyError(
                f"the registry database {self.url} stayed locked by another writer "
                f"for more than {self.max_wait_s:g} s; try again in a moment"
            )
        if sqlite and "unable to open database file" in low:
            return RegistryUnavailableError(
                f"cannot open the SQLite registry file {self.engine.url.database}: "
                "check that its folder exists and is writable"
            )
        if "no such table" in low or ("does not exist" in low and "relation" in low):
            return SchemaVersionError(
                f"the registry database {self.url} lacks the registry tables ({msg}); "
                "run: nasicon db upgrade"
            )
        if (
            isinstance(exc, OperationalError | DBAPIError)
            and not sqlite
            and ("connect" in low or "connection" in low or "timeout" in low or "server" in low)
        ):
            return RegistryUnavailableError(
                f"cannot reach the registry database {self.url} ({msg}); check --db / "
                "NASICON_DB and that the server is running"
            )
        return RegistryError(f"registry database error at {self.url}: {msg}")

    def _retryable(self, exc: SQLAlchemyError, attempt: int, started: float) -> bool:
        if isinstance(exc, IntegrityError):
            return attempt <= 2  # a concurrent insert of the same key: re-run, then see it
        if not isinstance(exc, OperationalError | DBAPIError):
            return False
        if time.monotonic() - started > self.max_wait_s:
            return False
        if is_sqlite(self.engine):
            low = _first_line(exc).lower()
            return "locked" in low or "busy" in low
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if getattr(exc, "connection_invalidated", False) or sqlstate in _PG_DISCONNECT_SQLSTATES:
            # the server dropped the connection (restart, pg_terminate_backend, network):
            # the transaction was rolled back there, so the unit is re-run whole, a few times
            return attempt <= MAX_DISCONNECT_RETRIES
        return sqlstate in _PG_RETRY_SQLSTATES

    def _backoff(self, attempt: int, exc: SQLAlchemyError) -> None:
        self.retries += 1
        delay = min(0.005 * 2**attempt, 0.25) * (0.5 + random.random())
        log.info("registry busy (%s); retry %d in %.3f s", _first_line(exc), attempt, delay)
        time.sleep(delay)

    def _begin(self, session: Session, started: float) -> None:
        """Start the transaction (for SQLite writes: take the write lock), retrying a busy
        database with backoff."""
        attempt = 0
        while True:
            attempt += 1
            try:
                session.connection()  # BEGIN (IMMEDIATE for SQLite writes)
                return
            except SQLAlchemyError as exc:
                session.rollback()
                if self._retryable(exc, attempt, started):
                    self._backoff(attempt, exc)
                    continue
                raise self._translate(exc) from exc

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        """One transaction over the repositories: commits at the end, rolls back on any error.

        Args:
            write: False opens a read-only unit: one consistent snapshot, and the database
                refuses writes in it (with an engine from :func:`registry.engine.make_engine`).

        The transaction starts (and for SQLite writes takes the write lock) before the
        block runs; a busy database is retried with backoff at that point. Database
        errors leave as :class:`RegistryError`. To re-run the whole unit on a transient
        conflict later in the transaction, use :meth:`run`.
        """
        engine = self._writer if write else self._reader
        session = Session(engine, expire_on_commit=False)
        try:
            self._begin(session, time.monotonic())
            yield UnitOfWork(session, writable=write, claim_hours=self.claim_hours)
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise self._translate(exc, write=write) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[UnitOfWork], T], *, write: bool = True) -> T:
        """``work(uow)`` in one unit of work, re-run whole on a transient conflict.

        A busy SQLite file, a PostgreSQL serialization failure or deadlock, or a concurrent
        insert of the same key rolls the unit back and runs ``work`` again (with backoff,
        for up to ``max_wait_s``), so ``work`` must only touch the database.
        """
        engine = self._writer if write else self._reader
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                with Session(engine, expire_on_commit=False) as session:
                    self._begin(session, started)
                    result = work(UnitOfWork(session, writable=write, claim_hours=self.claim_hours))
                    session.commit()
                    return result
            except SQLAlchemyError as exc:
                if self._retryable(exc, attempt, started):
                    self._backoff(attempt, exc)
                    continue
                raise self._translate(exc, write=write) from exc
