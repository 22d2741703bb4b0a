"""The web page's people: users, API tokens, browser sessions, failed logins."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from registry.tables.base import RegistryModel, ts_field
from registry.types import UTCDateTime

#: Roles of a user, each allowed what the ones before it are: viewer reads; lab records and
#: claims; admin also manages users.
USER_ROLES = ("viewer", "lab", "admin")


class UserRow(RegistryModel, table=True):
    """A person who logs in to the web page or calls its API. Secrets are kept only as
    hashes: the password with argon2id, the API token (random, 256 bits) with SHA-256."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in USER_ROLES) + ")", name="role_known"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    password_hash: str
    token_sha256: str | None = Field(default=None, unique=True)
    token_created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled: bool = False
    created_at: datetime = ts_field()
    created_by: str


class WebSessionRow(RegistryModel, table=True):
    """A browser session after a password login: the cookie's SHA-256 (never the cookie),
    the CSRF token every form of the session carries, and when it ends."""

    __tablename__ = "web_sessions"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str
    client: str | None = None
    created_at: datetime = ts_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LoginFailureRow(RegistryModel, table=True):
    """A failed password login: the name tried and the client address (rate limiting, in
    the database so that every worker of the web page counts the same failures)."""

    __tablename__ = "login_failures"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    client: str = Field(index=True)
    at: datetime = ts_field(index=True)
