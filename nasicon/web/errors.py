"""Errors of the web page: a NasiconError's status code, the API's ``{"error": ...}``
answers, and the page's redirects to the login.

Every domain error keeps the one line the CLI prints; only the status code is added:
404 not found, 409 conflicts and queue moves the lifecycle does not allow, 422 refused
input, 503 a registry that cannot be reached or stays busy, 400 anything else.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from loop.errors import NasiconError, ValidationError

log = logging.getLogger(__name__)


class LoginRequired(Exception):
    """No valid session or token: pages send to the login, the API answers 401."""

    def __init__(self, message: str = "log in first (no valid session or API token)") -> None:
        super().__init__(message)


class Forbidden(Exception):
    """The user's role may not do this (403), or a form's CSRF token is wrong."""


class TooLarge(Exception):
    """An upload over the configured size (413)."""


def status_of(exc: BaseException) -> int:
    """The HTTP status of a domain error."""
    from registry.errors import (
        ConflictError,
        NotFoundError,
        QueueTransitionError,
        RecordErrors,
        RegistryBusyError,
        RegistryUnavailableError,
        SchemaVersionError,
    )

    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, RecordErrors):  # refused records: an unknown sample is not found
        unknown = all("unknown sample id" in problem for _, problem in exc.problems)
        return 404 if unknown else 422
    if isinstance(exc, ConflictError | QueueTransitionError):
        return 409
    if isinstance(exc, RegistryUnavailableError | RegistryBusyError | SchemaVersionError):
        return 503
    if isinstance(exc, ValidationError | ValueError):
        return 422
    return 400


def first_line(exc: BaseException) -> str:
    """The error's message, first line only (the CLI's ``error: ...`` line)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def validation_message(exc: Any, *, option_names: bool = False) -> str:
    """One line for a pydantic or FastAPI validation error: ``field: message``."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    where = ".".join(loc)
    if option_names and loc:
        where = "--" + loc[0].replace("_", "-")
    return f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_json(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    """Exception handlers: JSON errors under /api, login redirects and error pages elsewhere."""
    from nasicon.web.context import render

    def page_error(request: Request, message: str, status: int) -> Response:
        return render(request, "error.html", status_code=status, message=message)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return error_json(str(exc), 401, {"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return error_json(str(exc), 403)
        return page_error(request, str(exc), 403)

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, exc: TooLarge) -> Response:
        if _is_api(request):
            return error_json(str(exc), 413)
        return page_error(request, str(exc), 413)

    @app.exception_handler(NasiconError)
    async def _domain(request: Request, exc: NasiconError) -> Response:
        status = status_of(exc)
        if _is_api(request):
            return error_json(first_line(exc), status)
        return page_error(request, first_line(exc), status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        message = validation_message(exc)
        if _is_api(request):
            return error_json(message, 422)
        return page_error(request, message, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or request.url.path == "/healthz":
            return error_json(str(exc.detail), exc.status_code, getattr(exc, "headers", None))
        return page_error(request, str(exc.detail), exc.status_code)
