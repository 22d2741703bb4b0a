"""The web page's FastAPI application: :func:`create_app` (``nasicon web`` serves it).

Nothing is served to a client without a session or token except the login page, the
static files and ``/healthz``: every other route depends on :mod:`nasicon.web.security`
(``tests/test_web_api.py`` walks every route to check it). Every answer carries security
headers (no framing, no sniffing, a same-origin content security policy).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from nasicon import __version__
from nasicon.web.context import HERE, WebContext
from nasicon.web.errors import install_handlers
from nasicon.web.security import api_user, page_session

if TYPE_CHECKING:
    from loop.settings import NasiconConfig
    from registry import Registry

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals["version"] = __version__
    from nasicon.web import views

    env.filters["sci"] = views.sci
    env.filters["when"] = views.when
    env.filters["num"] = views.num
    return templates


def create_app(config: NasiconConfig, registry: Registry | None = None) -> FastAPI:
    """The web page over the registry of ``config`` (or ``registry``, kept open by its owner).

    Raises:
        RegistryError: the database cannot be opened or its schema is not the newest.
    """
    from registry import Registry

    own = registry is None
    reg = Registry.from_config(config) if registry is None else registry

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if own:
            reg.close()

    app = FastAPI(
        title="nasicon-loop",
        version=__version__,
        summary="The lab's queue, records, samples and rounds. API tokens: nasicon users token.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind a token
        lifespan=lifespan,
    )
    app.state.web = WebContext(config=config, registry=reg, templates=_templates())
    install_handlers(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", tags=["health"], summary="Liveness: the database answers (no login).")
    def healthz() -> JSONResponse:
        from loop.errors import NasiconError

        try:
            revision = reg.schema_revision()
        except NasiconError as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "schema": revision})

    @app.get("/api/v1/openapi.json", include_in_schema=False, dependencies=[Depends(api_user)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/", include_in_schema=False, dependencies=[Depends(page_session)])
    def home() -> RedirectResponse:
        return RedirectResponse("/queue", status_code=303)

    from nasicon.web import admin, api, login, pages, record_pages

    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(record_pages.router)
    app.include_router(admin.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app


def app_from_environment() -> FastAPI:
    """The application from the environment (``NASICON_CONFIG``, ``NASICON_DB``, ...): the
    factory each uvicorn worker calls when ``nasicon web --workers N`` runs several."""
    from nasicon.settings import load_config

    return create_app(load_config())
