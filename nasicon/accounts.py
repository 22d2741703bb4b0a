"""Users of the web page: passwords, API tokens, browser logins and their rate limit.

Shared by ``nasicon users ...`` and the web page (:mod:`nasicon.web`). Secrets are never
stored: a password is kept as its argon2id hash (pwdlib's recommended parameters); an API
token and a session cookie are 256-bit random strings kept as their SHA-256 (a fast hash
is enough for random secrets of that size, and lets the database look them up). Failed
logins are rows in the registry, so every worker of the page counts the same ones.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from loop.errors import NasiconError, ValidationError

if TYPE_CHECKING:
    from pwdlib import PasswordHash

    from loop.settings import WebConfig
    from registry import Registry, UnitOfWork
    from registry.repositories import UserRecord, WebSession

log = logging.getLogger(__name__)

#: User names: a letter or digit, then letters, digits, '.', '_', '@' or '-'; 1-64 characters.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
TOKEN_PREFIX = "nsk_"


class LoginRefused(NasiconError):
    """A password login that did not succeed; ``status`` is 401 (wrong name or password)
    or 429 (too many failed logins)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown (same time as a known name)."""
    return _hasher().hash(secrets.token_urlsafe(16))


def check_name(name: str) -> str:
    """``name`` if it is a valid user name.

    Raises:
        ValidationError: anything else.
    """
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ValidationError(
            f"user name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    """``password`` if it is long enough (and not absurdly long).

    Raises:
        ValidationError: shorter than :data:`MIN_PASSWORD` or longer than MAX_PASSWORD.
    """
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"the password must have at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (after :func:`check_password`)."""
    return _hasher().hash(check_password(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches ``password_hash`` (None: always False, same time)."""
    try:
        ok = _hasher().verify(password[:MAX_PASSWORD], password_hash or _dummy_hash())
    except Exception:  # a malformed stored hash is a failed login, not a crash
        log.warning("a stored password hash could not be read")
        return False
    return ok and password_hash is not None


def new_secret(prefix: str = "") -> str:
    """A random 256-bit secret (URL-safe text)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 (hex) of a random secret: what the registry keeps of a token or cookie."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (None never matches)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


# -- user management (nasicon users ..., the admin page) ---------------------------------


def add_user(
    registry: Registry, name: str, role: str, password: str, *, created_by: str
) -> tuple[UserRecord, str]:
    """Add a user with a password and a new API token; returns the user and the token
    (shown once: only its hash is kept).

    Raises:
        ValidationError: bad name, role or password; ConflictError: the name is taken.
    """
    from registry.repositories.users import check_role

    check_name(name)
    check_role(role)
    password_hash = hash_password(password)
    token = new_secret(TOKEN_PREFIX)
    user = registry.run(
        lambda uow: uow.users.add(
            name, role, password_hash=password_hash, token_sha256=digest(token),
            created_by=created_by,
        )
    )  # fmt: skip
    log.info("user %s (%s) added by %s", name, role, created_by)
    return user, token


def rotate_token(registry: Registry, name: str) -> tuple[UserRecord, str]:
    """A new API token for ``name`` (the old one stops working); returns user and token."""
    token = new_secret(TOKEN_PREFIX)
    user = registry.run(lambda uow: uow.users.set_token(name, digest(token)))
    return user, token


def set_password(registry: Registry, name: str, password: str) -> UserRecord:
    """Give ``name`` a new password (its browser sessions end)."""
    password_hash = hash_password(password)
    return registry.run(lambda uow: uow.users.set_password(name, password_hash))


def set_disabled(registry: Registry, name: str, disabled: bool = True) -> UserRecord:
    """Disable ``name`` (its sessions end, its token stops working) or enable it again."""
    return registry.run(lambda uow: uow.users.set_disabled(name, disabled))


def list_users(registry: Registry) -> list[UserRecord]:
    """Every user, by name."""
    return registry.run(lambda uow: uow.users.all(), write=False)


def user_for_token(registry: Registry, token: str) -> UserRecord | None:
    """The enabled user whose API token this is, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return registry.run(lambda uow: uow.users.by_token(digest(token)), write=False)


# -- browser logins -----------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """A successful password login: the user and the new session's cookie value (secret)."""

    user: UserRecord
    cookie: str


def _counts(uow: UnitOfWork, name: str, client: str, web: WebConfig) -> tuple[int, int]:
    from registry.types import utcnow

    since = utcnow() - timedelta(minutes=web.failed_login_window_minutes)
    return uow.users.failures_since(since, name=name, client=client)


def login(registry: Registry, name: str, password: str, client: str, web: WebConfig) -> Login:
    """Check a password and open a browser session of ``web.session_hours``.

    Failed logins are counted per name and per client address over the last
    ``web.failed_login_window_minutes``; at ``max_failed_logins_per_user`` (or
    ``..._per_client``) further attempts are refused without checking the password until
    the window has moved on. A success forgets the name's failures.

    Raises:
        LoginRefused: wrong name or password (401), or too many failures (429).
    """
    from registry.types import utcnow

    name = (name or "").strip()[:64]
    client = (client or "unknown")[:100]
    per_name, per_client = registry.run(lambda uow: _counts(uow, name, client, web), write=False)
    if per_name >= web.max_failed_logins_per_user or per_client >= web.max_failed_logins_per_client:
        minutes = f"{web.failed_login_window_minutes:g}"
        raise LoginRefused(f"too many failed logins; try again in {minutes} minutes", 429)
    found = registry.run(lambda uow: uow.users.password_hash(name), write=False)
    user, stored = found if found is not None else (None, None)
    if not verify_password(password or "", stored) or user is None or user.disabled:
        registry.run(lambda uow: uow.users.add_failure(name, client))
        log.info("failed login for %r from %s", name, client)
        raise LoginRefused("wrong user name or password", 401)
    cookie = new_secret()
    now = utcnow()
    window = timedelta(minutes=web.failed_login_window_minutes)

    def open_session(uow: UnitOfWork) -> None:
        uow.users.forget_failures(now - window, name)
        uow.users.open_session(
            user.id, token_sha256=digest(cookie), csrf_token=new_secret(),
            expires_at=now + timedelta(hours=web.session_hours), client=client,
        )  # fmt: skip

    registry.run(open_session)
    log.info("%s logged in from %s", name, client)
    return Login(user, cookie)


def session_for_cookie(registry: Registry, cookie: str | None) -> WebSession | None:
    """The open session of this cookie value, or None (unknown, expired, user disabled)."""
    if not cookie or len(cookie) > 200:
        return None
    return registry.run(lambda uow: uow.users.session_of(digest(cookie)), write=False)


def logout(registry: Registry, cookie: str | None) -> None:
    """End the session of this cookie value (nothing if there is none)."""
    if cookie and len(cookie) <= 200:
        registry.run(lambda uow: uow.users.close_session(digest(cookie)))
