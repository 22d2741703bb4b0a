"""Upgrades: a registry written by the first release (tests/assets, made by
tests/assets/make_old_registry.py) is refused until ``nasicon db upgrade``, then upgraded with
every old row intact and usable by today's commands; a registry newer than the code is refused
by every command with one line that says to upgrade the code."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from cli_runner import run_cli

from registry import Registry
from registry.migrations import head_revision

ASSETS = Path(__file__).resolve().parent / "assets"
ASSET = ASSETS / "registry_0.1.0-8b423ed.sqlite"
OLD_TABLES = (
    "campaigns", "compositions", "samples", "synthesis_records", "xrd_results",
    "conductivity_results", "proposals", "proposal_events", "rounds", "model_runs",
)  # fmt: skip

#: Commands that open the registry; each must refuse an old or a too-new schema.
COMMANDS = [
    ["queue", "list"],
    ["record", "synthesis", "--sample", "NEW-1", "--formula", "Na3Zr2Si2PO12", "--succeeded"],
    ["record", "batch", "__CSV__"],
    ["export", "-o", "__OUT__"],
    ["history", "OLD-1"],
    ["campaign", "list"],
    ["models", "list"],
]


def _expected():
    import importlib.util

    script = ASSETS / "make_old_registry.py"
    spec = importlib.util.spec_from_file_location("make_old_registry", script)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.EXPECTED


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def _rows(path: Path) -> dict[str, list[dict]]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")]
                for t in OLD_TABLES}  # fmt: skip


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    assert ASSET.exists(), f"{ASSET} missing: run python tests/assets/make_old_registry.py"
    copy = tmp_path / "old.db"
    shutil.copyfile(ASSET, copy)
    return copy


def _args(cmd: list[str], tmp_path: Path) -> list[str]:
    csv = tmp_path / "b.csv"
    csv.write_text("sample_id,formula,succeeded\nNEW-2,Na3Zr2Si2PO12,true\n")
    return [str(csv) if a == "__CSV__" else str(tmp_path / "o.csv") if a == "__OUT__" else a
            for a in cmd]  # fmt: skip


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_old_registry_is_refused_until_upgraded(old_db: Path, tmp_path: Path, cmd) -> None:
    before = _dump(old_db)
    run = run_cli(["--db", f"sqlite:///{old_db}", *_args(cmd, tmp_path)], cwd=tmp_path)
    message = run.error_message()
    assert "schema revision 0001" in message and "db upgrade" in message, message
    assert f"nasicon --db 'sqlite:///{old_db}' db upgrade" in message
    assert _dump(old_db) == before


def test_upgrade_keeps_every_old_row_and_todays_commands_work(old_db: Path, tmp_path: Path):
    expected = _expected()
    old_rows = _rows(old_db)
    url = f"sqlite:///{old_db}"
    run = run_cli(["--db", url, "db", "upgrade"], cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert f"from 0001 to revision {head_revision()}" in run.stdout

    # every old column of every old row, unchanged (new columns may be added)
    new_rows = _rows(old_db)
    for table in OLD_TABLES:
        assert len(new_rows[table]) == len(old_rows[table]), table
        for old, new in zip(old_rows[table], new_rows[table], strict=True):
            assert {k: new[k] for k in old} == old, table

    # read back through today's repositories
    with Registry.from_url(url) as reg, reg.unit_of_work(write=False) as uow:
        samples = {s.sample_id: s.formula for s in uow.samples.all()}
        outcomes = uow.outcomes.find(include_history=True)
        history = uow.samples.history("OLD-1")
    assert samples == expected["samples"]
    for kind in ("synthesis", "xrd", "conductivity"):
        assert sum(o.kind == kind for o in outcomes) == expected[kind], kind
    by_kind = {r.kind: r for r in history.records}
    assert by_kind["synthesis"].values["sintering_temperature_k"] == pytest.approx(1473.15)
    assert by_kind["conductivity"].values["sigma_total_s_cm"] == pytest.approx(6.7e-4)
    assert by_kind["xrd"].values["impurity_fraction"] == pytest.approx(0.03)
    assert by_kind["synthesis"].recorded_by == "ann"

    # today's commands on the upgraded file
    assert run_cli(["--db", url, "queue", "list"], cwd=tmp_path).code == 0
    new = ["record", "synthesis", "--sample", "NEW-1", "--formula", "Na3.1Zr1.9Sc0.1Si2PO12"]
    rec = run_cli(["--db", url, *new, "--succeeded", "--by", "dee"], cwd=tmp_path)
    assert rec.code == 0, rec.stderr
    cond = run_cli(["--db", url, "record", "conductivity", "--sample", "OLD-B1", "--total",
                    "1.2", "--unit", "mS/cm", "--supersedes", "2", "--reason", "re-measured",
                    "--by", "dee"], cwd=tmp_path)  # fmt: skip
    assert cond.code == 0, cond.stderr
    out = tmp_path / "export.csv"
    assert run_cli(["--db", url, "export", "-o", str(out)], cwd=tmp_path).code == 0
    assert "OLD-B3" in out.read_text() and "NEW-1" in out.read_text()
    again = run_cli(["--db", url, "db", "upgrade"], cwd=tmp_path)
    assert again.code == 0 and "nothing to do" in again.stdout


@pytest.fixture
def newer_db(old_db: Path, tmp_path: Path) -> Path:
    assert run_cli(["--db", f"sqlite:///{old_db}", "db", "upgrade"], cwd=tmp_path).code == 0
    with sqlite3.connect(old_db) as conn:
        conn.execute("UPDATE nasicon_alembic_version SET version_num = '9999'")
    return old_db


@pytest.mark.parametrize(
    "cmd", [*COMMANDS, ["db", "upgrade"], ["init"]], ids=lambda c: " ".join(c[:2])
)
def test_a_registry_newer_than_the_code_is_refused(newer_db: Path, tmp_path: Path, cmd) -> None:
    before = _dump(newer_db)
    run = run_cli(["--db", f"sqlite:///{newer_db}", *_args(cmd, tmp_path)], cwd=tmp_path)
    message = run.error_message()
    assert "schema revision 9999, newer than this nasicon knows" in message, message
    assert "pip install --upgrade nasicon-loop" in message
    assert _dump(newer_db) == before


def test_db_current_says_which_side_is_behind(old_db: Path, newer_db: Path, tmp_path: Path):
    run = run_cli(["--db", f"sqlite:///{newer_db}", "db", "current"], cwd=tmp_path)
    assert run.code == 0 and "newer than this code" in run.stdout, run.stdout
    older = tmp_path / "older.db"
    shutil.copyfile(ASSET, older)
    run = run_cli(["--db", f"sqlite:///{older}", "db", "current"], cwd=tmp_path)
    assert run.code == 0 and "behind; run: nasicon --db" in run.stdout, run.stdout
