"""Benchmark of the command line's start-up (issue 12): CPU time of ``nasicon --help`` and
``nasicon describe FORMULA`` against ``python -c "import typer, rich"`` (the floor of any
Typer + rich command line) and ``optuna --help`` (the peer a user knows), all in one run.

CPU time (user + system of the child process, from ``resource.getrusage``) is measured
rather than wall time, so a busy machine disturbs the figure less. Each command runs
``--repeats`` times after one warm-up run (page cache); the median is reported.

Usage: ``python benchmarks/startup.py [--repeats 7] [--no-write]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import write_section

GOAL_RATIO = 2.0
BIN = Path(sys.executable).parent


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU seconds the child ``command`` used (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(command: list[str], repeats: int) -> tuple[float, float, float]:
    """(median, min, max) CPU seconds over ``repeats`` runs after one warm-up."""
    cpu_seconds(command)
    runs = [cpu_seconds(command) for _ in range(repeats)]
    return statistics.median(runs), min(runs), max(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print, don't write docs")
    args = parser.parse_args()

    nasicon = str(BIN / "nasicon")
    commands = {
        'python -c "import typer, rich"': [sys.executable, "-c", "import typer, rich"],
        "nasicon --help": [nasicon, "--help"],
        "nasicon describe Na3Zr2Si2PO12": [nasicon, "describe", "Na3Zr2Si2PO12"],
    }
    optuna = shutil.which("optuna", path=str(BIN))
    if optuna:
        commands["optuna --help (peer)"] = [optuna, "--help"]
    results = {name: median_cpu(cmd, args.repeats) for name, cmd in commands.items()}
    floor = results['python -c "import typer, rich"'][0]
    rows = []
    for name, (med, lo, hi) in results.items():
        rows.append(f"| `{name}` | {med:.3f} s ({lo:.3f}-{hi:.3f}) | {med / floor:.1f}x |")
    help_ratio = results["nasicon --help"][0] / floor
    verdict = "meets" if help_ratio <= GOAL_RATIO else "misses"
    body = (
        f"CPU time (user + system) of each command, median of {args.repeats} runs after a "
        "warm-up (min-max in brackets); ratio to the Typer + rich import floor.\n\n"
        "| command | CPU time | ratio to `import typer, rich` |\n|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\n`nasicon --help` costs **{help_ratio:.2f}x** the floor "
        f"(goal <= {GOAL_RATIO:.0f}x: {verdict})."
    )
    print(body)
    if not args.no_write:
        write_section(
            "startup",
            "Command-line start-up (issue 12)",
            "python benchmarks/startup.py" + (f" --repeats {args.repeats}" if args.repeats != 7 else ""),
            body,
        )


if __name__ == "__main__":
    main()
