"""The ``nasicon`` command line: one Typer app; each command group lives in its own module.

Every :class:`loop.errors.NasiconError` (and any database error the registry re-raises as
one) is printed as a single ``error: ...`` line on stderr with exit code 2.
"""

from __future__ import annotations

import logging
import sys

import typer

from loop.cli import chemistry_commands
from loop.errors import NasiconError

app = typer.Typer(
    name="nasicon",
    help="Closed-loop discovery of synthesizable NASICON sodium-ion solid electrolytes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

chemistry_commands.register(app)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def run() -> None:
    """Entry point that turns domain errors into one line and exit code 2."""
    try:
        rc = app(standalone_mode=False)
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
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(2)
        raise
    if isinstance(rc, int) and rc != 0:
        sys.exit(rc)
