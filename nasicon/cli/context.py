"""Options shared by every command (``--config``, ``--db``) and the settings they select."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from loop.settings import NasiconConfig
from nasicon.settings import load_config


@dataclass
class CLIState:
    """What the top-level options chose; commands read settings through :meth:`config`."""

    config_path: Path | None = None
    db_url: str | None = None
    _config: NasiconConfig | None = field(default=None, repr=False)

    def config(self) -> NasiconConfig:
        """Settings from the TOML file and environment, with ``--db`` applied on top."""
        if self._config is None:
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
