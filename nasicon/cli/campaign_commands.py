"""``nasicon campaign add|list``: campaigns, the groups sample ids are unique in."""

from __future__ import annotations

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.output import Table

console = Console(soft_wrap=True)

campaign_app = typer.Typer(help="Campaigns (groups of samples).", no_args_is_help=True)


@campaign_app.command("add")
def campaign_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Campaign name."),
    description: str | None = typer.Option(None, help="What the campaign is for."),
) -> None:
    """Create a campaign (sample ids are unique within a campaign)."""
    if not name.strip():
        raise ValidationError("a campaign needs a name")
    with _registry(ctx) as registry:
        cid = registry.run(lambda uow: uow.campaigns.ensure(name.strip(), description))
    console.print(f"campaign {name.strip()!r} (id {cid})", highlight=False)


@campaign_app.command("list")
def campaign_list(ctx: typer.Context) -> None:
    """List the campaigns."""
    with _registry(ctx) as registry:
        rows = registry.run(lambda uow: uow.campaigns.all(), write=False)
    table = Table(title="campaigns")
    for col in ("id", "name", "description", "created"):
        table.add_column(col)
    for c in rows:
        table.add_row(str(c.id), c.name, c.description or "", f"{c.created_at:%Y-%m-%d}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``campaign`` group to ``app``."""
    app.add_typer(campaign_app, name="campaign")
