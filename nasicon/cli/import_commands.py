"""``nasicon import dft|literature|made|conductivity``: published data into the registry
(idempotent)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.output import print_problems as _problems

console = Console(soft_wrap=True)

import_app = typer.Typer(help="Import published data into the registry.", no_args_is_help=True)


@import_app.command("dft")
def import_dft_command(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None,
        help="Folder of train.csv/test.csv (default: config data.dft_path / NASICON_DFT_DATA).",
    ),
) -> None:
    """Import the 3881-composition DFT data set (Ouyang et al. 2021) as computed records."""
    from experiments.importers.dft import import_dft

    folder = path or _config(ctx).data.dft_path
    with _registry(ctx) as registry:
        with console.status(f"importing the DFT data set from {folder} ..."):
            report = import_dft(registry, folder)
    console.print(report.summary(), highlight=False)


@import_app.command("literature")
def import_literature_command(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="Literature CSV (default: config data.literature_path)."
    ),
    campaign: str | None = typer.Option(None, help="Campaign (default: the file's name)."),
    citation: str | None = typer.Option(None, help="Citation of the source."),
) -> None:
    """Import published synthesis outcomes (synthesis, XRD and conductivity records)."""
    from experiments.importers.literature import LiteratureError, import_literature

    file = path or _config(ctx).data.literature_path
    with _registry(ctx) as registry:
        try:
            report = import_literature(registry, file, campaign=campaign, citation=citation)
        except LiteratureError as exc:
            _problems(exc.problems, "line")
            raise
    console.print(report.summary(), highlight=False)


#: How many left-out rows ``import conductivity`` lists (the rest are counted).
SKIPPED_SHOWN = 10


@import_app.command("conductivity")
def import_conductivity_command(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None,
        help="Folder of the OBELiX NASICON tables or one table "
        "(default: ../shared/data/conductivity).",
    ),
) -> None:
    """Import literature conductivities (OBELiX, Liverpool, Laskowski; Li NASICONs) with DOIs."""
    from experiments.importers.conductivity import (
        DEFAULT_FOLDER,
        ConductivityTableError,
        import_conductivity,
    )

    where = path or Path(DEFAULT_FOLDER)
    with _registry(ctx) as registry:
        try:
            result = import_conductivity(registry, where)
        except ConductivityTableError as exc:
            if len(exc.problems) > 1:  # one bad row: the error line names it
                _problems(exc.problems, "line")
            raise
    for row in result.skipped[:SKIPPED_SHOWN]:
        console.print(
            f"left out {row.file} line {row.line} {row.formula!r}: {row.reason}",
            highlight=False,
            markup=False,
        )
    if len(result.skipped) > SKIPPED_SHOWN:
        console.print(
            f"... and {len(result.skipped) - SKIPPED_SHOWN} more rows left out", highlight=False
        )
    console.print(result.summary(), highlight=False, markup=False)


@import_app.command("made")
def import_made_command(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="JSON of made compositions (default: config data.made_path)."
    ),
) -> None:
    """Import the compositions reported as made (Ouyang et al. 2021) as experimental
    positives: one sample each with a successful synthesis and an XRD record."""
    from experiments.importers.made import MadeCompositionsError, import_made

    file = path or _config(ctx).data.made_path
    with _registry(ctx) as registry:
        try:
            report = import_made(registry, file)
        except MadeCompositionsError as exc:
            _problems(exc.problems, "entry")
            raise
    console.print(report.summary(), highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``import`` group to ``app``."""
    app.add_typer(import_app, name="import")
