"""``nasicon round`` killed with SIGKILL takes Prefect's temporary API server with it
(issue 17, item 4): the server child watches its parent and stops once it is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from registry_fixtures import NZSP

ROOT = Path(__file__).resolve().parents[1]
DFT = ROOT / "../shared/data/nasicon_dft"
#: How long the orphaned server may take to notice and stop (it checks every 0.25 s).
STOP_WITHIN_S = 20.0


def _server_children(parent: psutil.Process) -> list[psutil.Process]:
    out = []
    for child in parent.children(recursive=True):
        try:
            if "prefect.server.api.server:create_app" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.prefect
@pytest.mark.slow
def test_sigkilled_round_leaves_no_prefect_server(tmp_path: Path) -> None:
    if not (DFT / "train.csv").is_file():
        pytest.skip(f"the DFT data set {DFT} is missing")
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
        "NASICON_DFT_DATA": str(DFT.resolve()),
        "MPLBACKEND": "Agg",
    }
    env.pop("PREFECT_API_URL", None)
    cli = [sys.executable, "-c", "import sys; from nasicon.cli.main import run; run(sys.argv[1:])"]
    subprocess.run([*cli, "--db", url, "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run(
        [*cli, "--db", url, "record", "synthesis", "--sample", "S1", "--formula", NZSP,
         "--succeeded"],
        env=env, cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    log = (tmp_path / "round.log").open("w")
    round_proc = subprocess.Popen(
        [*cli, "--db", url, "round", "--folds", "2", "--trials", "1"],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    parent = psutil.Process(round_proc.pid)
    servers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while not servers and time.monotonic() < deadline and round_proc.poll() is None:
            servers = _server_children(parent)
            time.sleep(0.2)
        assert servers, f"no Prefect server child appeared: {(tmp_path / 'round.log').read_text()}"
        round_proc.send_signal(signal.SIGKILL)
        round_proc.wait(timeout=30)
        deadline = time.monotonic() + STOP_WITHIN_S
        while any(_alive(s) for s in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [s.pid for s in servers if _alive(s)]
        assert not left, f"Prefect server process(es) {left} outlived the killed round"
    finally:
        if round_proc.poll() is None:
            round_proc.kill()
            round_proc.wait()
        for server in servers:
            if _alive(server):
                server.kill()
        log.close()
