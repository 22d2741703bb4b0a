"""Fixtures and helpers of the registry tests (import with ``from registry_fixtures import *``).

``any_url`` / ``registry`` are parametrised over a SQLite file and the real PostgreSQL
server (skipped, with the reason, when it is unreachable), like Optuna's StorageTestCase.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import run_cli
from conftest import temporary_postgres_database

from registry import AddedProposals, OutcomeWrite, Registry, WriteReport
from registry.migrations import upgrade
from registry.tables import metadata

REPO = Path(__file__).resolve().parents[1]
NASICON = Path(sys.executable).with_name("nasicon")
NZSP = "Na3Zr2Si2PO12"
SC_NZSP = "Na3.2Zr1.8Sc0.2Si2PO12"
LU_NZSP = "Na3.5Zr1.5Lu0.5Si2PO12"

#: Tables whose row counts prove that a refused command wrote nothing (every registry table).
COUNTED_TABLES = tuple(t.name for t in metadata.sorted_tables)
#: Children before parents.
DELETE_ORDER = tuple(reversed(COUNTED_TABLES))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database migrated once for the session (emptied before each test)."""
    with temporary_postgres_database(postgres_server, "nasicon_registry") as url:
        upgrade(url)
        yield url


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            # DELETE with the immutability triggers switched off for this transaction only
            # (much faster than TRUNCATE), then restart the id sequences.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in DELETE_ORDER:
                conn.execute(sa.text(f"DELETE FROM {table}"))
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)")
                )
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """An initialised, empty registry: on a SQLite file, then on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        url = request.getfixturevalue("shared_postgres_url")
        _empty_postgres(url)
    reg = Registry.from_url(url, check_schema=False)
    if request.param == "sqlite":
        reg.init_schema()
    else:
        reg.run(lambda uow: uow.campaigns.ensure("default"))  # what init_schema adds
    yield reg
    reg.close()


@pytest.fixture
def sqlite_registry(sqlite_url: str) -> Iterator[Registry]:
    """An initialised registry on a SQLite file."""
    reg = Registry.from_url(sqlite_url, check_schema=False)
    reg.init_schema()
    yield reg
    reg.close()


def row_counts(url: str) -> dict[str, int]:
    """Rows in every registry table (to prove that nothing was written)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in COUNTED_TABLES
            }
    finally:
        engine.dispose()


class CLIResult:
    """Outcome of an in-process CLI call through the real entry point."""

    def __init__(self, code: int, output: str, error: str | None):
        self.code = code
        self.output = output
        self.error = error


def invoke(args: list[str], cwd: Path | None = None) -> CLIResult:
    """Run ``nasicon ARGS`` in-process through :func:`nasicon.cli.main.run`; ``error`` is
    what it wrote to stderr when it failed (the CLI's own ``error: ...`` line)."""
    run = run_cli(args, cwd=cwd)
    error = run.stderr.strip() if run.code != 0 else None
    return CLIResult(run.code, run.stdout, error)


def run_nasicon(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the installed ``nasicon`` executable."""
    full_env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MPLBACKEND": "Agg"}
    full_env.pop("NASICON_DB", None)
    full_env.update(env or {})
    return subprocess.run(
        [str(NASICON), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


def assert_one_error_line(stderr: str, *needles: str) -> str:
    """The command printed exactly one line, ``error: ...``, containing every needle."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- writes for the repository contract tests --------------------------------------------


def synthesis(sample: str, formula: str = NZSP, succeeded: bool = True, **kw) -> OutcomeWrite:
    return OutcomeWrite("synthesis", sample, {"succeeded": succeeded}, formula=formula, **kw)


def xrd(sample: str, pure: bool = True, impurity: float | None = None, **kw) -> OutcomeWrite:
    values = {"phase_pure": pure, "impurity_fraction": impurity}
    return OutcomeWrite("xrd", sample, values, **kw)


def sigma(sample: str, value: float = 1e-3, **kw) -> OutcomeWrite:
    return OutcomeWrite(
        "conductivity", sample, {"sigma_total_s_cm": value, "temperature_k": 298.15}, **kw
    )


def count(reg: Registry, table: str) -> int:
    with reg.unit_of_work(write=False) as uow:
        return uow.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def write(reg: Registry, writes: list[OutcomeWrite], by: str = "ann", **kw) -> WriteReport:
    """The writes in one unit of work of their own."""
    return reg.run(lambda uow: uow.outcomes.write(writes, recorded_by=by, **kw))


def proposals(*formulas: str) -> list[dict]:
    return [
        {"formula": f, "model_run_id": None, "probabilities": {"rf": 0.9, "gnb": 0.6},
         "acquisition_score": 0.9 - i / 10, "strategy": "exploit", "reason": "high P"}
        for i, f in enumerate(formulas)
    ]  # fmt: skip


def add(reg: Registry, round_number: int | None, items: list[dict]) -> AddedProposals:
    """Queue proposals in one unit of work of their own."""
    return reg.run(lambda uow: uow.proposals.add(round_number, items))


#: A real impedance export of ../shared (eisfitpython, Example2b).
EIS_EXAMPLE = REPO / "../shared/data/eis_examples/eisfitpython/Example2b.txt"


def lab_with_synthesised_sample(folder: Path) -> str:
    """URL of a new SQLite registry in ``folder`` holding sample S1 (NZSP, synthesised),
    made by the real ``nasicon init`` and ``record synthesis``."""
    url = f"sqlite:///{folder / 'lab.db'}"
    assert run_cli(["--db", url, "init"], cwd=folder).code == 0
    args = ["--db", url, "record", "synthesis", "--sample", "S1", "--formula", NZSP, "--succeeded"]
    assert run_cli(args, cwd=folder).code == 0
    return url
