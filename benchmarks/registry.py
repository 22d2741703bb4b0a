"""Benchmark of the experiment registry (issue 4), with what a user would otherwise write.

Measures, in one run:
1. importing the 3881-row DFT data set (canonical compositions, cached descriptors,
   provenance, idempotency checks) against ``pandas.DataFrame.to_sql`` of the two raw
   CSV files into SQLite (no validation, no descriptors);
2. recording results one transaction each (validated, durable: WAL, synchronous=FULL)
   against plain ``sqlite3`` INSERT + COMMIT per row with the same PRAGMAs;
3. two processes recording 1,000 results each at once into one SQLite file and into
   PostgreSQL (wall time, rows/s, retries; all rows checked present exactly once).

Usage: ``python benchmarks/registry.py [--dft PATH] [--results 1000] [--postgres URL]``
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section
from experiments.importers.dft import dft_dataset_files, import_dft
from loop.errors import NasiconError
from registry import OutcomeWrite, Registry

REPO = Path(__file__).resolve().parents[1]
NZSP = "Na3Zr2Si2PO12"
WORKER = """
import json, sys, time
from pathlib import Path
from registry import OutcomeWrite, Registry
url, tag, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
reg = Registry.from_url(url)
Path(f"{start}.{tag}").touch()
while not Path(start).exists():
    time.sleep(0.001)
t0 = time.perf_counter()
for i in range(n):
    writes = [OutcomeWrite("conductivity", f"S{i % 10}", {
        "sigma_total_s_cm": 1e-3, "temperature_k": 298.15, "notes": f"{tag}-{i}"})]
    reg.run(lambda uow: uow.outcomes.write(writes, recorded_by=tag))
print(json.dumps({"seconds": time.perf_counter() - t0, "retries": reg.retries}))
"""


def _fresh_registry(url: str) -> Registry:
    reg = Registry.from_url(url, check_schema=False)
    reg.init_schema()
    return reg


def bench_import(dft: Path, tmp: Path) -> dict[str, float]:
    reg = _fresh_registry(f"sqlite:///{tmp / 'import.db'}")
    t0 = time.perf_counter()
    report = import_dft(reg, dft)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    import_dft(reg, dft)
    again = time.perf_counter() - t0
    reg.close()
    engine = sa.create_engine(f"sqlite:///{tmp / 'to_sql.db'}")
    t0 = time.perf_counter()
    for split in ("train", "test"):
        pd.read_csv(dft / f"{split}.csv").assign(split=split).to_sql(
            "dft", engine, if_exists="append", index=False
        )
    peer = time.perf_counter() - t0
    engine.dispose()
    return {"rows": report.added["computed records"], "first": first, "again": again, "peer": peer}


def bench_single_writes(n: int, tmp: Path, chunk: int = 100) -> dict[str, float]:
    """Both routes alternate in chunks, so disk noise on a shared machine hits both alike."""
    reg = _fresh_registry(f"sqlite:///{tmp / 'writes.db'}")
    first = [OutcomeWrite("synthesis", "S0", {"succeeded": True}, formula=NZSP)]
    reg.run(lambda uow: uow.outcomes.write(first, recorded_by="b"))
    con = sqlite3.connect(tmp / "plain.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
        con.execute(f"PRAGMA {pragma}")
    con.execute(
        "CREATE TABLE results (id INTEGER PRIMARY KEY, sample TEXT, sigma REAL, t REAL, notes TEXT)"
    )
    ours = peer = 0.0
    for start in range(0, n, chunk):
        t0 = time.perf_counter()
        for i in range(start, min(n, start + chunk)):
            values = {"sigma_total_s_cm": 1e-3, "temperature_k": 298.15, "notes": str(i)}
            one = [OutcomeWrite("conductivity", "S0", values)]
            reg.run(lambda uow, one=one: uow.outcomes.write(one, recorded_by="bench"))
        ours += time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(start, min(n, start + chunk)):
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "INSERT INTO results (sample, sigma, t, notes) VALUES (?, ?, ?, ?)",
                ("S0", 1e-3, 298.15, str(i)),
            )
            con.execute("COMMIT")
        peer += time.perf_counter() - t0
    reg.close()
    con.close()
    return {"n": n, "ours": ours, "peer": peer}


def bench_concurrent(url: str, n: int, tmp: Path) -> dict[str, float]:
    reg = _fresh_registry(url)
    samples = [OutcomeWrite("synthesis", f"S{j}", {"succeeded": True}, formula=NZSP)
               for j in range(10)]
    reg.run(lambda uow: uow.outcomes.write(samples, recorded_by="bench"))
    reg.close()
    start = tmp / f"go-{uuid.uuid4().hex[:6]}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, tag, str(n), str(start)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for tag in ("w1", "w2")
    ]  # fmt: skip
    while not all(Path(f"{start}.{t}").exists() for t in ("w1", "w2")):
        if any(p.poll() is not None for p in procs):
            raise SystemExit(procs[0].communicate()[1] + procs[1].communicate()[1])
        time.sleep(0.01)
    t0 = time.perf_counter()
    start.touch()
    outs = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0 or "locked" in err.lower():
            raise SystemExit(f"worker failed: {err}")
        outs.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT notes FROM conductivity_results")).scalars().all()
    engine.dispose()
    assert len(notes) == len(set(notes)) == 2 * n, "rows missing or duplicated"
    return {"wall": wall, "rows": 2 * n, "retries": sum(o["retries"] for o in outs)}


def _postgres_db(admin_url: str) -> tuple[str, sa.Engine, str]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"nasicon_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + f"/{name}", admin, name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dft", type=Path, default=REPO.parent / "shared" / "data" / "nasicon_dft")
    ap.add_argument("--results", type=int, default=1000)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    try:
        dft_dataset_files(args.dft)
    except NasiconError as exc:
        sys.exit(f"error: {exc}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        imp = bench_import(args.dft, tmp)
        print(f"import: {imp}", file=sys.stderr)
        single = bench_single_writes(args.results, tmp)
        print(f"single writes: {single}", file=sys.stderr)
        conc_sqlite = bench_concurrent(f"sqlite:///{tmp / 'conc.db'}", args.results, tmp)
        print(f"concurrent sqlite: {conc_sqlite}", file=sys.stderr)
        conc_pg: dict[str, float] | None = None
        try:
            url, admin, name = _postgres_db(args.postgres)
        except Exception as exc:  # no server: say so in the report
            pg_note = f"PostgreSQL not measured ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        else:
            try:
                conc_pg = bench_concurrent(url, args.results, tmp)
                pg_note = ""
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
            print(f"concurrent postgres: {conc_pg}", file=sys.stderr)
    n = single["n"]
    rows = [
        "| measurement | nasicon registry | peer | ratio (registry / peer) |",
        "|---|---|---|---|",
        f"| import of the DFT data set ({imp['rows']} rows) | {imp['first']:.2f} s "
        f"(re-import, all unchanged: {imp['again']:.2f} s) | pandas `to_sql` of the raw CSVs: "
        f"{imp['peer']:.2f} s | {imp['first'] / imp['peer']:.1f} |",
        f"| {n} results, one transaction each (SQLite, WAL, synchronous=FULL) | "
        f"{single['ours']:.2f} s ({1e3 * single['ours'] / n:.1f} ms/result) | plain `sqlite3` "
        f"INSERT+COMMIT: {single['peer']:.2f} s ({1e3 * single['peer'] / n:.1f} ms/row) | "
        f"{single['ours'] / single['peer']:.1f} |",
        f"| 2 processes x {args.results} results at once, SQLite file | {conc_sqlite['wall']:.2f} s, "
        f"{conc_sqlite['rows'] / conc_sqlite['wall']:.0f} results/s, {conc_sqlite['retries']} "
        "retries, all rows present once | - | - |",
    ]
    if conc_pg is not None:
        rows.append(
            f"| 2 processes x {args.results} results at once, PostgreSQL | {conc_pg['wall']:.2f} s, "
            f"{conc_pg['rows'] / conc_pg['wall']:.0f} results/s, {conc_pg['retries']} retries, "
            "all rows present once | - | - |"
        )
    body = "\n".join(rows) + (
        "\n\nThe registry's import parses every formula, computes and caches the descriptors of "
        "each composition and keeps provenance; `to_sql` copies the CSV cells. The per-result "
        "cost is dominated by the fsync of each commit (synchronous=FULL, kept for durability); "
        "the peer pays the same fsync but validates nothing."
        + (f"\n\n{pg_note}" if conc_pg is None else "")
    )
    doc = write_section(
        "registry",
        "Experiment registry (issue 4)",
        f"python benchmarks/registry.py --results {args.results}",
        body,
    )
    print(body)
    print(f"written to {doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
