"""``nasicon web``: serve the lab's web page and its JSON API with uvicorn.

FastAPI, uvicorn and the registry are imported when the command runs. With ``--workers N``
each uvicorn worker builds the app from the environment (:func:`nasicon.web.app.
app_from_environment`); sessions and failed logins live in the database, so every worker
sees the same ones.
"""

from __future__ import annotations

import logging
import os

import typer

from nasicon.cli.context import config as _config
from nasicon.cli.context import state

log = logging.getLogger(__name__)


def web(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on "
                                    "(default [web] host, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default [web] port, 8000)."),
    insecure_cookies: bool = typer.Option(
        False, "--insecure-cookies",
        help="Send the session cookie over plain HTTP too (only for http://localhost; behind "
        "HTTPS leave it out).",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes."),
) -> None:
    """Serve the lab's web page and JSON API (log in with nasicon users)."""
    import uvicorn

    from nasicon.web.app import create_app

    cfg = _config(ctx)
    if host is not None:
        cfg.web.host = host
    if port is not None:
        cfg.web.port = port
    if insecure_cookies:
        cfg.web.secure_cookies = False
    app = create_app(cfg)  # opens the registry: a missing or old schema stops here
    registry = app.state.web.registry
    if registry.run(lambda uow: uow.users.count(), write=False) == 0:
        log.warning("no users yet: add one with  nasicon users add NAME --role admin")
    scheme = "http" if not cfg.web.secure_cookies else "https (behind your TLS proxy)"
    typer.echo(f"nasicon web on http://{cfg.web.host}:{cfg.web.port}/ ({scheme} cookies); "
               f"database {registry.url}; Ctrl-C stops it")  # fmt: skip
    if workers == 1:
        uvicorn.run(app, host=cfg.web.host, port=cfg.web.port, log_level="info")
        return
    registry.close()
    cli = state(ctx)
    env = {
        "NASICON_DB": cfg.database.url,
        "NASICON_WEB__SECURE_COOKIES": str(cfg.web.secure_cookies).lower(),
    }
    if cli.config_path is not None:
        env["NASICON_CONFIG"] = str(cli.config_path)
    os.environ.update(env)
    uvicorn.run("nasicon.web.app:app_from_environment", factory=True, host=cfg.web.host,
                port=cfg.web.port, workers=workers, log_level="info")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``web`` to ``app``."""
    app.command("web")(web)
