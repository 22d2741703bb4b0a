"""Options shared by every command (``--config``, ``--db``) and the settings they select.

Cheap to import: the settings (pydantic) and the registry are imported on first use.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from loop.settings import NasiconConfig
    from registry import Registry


@dataclass
class CLIState:
    """What the top-level options chose; commands read settings through :meth:`config`."""

    config_path: Path | None = None
    db_url: str | None = None
    _config: NasiconConfig | None = field(default=None, repr=False)

    def config(self) -> NasiconConfig:
        """Settings from the TOML file and environment, with ``--db`` applied on top."""
        if self._config is None:
            from nasicon.settings import load_config

            cfg = load_config(self.config_path)
            if self.db_url:
                cfg.database.url = self.db_url
            self._config = cfg
        return self._config


def state(ctx: typer.Context) -> CLIState:
    """The :class:`CLIState` of the running command (a default one outside the main app)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CLIState):
        root.obj = CLIState()
    return root.obj


def config(ctx: typer.Context) -> NasiconConfig:
    """The settings of the running command."""
    return state(ctx).config()


def open_registry(ctx: typer.Context, check_schema: bool = True) -> Registry:
    """The registry of the configured database (``--db`` / ``NASICON_DB`` / config)."""
    from registry import Registry

    return Registry.from_config(config(ctx), check_schema=check_schema)


def who(by: str | None) -> str:
    """``--by`` if given, else the login name."""
    return (by or "").strip() or getpass.getuser()
