"""The users tables of migration 0003 on SQLite and PostgreSQL: the repository keeps only
hashes, refuses unknown roles (also in the database), expires sessions, counts failed logins;
the migration goes up from 0002 and back down."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from registry_fixtures import *  # noqa: F403  (the any_url fixture)

from loop.errors import ValidationError
from nasicon import accounts
from registry import ConflictError, NotFoundError, Registry
from registry.migrations import upgrade
from registry.types import utcnow


def test_users_sessions_and_failures(any_url: str) -> None:
    reg = Registry.from_url(any_url, check_schema=False)
    reg.init_schema()
    try:
        user, token = accounts.add_user(reg, "ann", "lab", "long enough 1", created_by="root")
        assert user.role == "lab" and user.has_token and token.startswith("nsk_")
        with pytest.raises(ConflictError, match="user 'ann' exists already"):
            accounts.add_user(reg, "ann", "admin", "long enough 2", created_by="root")
        with pytest.raises(ValidationError, match="role 'boss' is not one of"):
            accounts.add_user(reg, "bob", "boss", "long enough 3", created_by="root")
        with pytest.raises(ValidationError, match="user name"):
            accounts.add_user(reg, "../x", "lab", "long enough 3", created_by="root")
        assert accounts.user_for_token(reg, token) == user
        assert accounts.user_for_token(reg, token + "x") is None
        with reg.unit_of_work(write=False) as uow:  # the secrets are not stored
            row = uow.session.execute(sa.text("SELECT * FROM users")).mappings().one()
        assert token not in str(dict(row)) and "long enough 1" not in str(dict(row))
        assert row["password_hash"].startswith("$argon2id$")
        with pytest.raises(sa.exc.IntegrityError), reg.engine.begin() as conn:  # the database
            conn.execute(sa.text("UPDATE users SET role = 'boss'"))
        with pytest.raises(NotFoundError, match="there is no user 'nobody'"):
            accounts.rotate_token(reg, "nobody")

        now = utcnow()
        reg.run(lambda uow: uow.users.open_session(
            user.id, token_sha256="a" * 64, csrf_token="c", expires_at=now + timedelta(hours=1),
            client="127.0.0.1"))  # fmt: skip
        reg.run(lambda uow: uow.users.open_session(
            user.id, token_sha256="b" * 64, csrf_token="d", expires_at=now - timedelta(hours=1),
            client="127.0.0.1"))  # fmt: skip
        live = reg.run(lambda uow: uow.users.session_of("a" * 64), write=False)
        assert live is not None and live.user.name == "ann" and live.csrf_token == "c"
        assert reg.run(lambda uow: uow.users.session_of("b" * 64), write=False) is None
        accounts.set_disabled(reg, "ann")  # ends the sessions
        assert reg.run(lambda uow: uow.users.session_of("a" * 64), write=False) is None

        for _ in range(3):
            reg.run(lambda uow: uow.users.add_failure("ann", "10.0.0.1"))
        since = now - timedelta(minutes=1)
        counts = reg.run(lambda uow: uow.users.failures_since(since, name="ann", client="x"),
                         write=False)  # fmt: skip
        assert counts == (3, 0)
        reg.run(lambda uow: uow.users.forget_failures(now - timedelta(days=1), "ann"))
        counts = reg.run(lambda uow: uow.users.failures_since(since, name="ann",
                                                              client="10.0.0.1"), write=False)
        assert counts == (0, 0)
    finally:
        reg.close()


def test_migration_0003_up_from_0002_and_down(any_url: str) -> None:
    upgrade(any_url, "0002")
    engine = sa.create_engine(any_url)
    try:
        assert "users" not in sa.inspect(engine).get_table_names()
        upgrade(any_url, "0003")
        assert {"users", "web_sessions", "login_failures"} <= set(
            sa.inspect(engine).get_table_names()
        )
        from alembic import command

        from registry.migrations import alembic_config

        command.downgrade(alembic_config(any_url), "0002")
        assert "users" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
