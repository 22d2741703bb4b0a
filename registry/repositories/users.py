"""The web page's people: users and their roles, API token hashes, browser sessions and
failed logins. Secrets never reach this module: callers hand in hashes (see
:mod:`nasicon.accounts`), and a snapshot never carries one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from loop.errors import ValidationError
from registry.errors import ConflictError, NotFoundError
from registry.repositories.base import Repository
from registry.tables import USER_ROLES, LoginFailureRow, UserRow, WebSessionRow
from registry.types import utcnow


@dataclass(frozen=True)
class UserRecord:
    """A user as the page sees one (no password or token hash)."""

    id: int
    name: str
    role: str
    disabled: bool
    has_token: bool
    token_created_at: datetime | None
    created_at: datetime
    created_by: str

    def may(self, role: str) -> bool:
        """Whether this user holds ``role`` or a role above it (viewer < lab < admin)."""
        return not self.disabled and USER_ROLES.index(self.role) >= USER_ROLES.index(role)


@dataclass(frozen=True)
class WebSession:
    """An open browser session: its user and the CSRF token of its forms."""

    id: int
    user: UserRecord
    csrf_token: str
    expires_at: datetime


def to_record(row: UserRow) -> UserRecord:
    """Snapshot of a user row."""
    assert row.id is not None
    return UserRecord(
        id=row.id,
        name=row.name,
        role=row.role,
        disabled=row.disabled,
        has_token=row.token_sha256 is not None,
        token_created_at=row.token_created_at,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`registry.tables.USER_ROLES`.

    Raises:
        ValidationError: any other role.
    """
    if role not in USER_ROLES:
        raise ValidationError(f"role {role!r} is not one of {', '.join(USER_ROLES)}")
    return role


class UserRepository(Repository):
    """The ``users``, ``web_sessions`` and ``login_failures`` tables."""

    # -- users ----------------------------------------------------------------------------

    def _row(self, name: str) -> UserRow:
        row = self.session.execute(sa.select(UserRow).where(UserRow.name == name)).scalar()
        if row is None:
            raise NotFoundError(f"there is no user {name!r}; add one with: nasicon users add")
        return row

    def add(
        self,
        name: str,
        role: str,
        *,
        password_hash: str,
        token_sha256: str | None,
        created_by: str,
    ) -> UserRecord:
        """Add user ``name`` with ``role``.

        Raises:
            ValidationError: unknown role; ConflictError: the name is taken.
        """
        check_role(role)
        if self.session.execute(sa.select(UserRow.id).where(UserRow.name == name)).first():
            raise ConflictError(f"user {name!r} exists already")
        now = utcnow()
        row = UserRow(
            name=name,
            role=role,
            password_hash=password_hash,
            token_sha256=token_sha256,
            token_created_at=now if token_sha256 else None,
            created_at=now,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        return to_record(row)

    def get(self, name: str) -> UserRecord:
        """User ``name`` (NotFoundError when there is none)."""
        return to_record(self._row(name))

    def all(self) -> list[UserRecord]:
        """Every user, by name."""
        rows = self.session.execute(sa.select(UserRow).order_by(UserRow.name)).scalars()
        return [to_record(r) for r in rows]

    def count(self) -> int:
        """How many users there are."""
        return self.session.execute(sa.select(sa.func.count(UserRow.id))).scalar_one()

    def password_hash(self, name: str) -> tuple[UserRecord, str] | None:
        """The user ``name`` and its password hash (None: no such user)."""
        row = self.session.execute(sa.select(UserRow).where(UserRow.name == name)).scalar()
        return None if row is None else (to_record(row), row.password_hash)

    def by_token(self, token_sha256: str) -> UserRecord | None:
        """The enabled user whose API token has this SHA-256, or None."""
        stmt = sa.select(UserRow).where(
            UserRow.token_sha256 == token_sha256, UserRow.disabled.is_(False)
        )
        row = self.session.execute(stmt).scalar()
        return None if row is None else to_record(row)

    def set_token(self, name: str, token_sha256: str) -> UserRecord:
        """Give ``name`` a new API token (the old one stops working)."""
        row = self._row(name)
        row.token_sha256 = token_sha256
        row.token_created_at = utcnow()
        self.session.flush()
        return to_record(row)

    def set_password(self, name: str, password_hash: str) -> UserRecord:
        """Give ``name`` a new password hash and end its browser sessions."""
        row = self._row(name)
        row.password_hash = password_hash
        self._end_sessions(row.id)
        self.session.flush()
        return to_record(row)

    def set_disabled(self, name: str, disabled: bool = True) -> UserRecord:
        """Disable (or enable again) user ``name``; disabling ends its browser sessions."""
        row = self._row(name)
        row.disabled = disabled
        if disabled:
            self._end_sessions(row.id)
        self.session.flush()
        return to_record(row)

    # -- browser sessions -------------------------------------------------------------------

    def _end_sessions(self, user_id: int | None) -> None:
        self.session.execute(sa.delete(WebSessionRow).where(WebSessionRow.user_id == user_id))

    def open_session(
        self,
        user_id: int,
        *,
        token_sha256: str,
        csrf_token: str,
        expires_at: datetime,
        client: str | None,
    ) -> None:
        """Store a new browser session (and drop the sessions that have expired)."""
        now = utcnow()
        self.session.execute(sa.delete(WebSessionRow).where(WebSessionRow.expires_at < now))
        self.session.add(
            WebSessionRow(
                token_sha256=token_sha256,
                user_id=user_id,
                csrf_token=csrf_token,
                client=client,
                created_at=now,
                expires_at=expires_at,
            )
        )
        self.session.flush()

    def session_of(self, token_sha256: str) -> WebSession | None:
        """The unexpired session of an enabled user whose cookie has this SHA-256, or None."""
        stmt = (
            sa.select(WebSessionRow, UserRow)
            .join(UserRow, UserRow.id == WebSessionRow.user_id)
            .where(
                WebSessionRow.token_sha256 == token_sha256,
                WebSessionRow.expires_at > utcnow(),
                UserRow.disabled.is_(False),
            )
        )
        found = self.session.execute(stmt).first()
        if found is None:
            return None
        sess, user = found
        assert sess.id is not None
        return WebSession(sess.id, to_record(user), sess.csrf_token, sess.expires_at)

    def close_session(self, token_sha256: str) -> None:
        """End the session whose cookie has this SHA-256 (nothing if there is none)."""
        self.session.execute(
            sa.delete(WebSessionRow).where(WebSessionRow.token_sha256 == token_sha256)
        )

    # -- failed logins ----------------------------------------------------------------------

    def add_failure(self, name: str, client: str) -> None:
        """Remember a failed login of ``name`` from ``client``."""
        self.session.add(LoginFailureRow(name=name, client=client, at=utcnow()))
        self.session.flush()

    def failures_since(self, since: datetime, *, name: str, client: str) -> tuple[int, int]:
        """Failed logins since ``since``: (of ``name`` from anywhere, from ``client``)."""

        def count(cond: sa.ColumnElement[bool]) -> int:
            stmt = sa.select(sa.func.count(LoginFailureRow.id)).where(
                LoginFailureRow.at >= since, cond
            )
            return self.session.execute(stmt).scalar_one()

        return count(LoginFailureRow.name == name), count(LoginFailureRow.client == client)

    def forget_failures(self, before: datetime, name: str | None = None) -> None:
        """Drop failed logins older than ``before`` (and every one of ``name``, if given)."""
        cond = LoginFailureRow.at < before
        if name is not None:
            cond = sa.or_(cond, LoginFailureRow.name == name)
        self.session.execute(sa.delete(LoginFailureRow).where(cond))
