"""``nasicon users add|list|disable|enable|token|password``: the people of the web page.

A new user gets a password (asked twice, or one line on stdin with ``--password-stdin``) and
an API token, printed once on the LAST line of the output (only its hash is kept);
``users token NAME`` replaces the token. See :mod:`nasicon.accounts`.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.context import who as _who
from nasicon.cli.output import Table

console = Console(soft_wrap=True)

#: ``registry.tables.USER_ROLES`` (literal here: --help imports no registry).
ROLES = ("viewer", "lab", "admin")

users_app = typer.Typer(help="Users of the web page: logins, roles, API tokens.",
                        no_args_is_help=True)  # fmt: skip

PasswordStdin = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input."
)


def _password(from_stdin: bool) -> str:
    """The password from stdin (first line) or asked twice on the terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ValidationError("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name (letters, digits, '.', '_', '@', '-')."),
    role: str = typer.Option(..., "--role", help=f"One of {', '.join(ROLES)}."),
    password_stdin: bool = PasswordStdin,
) -> None:
    """Add a user; prints its new API token on the last line."""
    from nasicon.accounts import add_user, check_name, check_password

    if role not in ROLES:
        raise ValidationError(f"--role {role!r} is not one of {', '.join(ROLES)}")
    check_name(name)
    password = check_password(_password(password_stdin))
    with _registry(ctx) as registry:
        user, token = add_user(registry, name, role, password, created_by=_who(None))
    console.print(f"user {user.name} added with role {user.role}; API token:", highlight=False)
    typer.echo(token)


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List the users, their roles and whether they are disabled."""
    from nasicon.accounts import list_users

    with _registry(ctx) as registry:
        users = list_users(registry)
    table = Table(title="users")
    for col in ("name", "role", "status", "API token since", "added", "by"):
        table.add_column(col)
    for u in users:
        token = f"{u.token_created_at:%Y-%m-%d %H:%M}" if u.token_created_at else "none"
        status = "disabled" if u.disabled else "active"
        table.add_row(u.name, u.role, status, token, f"{u.created_at:%Y-%m-%d}", u.created_by)
    console.print(table)


@users_app.command("disable")
def users_disable(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Disable a user: its browser sessions end and its API token stops working."""
    from nasicon.accounts import set_disabled

    with _registry(ctx) as registry:
        set_disabled(registry, name, True)
    console.print(f"user {name} disabled", highlight=False)


@users_app.command("enable")
def users_enable(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Enable a disabled user again (its password and token work again)."""
    from nasicon.accounts import set_disabled

    with _registry(ctx) as registry:
        set_disabled(registry, name, False)
    console.print(f"user {name} enabled", highlight=False)


@users_app.command("token")
def users_token(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Replace a user's API token (the old one stops working); prints it on the last line."""
    from nasicon.accounts import rotate_token

    with _registry(ctx) as registry:
        user, token = rotate_token(registry, name)
    console.print(f"new API token of {user.name}:", highlight=False)
    typer.echo(token)


@users_app.command("password")
def users_password(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    password_stdin: bool = PasswordStdin,
) -> None:
    """Set a user's password (its browser sessions end)."""
    from nasicon.accounts import check_password, set_password

    password = check_password(_password(password_stdin))
    with _registry(ctx) as registry:
        set_password(registry, name, password)
    console.print(f"password of {name} changed; its browser sessions ended", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``users`` group to ``app``."""
    app.add_typer(users_app, name="users")
