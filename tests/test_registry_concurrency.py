"""Two processes record 1,000 results each into one database at the same time.

Every result must be stored exactly once and no 'database is locked' may reach the
user. The SQLite runs use the real busy timeout and a 1 ms one, which forces the
registry's own retry-with-backoff path; PostgreSQL runs against the real server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from registry_fixtures import NZSP, REPO

from registry import OutcomeWrite, Registry

N_RESULTS = 1000
N_SAMPLES = 10
NEW_SAMPLE_EVERY = 50  # also create a sample (racing on shared new compositions)
#: Na(3+x) Zr(2-x) Sc(x) Si2 P O12, x = 0.05 ... 1.0: compositions both workers create.
FORMULAS = [f"Na{3 + x:.2f}Zr{2 - x:.2f}Sc{x:.2f}Si2PO12" for x in (k / 20 for k in range(1, 21))]

WORKER = """
import json, sys, time
from pathlib import Path
from registry import OutcomeWrite, Registry

url, tag, n, start, busy, every = sys.argv[1:7]
n, busy, every = int(n), float(busy), int(every)
formulas = json.loads(sys.argv[7])
reg = Registry.from_url(url, busy_timeout_s=busy)
Path(f"{start}.{tag}.ready").touch()
while not Path(start).exists():
    time.sleep(0.001)
t0 = time.perf_counter()
for i in range(n):
    writes = [OutcomeWrite("conductivity", f"S{i % 10}", {
        "sigma_total_s_cm": 1e-3 * (1 + i % 7), "temperature_k": 298.15, "notes": f"{tag}-{i}"})]
    if i % every == 0:
        writes.append(OutcomeWrite("synthesis", f"{tag}-new-{i}", {"succeeded": True},
                                   formula=formulas[(i // every) % len(formulas)]))
    reg.run(lambda uow: uow.outcomes.write(writes, recorded_by=tag))
print(json.dumps({"retries": reg.retries, "seconds": time.perf_counter() - t0}))
"""


def _setup(url: str) -> None:
    reg = Registry.from_url(url, check_schema=False)
    reg.init_schema()
    samples = [
        OutcomeWrite("synthesis", f"S{j}", {"succeeded": True}, formula=NZSP)
        for j in range(N_SAMPLES)
    ]
    with reg.unit_of_work() as uow:
        uow.outcomes.write(samples, recorded_by="setup")
    reg.close()


def _race(url: str, tmp_path: Path, busy_timeout_s: float) -> list[dict]:
    start = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                url,
                tag,
                str(N_RESULTS),
                str(start),
                str(busy_timeout_s),
                str(NEW_SAMPLE_EVERY),
                json.dumps(FORMULAS),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("w1", "w2")
    ]
    deadline = time.monotonic() + 300
    while not all(Path(f"{start}.{tag}.ready").exists() for tag in ("w1", "w2")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "worker died"
        time.sleep(0.01)
    start.touch()  # both workers are connected and waiting: start them together
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "locked" not in (out + err).lower() and "Traceback" not in err, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def _check(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT notes FROM conductivity_results")).scalars().all()
        samples = conn.execute(sa.text("SELECT count(*) FROM samples")).scalar_one()
        comps = conn.execute(sa.text("SELECT formula FROM compositions")).scalars().all()
    engine.dispose()
    expected = {f"{tag}-{i}" for tag in ("w1", "w2") for i in range(N_RESULTS)}
    assert len(notes) == 2 * N_RESULTS  # all present, none duplicated
    assert set(notes) == expected
    assert samples == N_SAMPLES + 2 * (N_RESULTS // NEW_SAMPLE_EVERY)
    assert len(comps) == len(set(comps)) == 1 + len(FORMULAS)


@pytest.mark.parametrize(
    "busy_timeout_s", [30.0, 0.001], ids=["busy-timeout-30s", "retry-path-1ms"]
)
def test_two_processes_record_into_one_sqlite_file(tmp_path: Path, busy_timeout_s: float) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    _setup(url)
    outputs = _race(url, tmp_path, busy_timeout_s)
    _check(url)
    if busy_timeout_s < 0.01:
        # with a 1 ms busy timeout the writers collide: the retry loop did the queueing
        assert sum(o["retries"] for o in outputs) > 0


@pytest.mark.postgres
def test_two_processes_record_into_one_postgres_database(postgres_url: str, tmp_path: Path) -> None:
    _setup(postgres_url)
    _race(postgres_url, tmp_path, 30.0)
    _check(postgres_url)
