"""Faults: ``nasicon`` killed (SIGKILL) at random points of ``record batch``, ``ingest``,
``propose`` and ``round`` leaves a consistent registry and a rerun completes without
duplicates; a PostgreSQL connection dropped mid-transaction is retried (nothing lost or
doubled) and a permanent outage is one line; an unreachable Prefect server fails a round in
one line and the round resumes later without duplicates.

The kill points are seeded random delays after the start, within the wall time of one
uninterrupted run of the same command: 3 per command (``record batch`` and ``propose`` in
``make test``; ``ingest`` and ``round`` behind the ``slow`` marker, since
``tests/test_flows.py`` already kills a round in ``make test``), 20 in the ``slow`` versions.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import run_cli
from fault_helpers import RUN, FaultLab, assert_consistent

from registry import OutcomeWrite, Registry
from registry.engine import application_name

SEED = 20261203
FAST_POINTS, SLOW_POINTS = 3, 20


def _delays(n: int, duration: float, salt: str) -> list[float]:
    rng = random.Random(f"{SEED}-{salt}")
    return [rng.uniform(0.2, 1.0) * duration for _ in range(n)]


def _batch(path: Path, prefix: str, rows: int) -> Path:
    lines = [f"{prefix}-{i},Na3Zr2Si2PO12,{'true' if i % 2 else 'false'},{i % 2}"
             for i in range(rows)]  # fmt: skip
    path.write_text("sample_id,formula,succeeded,phase_pure\n" + "\n".join(lines) + "\n")
    return path


def _batch_rows(lab: FaultLab, prefix: str) -> tuple[int, int, int]:
    """(samples, synthesis rows, xrd rows) of one batch file's samples."""
    like = f"{prefix}-%"
    (samples,) = lab.query("SELECT count(*) FROM samples WHERE sample_id LIKE ?", like)[0]
    (synth,) = lab.query("SELECT count(*) FROM synthesis_records r JOIN samples s ON "
                         "r.sample_pk = s.id WHERE s.sample_id LIKE ?", like)[0]  # fmt: skip
    (xrd,) = lab.query("SELECT count(*) FROM xrd_results r JOIN samples s ON "
                       "r.sample_pk = s.id WHERE s.sample_id LIKE ?", like)[0]  # fmt: skip
    return samples, synth, xrd


def _new_lab(root: Path, dft_data_dir: Path, literature_csv: Path, models: bool) -> FaultLab:
    lab = FaultLab(root)
    lab.write_config(dft_data_dir, literature_csv)
    setup = [["init"], ["import", "dft"], ["import", "literature"]]
    if models:
        setup.append(["retrain"])
    env = {"NASICON_CONFIG": str(root / "nasicon.toml")}
    for args in setup:
        done = run_cli(args, cwd=root, env=env)
        assert done.code == 0, done.stderr
    return lab


@pytest.fixture(scope="module")
def trained_lab(tmp_path_factory, dft_data_dir: Path, literature_csv: Path) -> FaultLab:
    """A registry with the DFT data, the literature records and round 1's models."""
    return _new_lab(tmp_path_factory.mktemp("faults"), dft_data_dir, literature_csv, True)


def _kill_batches(lab: FaultLab, command: list[str], points: int, rows: int, salt: str) -> None:
    duration = lab.timed(*command, str(_batch(lab.root / f"{salt}-t.csv", f"{salt}T", rows)))
    for i, delay in enumerate(_delays(points, duration, salt)):
        prefix = f"{salt}{i}"
        file = _batch(lab.root / f"{prefix}.csv", prefix, rows)
        lab.kill_after(delay, *command, str(file))
        samples, synth, xrd = _batch_rows(lab, prefix)
        assert (samples, synth, xrd) in ((0, 0, 0), (rows, rows, rows)), (
            f"half batch after a kill at {delay:.2f} s: {samples, synth, xrd}"
        )
        assert_consistent(lab)
        again = lab.run(*command, str(file))
        assert again.returncode == 0, again.stderr[-2000:]
        assert _batch_rows(lab, prefix) == (rows, rows, rows), "rerun lost or doubled rows"
    assert_consistent(lab)


def test_record_batch_killed_at_random_points(trained_lab: FaultLab) -> None:
    _kill_batches(trained_lab, ["record", "batch", "--by", "k"], FAST_POINTS, 200, "rb")


@pytest.mark.slow  # make test: tests/test_flows.py kills a round; record batch below
@pytest.mark.prefect
def test_ingest_killed_at_random_points(trained_lab: FaultLab, prefect_api: str) -> None:
    trained_lab.prefect_api = prefect_api
    _kill_batches(trained_lab, ["ingest", "--by", "k"], FAST_POINTS, 200, "in")


def _proposals(lab: FaultLab) -> int:
    return lab.query("SELECT count(*) FROM proposals")[0][0]


def _kill_propose(lab: FaultLab, points: int) -> None:
    command = ["propose", "--batch", "4", "--space", str(lab.root / "small.toml")]
    duration = lab.timed(*command)
    for delay in _delays(points, duration, "propose"):
        before = _proposals(lab)
        lab.kill_after(delay, *command)
        assert _proposals(lab) in (before, before + 4), "half a batch of proposals"
        assert_consistent(lab)
    before = _proposals(lab)
    assert lab.timed(*command) > 0
    assert _proposals(lab) == before + 4
    assert_consistent(lab)


def test_propose_killed_at_random_points(trained_lab: FaultLab) -> None:
    _kill_propose(trained_lab, FAST_POINTS)


def _kill_round(lab: FaultLab, points: int) -> None:
    command = ["round", "--trials", "0"]
    duration = lab.timed(*command)  # round 2 (round 1 is the retrain's)
    for delay in _delays(points, duration, "round"):
        lab.kill_after(delay, *command)
        assert_consistent(lab)
    # whatever round the kills left unfinished is resumed, then one more round runs whole
    for _ in range(2):
        done = lab.run(*command)
        assert done.returncode == 0, done.stderr[-3000:]
        assert_consistent(lab)
    statuses = lab.query("SELECT status FROM rounds ORDER BY number")
    assert statuses[-1] == ("finished",)
    per_round = dict(lab.query("SELECT round_number, count(*) FROM proposals "
                               "WHERE round_number IS NOT NULL GROUP BY round_number"))  # fmt: skip
    finished = [n for (n,) in lab.query("SELECT number FROM rounds WHERE status = 'finished'")]
    assert all(per_round.get(n) == 4 for n in finished if n > 1), per_round


@pytest.mark.slow  # make test keeps test_flows.py's killed-round test (one kill point)
@pytest.mark.prefect
def test_round_killed_at_random_points(
    tmp_path_factory, dft_data_dir: Path, literature_csv: Path, prefect_api: str
) -> None:
    lab = _new_lab(tmp_path_factory.mktemp("round"), dft_data_dir, literature_csv, False)
    lab.prefect_api = prefect_api
    _kill_round(lab, FAST_POINTS)


@pytest.mark.slow
def test_record_batch_killed_at_20_points(trained_lab: FaultLab) -> None:
    _kill_batches(trained_lab, ["record", "batch", "--by", "k"], SLOW_POINTS, 200, "RB")


@pytest.mark.slow
@pytest.mark.prefect
def test_ingest_killed_at_20_points(trained_lab: FaultLab, prefect_api: str) -> None:
    trained_lab.prefect_api = prefect_api
    _kill_batches(trained_lab, ["ingest", "--by", "k"], SLOW_POINTS, 200, "IN")


@pytest.mark.slow
def test_propose_killed_at_20_points(trained_lab: FaultLab) -> None:
    _kill_propose(trained_lab, SLOW_POINTS)


@pytest.mark.slow
@pytest.mark.prefect
def test_round_killed_at_20_points(
    tmp_path_factory, dft_data_dir: Path, literature_csv: Path, prefect_api: str
) -> None:
    lab = _new_lab(tmp_path_factory.mktemp("round20"), dft_data_dir, literature_csv, False)
    lab.prefect_api = prefect_api
    _kill_round(lab, SLOW_POINTS)


# -- Prefect server unreachable ----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.prefect
def test_round_without_prefect_server_fails_in_one_line_and_resumes(
    trained_lab: FaultLab, prefect_api: str
) -> None:
    lab = trained_lab
    rounds_before = lab.query("SELECT count(*) FROM rounds")[0][0]
    down = lab.run("round", "--trials", "0", timeout=300,
                   PREFECT_API_URL=f"http://127.0.0.1:{_closed_port()}/api")  # fmt: skip
    lines = [ln for ln in down.stderr.splitlines() if ln.strip()]
    assert down.returncode == 2 and len(lines) == 1, down.stderr[-3000:]
    assert lines[0].startswith("error: ") and "Prefect" in lines[0], lines[0]
    assert_consistent(lab)
    assert lab.query("SELECT count(*) FROM rounds")[0][0] == rounds_before
    lab.prefect_api = prefect_api
    again = lab.run("round", "--trials", "0")
    assert again.returncode == 0, again.stderr[-3000:]
    assert_consistent(lab)
    assert lab.query("SELECT status FROM rounds ORDER BY number DESC LIMIT 1") == [("finished",)]


# -- PostgreSQL connection dropped, server down ------------------------------------------


def _terminate(admin_url: str, where: str, **params: object) -> int:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(conn.execute(sa.text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}"
            ), params).all())  # fmt: skip
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_dropped_connection_mid_transaction_is_retried_once(
    postgres_url: str, postgres_server: str
) -> None:
    reg = Registry.from_url(postgres_url, check_schema=False)
    reg.init_schema()
    calls = []

    def work(uow):
        calls.append(1)
        uow.outcomes.write([OutcomeWrite("synthesis", "PG-1", {"succeeded": True},
                                         formula="Na3Zr2Si2PO12")], recorded_by="ann")  # fmt: skip
        if len(calls) == 1:  # the server drops this very connection, mid-transaction
            pid = uow.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            assert _terminate(postgres_server, "pid = :pid", pid=pid) == 1
        return uow.session.execute(sa.text("SELECT count(*) FROM samples")).scalar_one()

    assert reg.run(work) == 1
    assert len(calls) == 2
    with reg.unit_of_work(write=False) as uow:
        assert len(uow.samples.all()) == 1
        assert len(uow.outcomes.find(kinds=("synthesis",))) == 1
    reg.close()


@pytest.mark.postgres
def test_cli_connection_killed_mid_batch_loses_and_doubles_nothing(
    postgres_url: str, postgres_server: str, tmp_path: Path
) -> None:
    assert run_cli(["--db", postgres_url, "init"]).code == 0
    rows = 400
    file = _batch(tmp_path / "b.csv", "PGK", rows)
    env = FaultLab(tmp_path).env()
    env.pop("NASICON_CONFIG")  # no config file: --db and the defaults
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "--db", postgres_url, "record", "batch", str(file),
         "--by", "k"], env=env,
        cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    name = f"nasicon:{proc.pid}"
    killed, deadline = 0, time.monotonic() + 240
    while not killed and proc.poll() is None and time.monotonic() < deadline:
        killed = _terminate(postgres_server, "application_name = :n AND xact_start IS NOT NULL "
                            "AND query ILIKE 'INSERT%'", n=name)  # fmt: skip
        time.sleep(0.02)
    _, err = proc.communicate(timeout=600)
    assert killed == 1, f"never saw the batch's transaction: {err[-2000:]}"
    assert proc.returncode == 0, err[-3000:]
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM samples WHERE sample_id LIKE 'PGK-%'"))
        assert n.scalar_one() == rows
        n = conn.execute(sa.text("SELECT count(*) FROM synthesis_records"))
        assert n.scalar_one() == rows
    engine.dispose()


def test_engine_names_its_connections() -> None:
    assert application_name() == f"nasicon:{os.getpid()}"


@pytest.mark.parametrize("command", [["queue", "list"], ["record", "batch", "__CSV__"]])
def test_a_permanent_database_outage_is_one_line(tmp_path: Path, command) -> None:
    file = _batch(tmp_path / "b.csv", "X", 2)
    args = [str(file) if a == "__CSV__" else a for a in command]
    started = time.monotonic()
    run = run_cli(["--db", f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test",
                   *args], cwd=tmp_path)  # fmt: skip
    message = run.error_message()
    assert "cannot reach the registry database" in message, message
    assert time.monotonic() - started < 60
