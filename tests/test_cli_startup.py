"""Start-up of the command line (issue 12): what ``nasicon --help`` imports, the command index
against the command modules, literal choices against their source of truth, ``--version``,
and the global options before and after the subcommand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from cli_runner import run_cli

from nasicon.cli.commands import COMMANDS, module_commands

REPO = Path(__file__).resolve().parents[1]
NASICON = str(Path(sys.executable).with_name("nasicon"))
# (not pydantic: typer 0.29 itself imports it to convert option values)
HEAVY = (
    "numpy", "pandas", "scipy", "sklearn", "prefect", "skops", "matplotlib", "sqlalchemy",
    "pymatgen", "optuna",
)  # fmt: skip
LOWER_LAYERS = ("flows", "experiments", "registry", "loop")
# Runs the console script's function on each argument list (one list per argv element, JSON),
# then prints the names of every loaded module as the last line.
PROBE = """
import json, sys
from nasicon.cli.main import run
for args in sys.argv[1:]:
    try:
        run(json.loads(args))
    except SystemExit as exc:
        assert exc.code in (0, None), (args, exc.code)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(*argv: list[str]) -> set[str]:
    """Top-level and dotted module names loaded by ``nasicon ARGS`` for each ARGS, in one
    fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *(json.dumps(a) for a in argv)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def heavy(modules: set[str], names: tuple[str, ...] = HEAVY) -> set[str]:
    return {m for m in modules if m.split(".")[0] in names}


def test_help_imports_no_heavy_package_and_no_command_module() -> None:
    modules = loaded_modules(["--help"])
    assert heavy(modules) == set()
    assert {m for m in modules if m.split(".")[0] in LOWER_LAYERS} == set()
    assert {m for m in modules if m.endswith("_commands")} == set()  # listed from the index
    assert "nasicon.settings" not in modules
    assert "nasicon.cli.main" in modules  # the probe ran the real entry point


def test_help_of_every_command_imports_no_heavy_package() -> None:
    """Building each command's options (its --help) needs only typer, rich and loop.errors."""
    modules = loaded_modules(*([name, "--help"] for name in COMMANDS))
    assert heavy(modules) == set()
    assert {m for m in modules if m.split(".")[0] in LOWER_LAYERS} <= {"loop", "loop.errors"}
    assert {f"nasicon.cli.{module}" for module, _ in COMMANDS.values()} <= modules


def test_describe_imports_the_engine_but_no_model_database_or_flow_package() -> None:
    modules = loaded_modules(["describe", "Na3Zr2Si2PO12", "--json"])
    assert {"numpy", "pandas", "loop.descriptors"} <= modules  # the probe does see imports
    assert heavy(modules, ("sklearn", "prefect", "skops", "matplotlib", "sqlalchemy")) == set()
    assert {m for m in modules if m.split(".")[0] in ("flows", "registry", "experiments")} == set()


def test_command_index_matches_the_command_modules() -> None:
    """Every name of COMMANDS is registered by its module with the same one-line help, and
    every command a module registers is in COMMANDS."""
    modules = {module for module, _ in COMMANDS.values()}
    files = {p.stem for p in (REPO / "nasicon" / "cli").glob("*_commands.py")}
    assert modules == files
    for module in sorted(modules):
        commands = module_commands(module)
        assert set(commands) == {n for n, (m, _) in COMMANDS.items() if m == module}, module
        for name, command in commands.items():
            assert command.get_short_help_str(limit=10**6) == COMMANDS[name][1], name


def test_literal_choices_match_their_source_of_truth() -> None:
    from loop.acquisition import strategy_names
    from loop.simulation import FEATURE_SETS, SURROGATES
    from loop.training import RetrainSettings
    from nasicon.cli.options import STRATEGY_NAMES, TUNED_BY_DEFAULT

    assert STRATEGY_NAMES == tuple(strategy_names())
    assert set(TUNED_BY_DEFAULT) == {s.name for s in RetrainSettings().tuned_specs()}
    from loop.recommend import SIGNALS
    from loop.settings import ProposalConfig

    simulate = module_commands("simulate_commands")["simulate"]
    params = {p.name: p for p in simulate.params}
    assert params["surrogate"].default is None  # the signal's default surrogate
    assert {surrogate for surrogate, _ in SIGNALS.values()} <= set(SURROGATES)
    assert ProposalConfig().features in FEATURE_SETS
    for name in SIGNALS:
        assert name in params["signal"].help, name
    for name in SURROGATES:
        assert name in params["surrogate"].help, name
    for name in FEATURE_SETS:
        assert name in params["features"].help, name


def test_version_is_the_installed_version() -> None:
    import nasicon

    result = run_cli(["--version"])
    assert result.code == 0, result.stderr
    assert result.stdout == f"nasicon {nasicon.__version__}\n"
    assert nasicon.__version__ == version("nasicon-loop")


def sample_ids(url: str) -> set[str]:
    from registry import Registry

    with Registry.from_url(url) as registry:
        return {s.sample_id for s in registry.run(lambda uow: uow.samples.all(), write=False)}


@pytest.fixture
def two_databases(tmp_path: Path) -> tuple[str, str]:
    a, b = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    assert run_cli(["init", "--db", a], cwd=tmp_path).code == 0  # after the subcommand
    assert run_cli(["--db", b, "init"], cwd=tmp_path).code == 0  # before it
    return a, b


def test_db_works_before_and_after_the_subcommand(tmp_path: Path, two_databases) -> None:
    a, b = two_databases
    record = ["record", "synthesis", "--formula", "Na3Zr2Si2PO12", "--succeeded"]
    after = run_cli([*record, "--sample", "S-after", "--db", a], cwd=tmp_path)
    assert after.code == 0, after.stderr
    before = run_cli(["--db", b, *record, "--sample", "S-before"], cwd=tmp_path)
    assert before.code == 0, before.stderr
    both = run_cli(["--db", a, *record, "--sample", "S-both", f"--db={b}"], cwd=tmp_path)
    assert both.code == 0, both.stderr  # the later one, after the subcommand, wins
    env_and_option = run_cli([*record, "--sample", "S-env", "--db", a], cwd=tmp_path,
                             env={"NASICON_DB": b})  # fmt: skip
    assert env_and_option.code == 0, env_and_option.stderr
    assert sample_ids(a) == {"S-after", "S-env"}
    assert sample_ids(b) == {"S-before", "S-both"}
    assert not (tmp_path / "nasicon.db").exists()


def test_config_works_before_and_after_the_subcommand(tmp_path: Path, two_databases) -> None:
    a, _ = two_databases
    (tmp_path / "lab.toml").write_text(f'[database]\nurl = "{a}"\n')
    for args in (["campaign", "add", "lab", "--config", "lab.toml"],
                 ["--config", "lab.toml", "campaign", "add", "bench"]):  # fmt: skip
        result = run_cli(args, cwd=tmp_path)
        assert result.code == 0, result.stderr
    listed = run_cli(["campaign", "list", "--config", str(tmp_path / "lab.toml")], cwd=tmp_path)
    assert "lab" in listed.stdout and "bench" in listed.stdout
    missing = run_cli(["campaign", "list", "--config", "nope.toml"], cwd=tmp_path)
    assert missing.error_message() == "config file nope.toml does not exist"
    missing = run_cli(["--config", "nope.toml", "campaign", "list"], cwd=tmp_path)
    assert missing.error_message() == "config file nope.toml does not exist"


def test_verbose_works_after_the_subcommand(tmp_path: Path, two_databases) -> None:
    a, _ = two_databases
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for args in (["campaign", "list", "--db", a], ["campaign", "list", "--db", a, "-v"],
                 ["-v", "campaign", "list", "--db", a]):  # fmt: skip
        proc = subprocess.run([NASICON, *args], capture_output=True, text=True, cwd=tmp_path,
                              env=env, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert ("INFO " in proc.stderr) == ("-v" in args), (args, proc.stderr)


def test_subcommand_help_shows_the_global_options() -> None:
    result = run_cli(["record", "synthesis", "--help"])
    assert result.code == 0
    for option in ("--db", "--config", "--verbose", "--sample"):
        assert option in result.stdout, option
