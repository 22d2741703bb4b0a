"""What every request of the web page reaches: the settings, the registry and the templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

if TYPE_CHECKING:
    from loop.settings import NasiconConfig
    from registry import Registry
    from registry.repositories import WebSession

HERE = Path(__file__).resolve().parent


@dataclass
class WebContext:
    """The application's state: settings, the open registry and the Jinja2 templates."""

    config: NasiconConfig
    registry: Registry
    templates: Jinja2Templates

    @property
    def secure_cookies(self) -> bool:
        """Whether the session cookie is sent over HTTPS only."""
        return self.config.web.secure_cookies


def web(request: Request) -> WebContext:
    """The :class:`WebContext` of the running application."""
    return request.app.state.web


def render(
    request: Request, template: str, status_code: int = 200, **values: Any
) -> Any:
    """Render ``template`` with the request's session (user, CSRF token) and ``values``."""
    session: WebSession | None = getattr(request.state, "session", None)
    return web(request).templates.TemplateResponse(
        request,
        template,
        {
            "user": session.user if session else None,
            "csrf_token": session.csrf_token if session else "",
            **values,
        },
        status_code=status_code,
    )
