"""Make ``tests/assets/registry_0.1.0-8b423ed.sqlite``: a registry written by the first release.

The release (commit 8b423ed, schema revision 0001, CLI ``loop.cli.main``) is extracted with
``git archive`` into a temporary folder and run with this interpreter (its dependencies are
those of today's venv); its own ``init`` creates the registry and its own ``record`` commands
write a few samples and outcomes. The SQLite file is then copied here (tens of KB).

Run from the repository: ``python tests/assets/make_old_registry.py``. The rows it writes are
listed in :data:`EXPECTED` (``tests/test_upgrade_from_release.py`` reads them back).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

RELEASE = "8b423ed"
ASSET = Path(__file__).resolve().parent / f"registry_0.1.0-{RELEASE}.sqlite"
REPO = Path(__file__).resolve().parents[2]

BATCH_CSV = """sample_id,formula,succeeded,sintering_c,phase_pure,phases,sigma_total,sigma_unit
OLD-B1,Na3.2Zr1.8Sc0.2Si2PO12,true,1200,true,NASICON=1.0,1.1,mS/cm
OLD-B2,Na3.5Zr1.5Lu0.5Si2PO12,false,1150,,,,
OLD-B3,Na3.4Zr1.6Y0.4Si2PO12,true,1180,false,NASICON=0.8;ZrO2=0.2,0.4,mS/cm
"""

#: The release's commands, in order (the CLI's arguments after ``nasicon``).
COMMANDS: list[list[str]] = [
    ["init"],
    ["campaign", "add", "old-campaign"],
    ["record", "synthesis", "--sample", "OLD-1", "--formula", "Na3Zr2Si2PO12", "--succeeded",
     "--sintering-c", "1200", "--sintering-h", "12", "--operator", "ann", "--by", "ann"],
    ["record", "xrd", "--sample", "OLD-1", "--phase", "NASICON=0.97", "--phase", "ZrO2=0.03",
     "--by", "ann"],
    ["record", "conductivity", "--sample", "OLD-1", "--total", "0.67", "--unit", "mS/cm",
     "--temperature-c", "25", "--by", "ann"],
    ["record", "synthesis", "--sample", "OLD-2", "--formula", "Na3Zr2Si2PO12", "--failed",
     "--campaign", "old-campaign", "--by", "bob"],
    ["record", "batch", "batch.csv", "--by", "cy"],
]  # fmt: skip

#: What the asset holds: samples (id -> formula) and outcome rows per kind.
EXPECTED = {
    "samples": {
        "OLD-1": "Na3Zr2Si2PO12",
        "OLD-2": "Na3Zr2Si2PO12",
        "OLD-B1": "Na3.2Zr1.8Sc0.2Si2PO12",
        "OLD-B2": "Na3.5Zr1.5Lu0.5Si2PO12",
        "OLD-B3": "Na3.4Zr1.6Y0.4Si2PO12",
    },
    "synthesis": 5,
    "xrd": 3,
    "conductivity": 3,
}


def _run_release(source: Path, workdir: Path, args: list[str]) -> None:
    code = "import sys; sys.argv = ['nasicon', *sys.argv[1:]]; from loop.cli.main import run; run()"
    env = {"PYTHONPATH": str(source), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "HOME": str(workdir)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=workdir, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"release command {args} failed: {done.stderr.strip()}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nasicon-release-") as tmp:
        source, workdir = Path(tmp) / "source", Path(tmp) / "work"
        source.mkdir()
        workdir.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", RELEASE], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        (workdir / "batch.csv").write_text(BATCH_CSV)
        for args in COMMANDS:
            _run_release(source, workdir, args)
        database = workdir / "nasicon.db"
        # fold the write-ahead log into the file, so the asset is one self-contained file
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        with sqlite3.connect(database) as conn:
            conn.execute("VACUUM")
        shutil.copyfile(database, ASSET)
    print(f"wrote {ASSET} ({ASSET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
