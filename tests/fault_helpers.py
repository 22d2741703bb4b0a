"""Helpers of the fault tests: a lab folder (config, SQLite registry, stores), ``nasicon``
subprocesses killed with SIGKILL after a chosen delay, and the registry's consistency checks
(no row without its file, no orphan file, no half batch, no duplicate)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMALL_SPACE = """
type = "doped-host"
name = "nzsp-small"
description = "Zr with one or two dopants, steps of 0.25"
host = "Zr"
[dopants]
reference = "Zr"
radius_window_pct = 20.0
valence_min = 2
valence_max = 6
extras = []
[metals]
min_cations = 1
max_cations = 3
amount_denominators = [4]
[polyanions]
fixed = { Si = 2.0, P = 1.0 }
[sodium]
min = 0.0
max = 4.0
step = 0.0
"""
RUN = "import sys; from nasicon.cli.main import run; run(sys.argv[1:])"


@dataclass
class FaultLab:
    """A working folder with a config naming its own registry, raw store and model folder."""

    root: Path
    prefect_api: str | None = None

    @property
    def db(self) -> Path:
        return self.root / "registry.db"

    def write_config(self, dft_dir: Path, literature: Path) -> None:
        (self.root / "small.toml").write_text(SMALL_SPACE)
        (self.root / "nasicon.toml").write_text(
            f'[database]\nurl = "sqlite:///{self.db}"\n'
            f'[data]\ndft_path = "{dft_dir}"\nliterature_path = "{literature}"\n'
            f'reports_dir = "{self.root / "reports"}"\nraw_store = "{self.root / "raw"}"\n'
            '[models]\nfolds = 3\ntrials = 0\ncompare = ["tolerance_factor", "gnb"]\n'
            f'tune = []\nartifacts_dir = "{self.root / "models"}"\n'
            f'[proposals]\nspace = "{self.root / "small.toml"}"\nbatch = 4\n'
            "[schedule]\nmin_new_labels = 100000\n"
        )

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NASICON_")}
        env.update(
            NASICON_CONFIG=str(self.root / "nasicon.toml"), PYTHONPATH=str(REPO),
            PREFECT_SERVER_ANALYTICS_ENABLED="false", MPLBACKEND="Agg", COLUMNS="200",
        )  # fmt: skip
        if self.prefect_api:
            env["PREFECT_API_URL"] = self.prefect_api
        env.update(extra)
        return env

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", RUN, *args], cwd=self.root, env=self.env(**env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip

    def run(self, *args: str, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", RUN, *args], cwd=self.root, env=self.env(**env),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def timed(self, *args: str) -> float:
        """Run to the end (must succeed); its wall time, s."""
        t0 = time.monotonic()
        done = self.run(*args)
        assert done.returncode == 0, done.stderr[-3000:]
        return time.monotonic() - t0

    def kill_after(self, delay: float, *args: str) -> int | None:
        """Start ``nasicon ARGS``, SIGKILL its process group after ``delay`` s; the exit code
        if it had already finished, else None."""
        proc = self.start(*args)
        try:
            proc.wait(timeout=delay)
            return proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None
        finally:
            proc.communicate()

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db, timeout=30) as conn:
            return conn.execute(sql, params).fetchall()


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_consistent(lab: FaultLab, *, artifacts_orphans_ok: bool = True) -> None:
    """No row without its file (raw files, model artifacts), no orphan raw file, no sample
    without its synthesis record, no formula queued twice, at most one champion and at most
    one batch of proposals per round, no model trained twice in a round."""
    refs = lab.query(
        "SELECT raw_path, raw_sha256 FROM xrd_results WHERE raw_path IS NOT NULL UNION "
        "SELECT raw_path, raw_sha256 FROM conductivity_results WHERE raw_path IS NOT NULL"
    )
    for path, digest in refs:
        assert Path(path).is_file() and sha256(Path(path)) == digest, f"row without file {path}"
    raw = lab.root / "raw"
    stored = {str(p) for p in raw.rglob("*") if p.is_file()} if raw.exists() else set()
    assert stored <= {p for p, _ in refs}, f"orphan raw files: {stored - {p for p, _ in refs}}"
    arts = lab.query("SELECT artifact_path, artifact_sha256 FROM model_runs "
                     "WHERE artifact_path IS NOT NULL")  # fmt: skip
    for path, digest in arts:
        assert Path(path).is_file() and sha256(Path(path)) == digest, f"run without file {path}"
    if not artifacts_orphans_ok:
        on_disk = {str(p) for p in (lab.root / "models").rglob("*.skops")}
        assert on_disk <= {p for p, _ in arts}, f"orphan artifacts {on_disk - {p for p, _ in arts}}"
    assert lab.query("SELECT count(*) FROM samples s WHERE NOT EXISTS (SELECT 1 FROM "
                     "synthesis_records r WHERE r.sample_pk = s.id)") == [(0,)]  # fmt: skip
    queued = lab.query("SELECT p.composition_id FROM proposals p WHERE status IN "
                       "('queued', 'claimed')")  # fmt: skip
    assert not [c for c, n in Counter(queued).items() if n > 1], "a formula queued twice"
    for rnd, champions in lab.query("SELECT round_number, sum(is_champion) FROM model_runs "
                                    "GROUP BY round_number"):  # fmt: skip
        assert champions <= 1, f"round {rnd} has {champions} champions"
    dup = lab.query("SELECT round_number, algorithm, count(*) FROM model_runs "
                    "GROUP BY round_number, algorithm HAVING count(*) > 1")  # fmt: skip
    assert dup == [], f"model runs trained twice: {dup}"
    batch = lab.query("SELECT round_number, count(*) FROM proposals WHERE round_number IS NOT "
                      "NULL GROUP BY round_number")  # fmt: skip
    assert all(n == 4 for _, n in batch), f"half or double batch of proposals: {batch}"
