"""The users page (admins): add a user (its API token shown once), disable or enable one,
replace a token, set a password. The same functions as ``nasicon users``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from loop.errors import NasiconError
from nasicon import accounts
from nasicon.web.context import render, web
from nasicon.web.errors import first_line, status_of
from nasicon.web.security import form_checked, page_role, page_session

if TYPE_CHECKING:
    from registry.repositories import WebSession

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_session)])
admin = page_role("admin")
ROLES = ("viewer", "lab", "admin")


def _page(request: Request, status: int = 200, **values: object) -> Response:
    users = accounts.list_users(web(request).registry)
    return render(request, "users.html", status_code=status, users=users, roles=ROLES, **values)


@router.get("/users")
def users_page(request: Request, session: WebSession = Depends(admin)) -> Response:
    """Every user with its role and status."""
    return _page(request)


@router.post("/users")
async def users_add(request: Request, session: WebSession = Depends(admin)) -> Response:
    """Add a user; the page shows its API token once."""
    fields = await form_checked(request, session)
    reg = web(request).registry
    name, role = str(fields.get("name") or "").strip(), str(fields.get("role") or "")
    try:
        user, token = await run_in_threadpool(
            accounts.add_user, reg, name, role, str(fields.get("password") or ""),
            created_by=session.user.name,
        )  # fmt: skip
    except NasiconError as exc:
        status, message = status_of(exc), first_line(exc)
        return await run_in_threadpool(
            lambda: _page(request, status, error=message, name=name, role=role)
        )
    return await run_in_threadpool(
        lambda: _page(request, notice=f"user {user.name} added ({user.role})",
                      token_for=user.name, token=token)
    )


@router.post("/users/{name}/{action}")
async def users_action(
    request: Request, name: str, action: str, session: WebSession = Depends(admin)
) -> Response:
    """Disable, enable, replace the token of, or set the password of a user."""
    fields = await form_checked(request, session)
    reg = web(request).registry
    token = None
    try:
        if action in ("disable", "enable"):
            if action == "disable" and name == session.user.name:
                raise NasiconError("you cannot disable yourself; ask another admin")
            await run_in_threadpool(accounts.set_disabled, reg, name, action == "disable")
        elif action == "token":
            _, token = await run_in_threadpool(accounts.rotate_token, reg, name)
        elif action == "password":
            await run_in_threadpool(
                accounts.set_password, reg, name, str(fields.get("password") or "")
            )
        else:
            raise NasiconError(f"user action {action[:20]!r} is not disable, enable, token or "
                               "password")  # fmt: skip
    except NasiconError as exc:
        status, message = status_of(exc), first_line(exc)
        return await run_in_threadpool(lambda: _page(request, status, error=message))
    notice = {"disable": f"user {name} disabled", "enable": f"user {name} enabled",
              "token": f"new API token of {name}", "password": f"password of {name} changed"}
    return await run_in_threadpool(
        lambda: _page(request, notice=notice[action], token_for=name if token else None,
                      token=token)
    )
