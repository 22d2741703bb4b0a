"""Who is asking: browser sessions (cookie), CSRF on every form, API tokens, roles.

* A browser logs in with a password and gets the cookie ``nasicon_session`` (HttpOnly,
  SameSite=Lax, Secure unless ``[web] secure_cookies = false`` / ``--insecure-cookies``);
  the registry keeps the cookie's SHA-256, its user, its expiry and its CSRF token.
* Every POST of a page carries the session's CSRF token in the form field ``csrf_token``
  (compared in constant time), and a cross-site ``Origin`` header is refused.
* The API takes ``Authorization: Bearer TOKEN`` only (no cookie, so no CSRF to worry about).
* Roles: viewer reads, lab records and claims, admin also manages users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Depends, Request

from nasicon.accounts import same_secret, session_for_cookie, user_for_token
from nasicon.web.context import web
from nasicon.web.errors import Forbidden, LoginRequired

if TYPE_CHECKING:
    from registry.repositories import UserRecord, WebSession

SESSION_COOKIE = "nasicon_session"
LOGIN_CSRF_COOKIE = "nasicon_login_csrf"


def optional_session(request: Request) -> WebSession | None:
    """The request's open session, or None."""
    session = session_for_cookie(web(request).registry, request.cookies.get(SESSION_COOKIE))
    request.state.session = session
    return session


def page_session(request: Request) -> WebSession:
    """The request's open session; without one the page sends to the login."""
    session = optional_session(request)
    if session is None:
        raise LoginRequired()
    return session


def page_role(role: str) -> Callable[..., WebSession]:
    """Dependency: a session whose user holds ``role`` (403 otherwise)."""

    def check(session: WebSession = Depends(page_session)) -> WebSession:
        if not session.user.may(role):
            raise Forbidden(f"{session.user.name} is a {session.user.role}; this needs {role}")
        return session

    return check


def check_origin(request: Request) -> None:
    """Refuse a POST whose ``Origin`` (when the browser sends one) is another site."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise Forbidden(f"cross-site request refused (Origin {origin[:100]})")


async def form_checked(request: Request, session: WebSession) -> dict[str, object]:
    """The POSTed form, after the CSRF token and the origin are checked (403 otherwise)."""
    check_origin(request)
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not same_secret(token, session.csrf_token):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")
    fields: dict[str, object] = {}
    for key, value in form.multi_items():
        if key == "csrf_token":
            continue
        if key in fields:  # a repeated field (XRD phases): a list
            old = fields[key]
            fields[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            fields[key] = value
    return fields


def api_user(request: Request) -> UserRecord:
    """The user of ``Authorization: Bearer TOKEN`` (401 without a valid token)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LoginRequired("send Authorization: Bearer TOKEN (nasicon users token NAME)")
    user = user_for_token(web(request).registry, token.strip())
    if user is None:
        raise LoginRequired("the API token is not valid (unknown, replaced or user disabled)")
    request.state.api_user = user
    return user


def api_role(role: str) -> Callable[..., UserRecord]:
    """Dependency: an API user who holds ``role`` (403 otherwise)."""

    def check(user: UserRecord = Depends(api_user)) -> UserRecord:
        if not user.may(role):
            raise Forbidden(f"{user.name} is a {user.role}; this needs {role}")
        return user

    return check
