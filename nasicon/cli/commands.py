"""The index of the command line and the root group that loads command modules lazily.

:data:`COMMANDS` names every top-level command (or command group), the module under
``nasicon/cli/`` that defines it and its one-line help. ``nasicon --help`` is printed from
this table alone; ``nasicon NAME ...`` imports only NAME's module and builds only its
commands. ``tests/test_cli_startup.py`` checks the table against the modules (same names,
same one-line help), so a command added or reworded without the table fails a test.

The root group also gives every subcommand copies of the global options (``--config``,
``--db``, ``-v``), so they work after the subcommand as well as before it.
"""

from __future__ import annotations

import copy
import importlib
import logging
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from nasicon.cli.context import state

#: name -> (module under nasicon/cli, one-line help), in the order ``nasicon --help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "describe": ("chemistry_commands", "Site assignment, descriptors and the tolerance-factor "
                 "verdict of each formula."),
    "featurize": ("chemistry_commands", "Write every descriptor of every formula in a CSV; "
                  "invalid rows stop the command."),
    "xrd": ("analysis_commands", "Powder XRD: phase analysis of NASICON patterns."),
    "eis": ("analysis_commands", "Impedance spectroscopy: equivalent-circuit fits, "
            "conductivity, Arrhenius."),
    "init": ("db_commands", "Create the registry database (or bring its schema up to date) "
             "and the default campaign."),
    "db": ("db_commands", "Registry database: schema migrations, backup and restore."),
    "campaign": ("campaign_commands", "Campaigns (groups of samples)."),
    "import": ("import_commands", "Import published data into the registry."),
    "record": ("records_commands", "Record outcomes from the bench."),
    "retract": ("records_commands", "Withdraw a result (kept in the history; training data "
                "stops using it)."),
    "history": ("export_commands", "The whole trail of a sample: every record, correction and "
                "retraction, and its proposal."),
    "export": ("export_commands", "Write every outcome joined with its composition and label "
               "to CSV."),
    "queue": ("queue_commands", "The proposal queue."),
    "spaces": ("design_commands", "Design spaces: built-in grids and user TOML files."),
    "propose": ("design_commands", "Screen a design space with the registry's models and "
                "queue a diverse batch."),
    "simulate": ("simulate_commands", "Backtest campaigns against the DFT data set (or your "
                 "own --pool): hits and enhancement factor per strategy."),
    "discover": ("discovery_commands", "Find 2D descriptors of NASICON stability by SIS + "
                 "machine-learned ranking."),
    "retrain": ("retrain_commands", "Cross-validate, tune and compare every model; store the "
                "runs and the champion."),
    "predict": ("predict_commands", "P(accessible) of each formula from every model of a round "
                "and from the champion."),
    "models": ("predict_commands", "Trained models: leaderboard and details."),
    "conductivity": ("conductivity_commands", "Conductivity model: log10 sigma (S/cm) at 25 C "
                     "with calibrated uncertainty."),
    "round": ("flow_commands", "Run one closed-loop round now: retrain, then propose; print "
              "leaderboard and queue."),
    "ingest": ("flow_commands", "Record a batch of outcomes; start a round when enough new "
               "labels have arrived."),
    "serve": ("flow_commands", "Serve the deployments (nightly round on the configured cron) "
              "until interrupted."),
    "demo": ("flow_commands", "The main job (make demo): one closed-loop round on a fresh "
             "registry."),
    "web": ("web_commands", "Serve the lab's web page and JSON API (log in with nasicon users)."),
    "users": ("users_commands", "Users of the web page: logins, roles, API tokens."),
}  # fmt: skip

#: Options of the root that every subcommand accepts too (``nasicon record ... --db URL``).
GLOBAL_OPTIONS = ("config", "db", "verbose")


def module_commands(module_name: str) -> dict[str, Any]:
    """The click commands and groups that ``nasicon.cli.<module_name>`` registers, by name."""
    module = importlib.import_module(f"nasicon.cli.{module_name}")
    sub = typer.Typer(rich_markup_mode=None, add_completion=False)
    module.register(sub)
    return dict(typer.main.get_group(sub).commands)


def _set_global(ctx: Any, param: Any, value: Any) -> None:
    """Callback of a global option given after the subcommand: it wins over the root's."""
    if value is None or value is False:
        return
    if param.name == "verbose":
        logging.getLogger().setLevel(logging.INFO)
    elif param.name == "db":
        state(ctx).db_url = value
    elif param.name == "config":
        state(ctx).config_path = Path(value)


def _accept_global_options(command: Any, root_params: list[Any]) -> None:
    """Give ``command`` (and every command under it) copies of the root's global options."""
    have = {p.name for p in command.params}
    for param in root_params:
        if param.name in GLOBAL_OPTIONS and param.name not in have:
            clone = copy.copy(param)
            clone.expose_value = False  # the command's function does not see it
            clone.callback = _set_global
            clone.envvar = None  # the environment is read once, by the root
            command.params.append(clone)
    for sub in getattr(command, "commands", {}).values():
        _accept_global_options(sub, root_params)


class NasiconGroup(TyperGroup):
    """The root group: lists :data:`COMMANDS` without importing them, imports a command's
    module when the command is looked up, and passes the global options down."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # every name is known (for usage errors' suggestions); None until its module is loaded
        self.commands = {**dict.fromkeys(COMMANDS), **self.commands}

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The subcommand ``cmd_name`` (its module imported on first use)."""
        if cmd_name in self.commands and self.commands[cmd_name] is None:
            self.commands.update(module_commands(COMMANDS[cmd_name][0]))
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _accept_global_options(command, self.params)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of ``nasicon --help``, from :data:`COMMANDS` (no import)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, short_help) for name, (_, short_help) in COMMANDS.items()])
