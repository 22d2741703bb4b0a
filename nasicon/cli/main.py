"""The ``nasicon`` command line: one Typer app; each command group lives in its own module.

Start-up is cheap, in two ways. The root group (:mod:`nasicon.cli.commands`) lists the
commands from a table and imports a command's module only when that command runs. And the
command modules import only typer, rich and the standard library at module level (plus
:mod:`loop.errors`): numpy, pandas, scikit-learn, prefect, pymatgen, sqlalchemy and the
``flows``/``experiments``/``registry`` packages are imported inside the commands that use
them. ``tests/test_cli_startup.py`` checks which modules ``nasicon --help`` loads.

Every :class:`loop.errors.NasiconError` (and any database error the registry re-raises as
one) is printed as a single ``error: ...`` line on stderr with exit code 2.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer

from nasicon.cli.commands import NasiconGroup
from nasicon.cli.context import CLIState

app = typer.Typer(
    name="nasicon",
    cls=NasiconGroup,
    no_args_is_help=True,
    context_settings={"max_content_width": 120},
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain click help: typer's rich help imports rich.markdown, rich.traceback, ... and
    # alone costs about twice the start-up of ``import typer, rich``
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from nasicon import __version__

        typer.echo(f"nasicon {__version__}")
        raise typer.Exit()


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
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Closed-loop discovery of synthesizable NASICON sodium-ion solid electrolytes.

    --config, --db and -v may also come after the subcommand.
    """
    ctx.obj = CLIState(config_path=config, db_url=db)
    if not verbose:  # Prefect's own INFO lines (temporary server, flow runs) only with -v
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
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
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:
        from loop.errors import NasiconError

        if isinstance(exc, NasiconError):
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click usage errors and the like
            exc.show()
            sys.exit(exc.exit_code or 2)
        raise
    if isinstance(rc, int) and rc != 0:
        sys.exit(rc)
