"""The ``nasicon`` command line: one Typer app; each command group lives in its own module.

Every :class:`loop.errors.NasiconError` (and any database error the registry re-raises as
one) is printed as a single ``error: ...`` line on stderr with exit code 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from loop.errors import NasiconError
from nasicon.cli import (
    analysis_commands,
    chemistry_commands,
    design_commands,
    discovery_commands,
    flow_commands,
    model_commands,
    registry_commands,
)
from nasicon.cli.context import CLIState

app = typer.Typer(
    name="nasicon",
    help="Closed-loop discovery of synthesizable NASICON sodium-ion solid electrolytes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

chemistry_commands.register(app)
analysis_commands.register(app)
registry_commands.register(app)
design_commands.register(app)
discovery_commands.register(app)
model_commands.register(app)
flow_commands.register(app)


@app.callback()
def _main(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        envvar="NASICON_CONFIG",
        help="TOML settings file (default ./nasicon.toml).",
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="NASICON_DB",
        help="Registry database URL (default sqlite:///nasicon.db).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level."),
) -> None:
    ctx.obj = CLIState(config_path=config, db_url=db)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def run(argv: list[str] | None = None) -> None:
    """Entry point that turns domain errors into one line and exit code 2.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``).
    """
    try:
        rc = app(args=argv, prog_name="nasicon", standalone_mode=False)
    except NasiconError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors (typer vendors click) and the like
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code or 2)
        raise
    if isinstance(rc, int) and rc != 0:
        sys.exit(rc)
