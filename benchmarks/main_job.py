"""Benchmark of the main job (``make demo``) as a new user meets it: a fresh clone.

The current HEAD is cloned into a temporary folder beside a ``shared`` symlink to this
repository's ``../shared`` (so the clone's ``../shared/data`` resolves, as on a real
machine). There ``make venv`` (python -m venv, pip install -e .) and then ``make demo``
(``nasicon demo``: registry, imports, one closed-loop round, figures) run with a clean
environment; the wall time of each step is measured, and the main job's own clock is read
from its last line ("main job finished in N s"). Uncommitted changes are not in the clone.

The run takes minutes (the install alone, from pip's cache, about 1.5 min on the 2-core
development machine); it writes the ``main_job`` section of docs/benchmarks.md.

Usage: ``python benchmarks/main_job.py [--python python3] [--keep] [--no-write]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import write_section

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 15 * 60
MAIN_JOB_LINE = re.compile(r"main job finished in (\d+) s")
SUMMARY_LINE = re.compile(r"^flow run .*; champion .*$", re.M)
# the clone must not see this checkout's settings, database or interpreter paths
DROPPED_ENV = ("PYTHONPATH", "VIRTUAL_ENV", "PREFECT_HOME", "PREFECT_API_URL", "MAKEFLAGS")


def clean_env() -> dict[str, str]:
    """This environment without NASICON_* settings and paths that point into this checkout."""
    return {
        k: v for k, v in os.environ.items()
        if k not in DROPPED_ENV and not k.startswith("NASICON_")
    }  # fmt: skip


def timed_make(target: str, clone: Path, log: Path, python: str) -> tuple[float, str]:
    """Run ``make TARGET`` in ``clone``; wall seconds and its output (appended to ``log``)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["make", target, f"PYTHON={python}"], cwd=clone, env=clean_env(),
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    output = proc.stdout + proc.stderr
    with log.open("a") as fh:
        fh.write(f"$ make {target}\n{output}\n")
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-30:])
        raise SystemExit(f"make {target} failed (exit {proc.returncode}); last lines:\n{tail}")
    return seconds, output


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="python3", help="interpreter make uses for the venv")
    parser.add_argument("--keep", action="store_true", help="keep the clone (path printed)")
    parser.add_argument("--no-write", action="store_true", help="print, don't write docs")
    args = parser.parse_args()

    shared = (REPO.parent / "shared").resolve()
    if not (shared / "data").is_dir():
        raise SystemExit(f"no data at {shared / 'data'}: the clone needs ../shared beside it")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if dirty:
        print("warning: uncommitted changes are not part of the benchmark", file=sys.stderr)

    tmp = Path(tempfile.mkdtemp(prefix="nasicon-main-job-"))
    (tmp / "shared").symlink_to(shared, target_is_directory=True)
    clone = tmp / "nasicon-loop"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", head], cwd=clone, check=True)
    log = tmp / "make.log"
    load_before = os.getloadavg()[0]
    try:
        venv_s, _ = timed_make("venv", clone, log, args.python)
        demo_s, output = timed_make("demo", clone, log, args.python)
    finally:
        if args.keep:
            print(f"clone and make.log kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()[0]

    own = MAIN_JOB_LINE.search(output)
    summary = SUMMARY_LINE.search(output)
    total = venv_s + demo_s
    verdict = "within" if total <= TARGET_S else "over"
    own_text = f"{own.group(1)} s" if own else "not printed"
    body = f"""
A fresh `git clone` of commit {head[:7]} in a temporary folder beside a `shared` symlink to
`../shared`, clean environment (no `NASICON_*`, `PYTHONPATH` or `PREFECT_HOME`); `make venv`
then `make demo`, as `make demo` alone would do them.

| step | wall time |
|---|---|
| `make venv`: `{args.python} -m venv .venv`, `pip install -e .` (pip's cache as this machine has it) | {venv_s:.0f} s |
| `make demo`: `nasicon demo` (registry, DFT and literature imports, one closed-loop round, figures), incl. start-up | {demo_s:.0f} s |
| of which the main job by its own clock ("main job finished in N s") | {own_text} |
| **total, fresh clone to queued proposals** | **{minutes(total)}** ({total:.0f} s; target 15 min: {verdict}) |

The round's summary line: `{summary.group(0) if summary else "not found in the output"}`

Machine load (1-min load average) {load_before:.1f} before and {load_after:.1f} after the
run on {os.cpu_count()} cores: with other jobs running, times are upper bounds for an idle
machine. The install time depends on pip's cache (a cold cache downloads every wheel).
"""
    print(body)
    if not args.no_write:
        command = "python benchmarks/main_job.py" + (
            "" if args.python == "python3" else f" --python {args.python}"
        )
        print(write_section("main_job", "Main job: `make demo` in a fresh clone", command, body))


if __name__ == "__main__":
    main()
