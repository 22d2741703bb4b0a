"""``/login`` and ``/logout``: password logins that open a server-side session.

The login form is protected against login CSRF by a double-submit token (a random value in
a SameSite=Strict cookie and in the form). Failed logins are rate limited per name and per
client address (:func:`nasicon.accounts.login`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from nasicon.accounts import LoginRefused, login, logout, new_secret, same_secret
from nasicon.web.context import render, web
from nasicon.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_origin,
    form_checked,
    optional_session,
    page_session,
)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """A local path to go to after the login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/queue"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/queue"
    return target


def _login_page(request: Request, status: int = 200, **values: Any) -> Response:
    token = new_secret()
    response = render(
        request, "login.html", status_code=status, login_csrf=token,
        next=_safe_next(request.query_params.get("next") or values.pop("next", None)), **values,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
        secure=web(request).secure_cookies, path="/login",
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login form (or the queue, for someone logged in)."""
    if optional_session(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    """Check the password; on success set the session cookie and go on."""
    check_origin(request)
    form = await request.form()
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    target = str(form.get("next") or "")
    if not same_secret(str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(
            request, 403, error="the login form expired; try again", name=name, next=target
        )
    ctx = web(request)
    client = request.client.host if request.client else "unknown"
    try:
        done = await run_in_threadpool(
            login, ctx.registry, name, password, client, ctx.config.web
        )
    except LoginRefused as exc:
        return _login_page(request, exc.status, error=str(exc), name=name, next=target)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, done.cookie, max_age=int(ctx.config.web.session_hours * 3600),
        httponly=True, samesite="lax", secure=ctx.secure_cookies, path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout_submit(request: Request) -> Response:
    """End the session (CSRF-checked) and go to the login page."""
    session = await run_in_threadpool(page_session, request)
    await form_checked(request, session)
    await run_in_threadpool(logout, web(request).registry, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
