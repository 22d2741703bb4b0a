"""Load: 16 concurrent writers recording outcomes and claiming proposals, PostgreSQL vs SQLite.

Each writer is a process calling the registry's services (one transaction per write, as the
CLI and the web API do): it records its share of the outcomes (a synthesis record each,
``Registry.run`` + ``outcomes.write``) and, between writes, tries to claim a random queued
proposal (``flows.services.queue.claim``) until its writes are done. Afterwards every outcome
must be stored exactly once and no proposal claimed twice (the workers' successful claims are
compared with the queue and its event log).

Usage: ``python benchmarks/load.py [--outcomes 5000] [--writers 16] [--postgres URL]``
(PostgreSQL: a temporary database is created on the server of URL and dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOPANTS = ("Sc", "Y", "Lu", "In")


def _proposal_formulas(n: int) -> list[str]:
    out = []
    for i in range(n):
        dopant, x = DOPANTS[i % len(DOPANTS)], 0.01 * (1 + i // len(DOPANTS))
        out.append(f"Na{3 + x:.2f}Zr{2 - x:.2f}{dopant}{x:.2f}Si2PO12")
    return out


def prepare(url: str, proposals: int) -> list[int]:
    """Initialise the registry at ``url`` and queue ``proposals`` proposals; their ids."""
    from registry import Registry

    with Registry.from_url(url, check_schema=False) as reg:
        reg.init_schema()
        items = [
            {"formula": f, "model_run_id": None, "probabilities": {"rf": 0.5},
             "acquisition_score": 0.5, "strategy": "random", "reason": "load"}
            for f in _proposal_formulas(proposals)
        ]  # fmt: skip
        added = reg.run(lambda uow: uow.proposals.add(None, items))
        return list(added)


def _worker(url: str, worker: int, n: int, ids: list[int], seed: int, out: Any, start: Any) -> None:
    from flows.services.queue import claim
    from registry import OutcomeWrite, QueueTransitionError, Registry

    rng = random.Random(seed + worker)
    write_lat: list[float] = []
    claim_lat: list[float] = []
    claimed: list[int] = []
    refused = 0
    with Registry.from_url(url) as reg:
        out.put({"ready": worker})
        start.wait()  # timing starts when every worker is connected and imported
        for i in range(n):
            w = OutcomeWrite("synthesis", f"L{worker}-{i}", {"succeeded": bool(i % 2)},
                             formula="Na3Zr2Si2PO12")  # fmt: skip
            t0 = time.perf_counter()
            reg.run(lambda uow, w=w: uow.outcomes.write([w], recorded_by=f"w{worker}"))
            write_lat.append(time.perf_counter() - t0)
            if i % 4 == 0:
                pid = rng.choice(ids)
                t0 = time.perf_counter()
                try:
                    if claim(reg, pid, f"w{worker}").claimed_by != f"w{worker}":
                        raise AssertionError(f"claim of {pid} returned another claimant")
                    claimed.append(pid)
                except QueueTransitionError:
                    refused += 1
                claim_lat.append(time.perf_counter() - t0)
        retries = reg.retries
    out.put({"worker": worker, "write_lat": write_lat, "claim_lat": claim_lat,
             "claimed": claimed, "refused": refused, "retries": retries})  # fmt: skip


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0


def run_load(url: str, outcomes: int = 5000, writers: int = 16, proposals: int = 400,
             seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Run the load against ``url`` (an empty database) and check it; the figures."""
    ids = prepare(url, proposals)
    ctx = mp.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Event()
    shares = [outcomes // writers + (1 if w < outcomes % writers else 0) for w in range(writers)]
    procs = [ctx.Process(target=_worker, args=(url, w, shares[w], ids, seed, queue, start))
             for w in range(writers)]  # fmt: skip
    for p in procs:
        p.start()
    for _ in procs:
        queue.get(timeout=600)  # ready
    t0 = time.perf_counter()
    start.set()
    results = [queue.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    claimants: dict[int, set[int]] = {}
    for r in results:
        for pid in r["claimed"]:
            claimants.setdefault(pid, set()).add(r["worker"])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*), count(DISTINCT sample_pk) "
                                    "FROM synthesis_records")).one()  # fmt: skip
        samples = conn.execute(sa.text("SELECT count(*) FROM samples")).scalar_one()
        in_db = dict(
            conn.execute(
                sa.text("SELECT id, claimed_by FROM proposals WHERE status = 'claimed'")
            ).all()
        )
        claim_events = conn.execute(
            sa.text(
                "SELECT proposal_id, count(*) FROM proposal_events WHERE to_status = 'claimed' "
                "AND from_status <> 'claimed' GROUP BY proposal_id HAVING count(*) > 1"
            )
        ).all()
    engine.dispose()
    twice = [pid for pid, who in claimants.items() if len(who) > 1]
    by_worker = {pid: f"w{next(iter(who))}" for pid, who in claimants.items()}
    checks = {
        "outcomes stored once": rows[0] == rows[1] == samples == outcomes,
        "no proposal claimed twice": not twice and not claim_events and in_db == by_worker,
    }
    write_lat = [x for r in results for x in r["write_lat"]]
    claim_lat = [x for r in results for x in r["claim_lat"]]
    return {
        "url": url.split("@")[-1], "outcomes": outcomes, "writers": writers, "wall_s": wall,
        "outcomes_per_s": outcomes / wall, "write_p95_ms": 1000 * _p95(write_lat),
        "claim_p95_ms": 1000 * _p95(claim_lat), "claims": len(claimants),
        "claims_refused": sum(r["refused"] for r in results),
        "retries": sum(r["retries"] for r in results), "stored": rows[0], "checks": checks,
    }  # fmt: skip


def _postgres_database(admin_url: str) -> tuple[str, Any]:
    name = f"nasicon_load_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))  # fmt: skip
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    args = parser.parse_args()
    from benchmarks.report import write_section

    pg_url, drop = _postgres_database(args.postgres)
    try:
        pg = run_load(pg_url, args.outcomes, args.writers)
    finally:
        drop()
    with tempfile.TemporaryDirectory() as tmp:
        lite = run_load(f"sqlite:///{Path(tmp) / 'load.db'}", args.outcomes, args.writers)
    print(json.dumps({"postgresql": pg, "sqlite": lite}, indent=1))
    rows = "\n".join(
        f"| {name} | {r['wall_s']:.1f} s | {r['outcomes_per_s']:.0f} | {r['write_p95_ms']:.0f} ms "
        f"| {r['claims']} ({r['claims_refused']} refused: already claimed) | "
        f"{r['claim_p95_ms']:.0f} ms | {r['retries']} | "
        f"{'yes' if all(r['checks'].values()) else 'NO: ' + str(r['checks'])} |"
        for name, r in (("PostgreSQL", pg), ("SQLite file (WAL)", lite))
    )
    body = (
        f"{args.writers} writer processes record {args.outcomes} outcomes in all (one "
        "transaction each) and claim random queued proposals between writes (400 queued).\n\n"
        "| database | wall time | outcomes/s | p95 write latency | claims | p95 claim latency "
        "| retries | every outcome once, no proposal claimed twice |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n\nThroughput ratio PostgreSQL / SQLite under the same load: "
        f"**{pg['outcomes_per_s'] / lite['outcomes_per_s']:.2f}**; p95 write latency ratio "
        f"{pg['write_p95_ms'] / max(lite['write_p95_ms'], 1e-9):.2f}.\n"
    )
    doc = write_section(
        "load", "Load: concurrent writers and claims (issue 17)",
        f"python benchmarks/load.py --outcomes {args.outcomes} --writers {args.writers}", body,
    )  # fmt: skip
    print(f"written to {doc}", file=sys.stderr)
    if not (all(pg["checks"].values()) and all(lite["checks"].values())):
        raise SystemExit("a load check failed")


if __name__ == "__main__":
    main()
