"""``nasicon init`` and ``nasicon db upgrade|current|backup|restore``: the registry database.

The database is ``--db`` / ``NASICON_DB`` (default ``sqlite:///nasicon.db`` in the working
directory).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry

console = Console(soft_wrap=True)

db_app = typer.Typer(
    help="Registry database: schema migrations, backup and restore.", no_args_is_help=True
)


def init(ctx: typer.Context) -> None:
    """Create the registry database (or bring its schema up to date) and the default campaign."""
    from registry.engine import display_url

    cfg = _config(ctx)
    registry = _registry(ctx, check_schema=False)
    with registry:
        revision = registry.init_schema()
    console.print(
        f"registry ready at {display_url(cfg.database.url)} (schema revision {revision})",
        highlight=False,
    )


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the registry database to the newest schema (optuna's tables are left alone)."""
    with _registry(ctx, check_schema=False) as registry:
        before = registry.schema_revision()
        after = registry.init_schema()
    if before == after:
        console.print(f"schema already at revision {after}; nothing to do", highlight=False)
    else:
        console.print(
            f"schema upgraded from {before or 'empty'} to revision {after}", highlight=False
        )


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's schema revision and the newest one this nasicon knows."""
    from registry import migrations

    with _registry(ctx, check_schema=False) as registry:
        current = registry.schema_revision()
    head = migrations.head_revision()
    if current == head:
        note = "up to date"
    elif current is not None and not migrations.is_known(current):
        note = "newer than this code; run: pip install --upgrade nasicon-loop"
    else:
        note = f"behind; run: {migrations.upgrade_command(_config(ctx).database.url)}"
    console.print(f"schema revision {current or 'none'} (newest {head}): {note}", highlight=False)


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="New archive to write (tar.gz)."),
    with_files: bool = typer.Option(
        False, "--with-files", help="Also copy every raw file and model artifact the rows name."
    ),
) -> None:
    """Consistent online backup: the database, row counts and the raw files' manifest."""
    from registry.backup import backup

    report = backup(_config(ctx).database.url, file, with_files=with_files)
    rows = sum(report.counts.values())
    console.print(
        f"backup written to {report.path}: {len(report.counts)} tables, {rows} rows, "
        f"{len(report.files)} files listed, {report.bundled} bundled",
        highlight=False,
    )
    for f in report.missing:
        console.print(f"warning: {f['path']} ({f['table']}) was already missing", highlight=False)


@db_app.command("restore")
def db_restore(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Archive written by nasicon db backup."),
) -> None:
    """Restore a backup into an EMPTY database, then check row counts and file hashes."""
    from registry.backup import restore
    from registry.engine import display_url

    url = _config(ctx).database.url
    report = restore(url, file)
    console.print(
        f"restored {file} into {display_url(url)}: {sum(report.counts.values())} rows in "
        f"{len(report.counts)} tables (counts match the backup); {report.files_ok} files "
        f"verified by SHA-256, {report.written} put back from the archive",
        highlight=False,
    )
    for f in report.missing:
        console.print(
            f"missing: {f['path']} (sha256 {f['sha256'][:12]}..., {f['table']}) is absent or "
            "differs; copy it back from the lab's file store",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``init`` and the ``db`` group to ``app``."""
    app.command("init")(init)
    app.add_typer(db_app, name="db")
