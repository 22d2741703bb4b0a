"""A real ``nasicon web`` for the web tests: the installed command in a subprocess on a free
port, over a real registry (SQLite file or PostgreSQL database), with users made by the
real ``nasicon users add``. No mocks: requests go over TCP to uvicorn.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from registry_fixtures import COUNTED_TABLES, NZSP, SC_NZSP, add, proposals

from registry import Registry

REPO = Path(__file__).resolve().parents[1]
NASICON = Path(sys.executable).with_name("nasicon")
PASSWORD = "correct horse battery"
#: Every table whose row count proves that a refused request wrote nothing.
WEB_COUNTED = (*COUNTED_TABLES, "users")
START_TIMEOUT_S = 60.0


def env_for(url: str) -> dict[str, str]:
    """The environment of a ``nasicon`` subprocess on the registry at ``url``."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["NASICON_DB"] = url
    env.pop("NASICON_CONFIG", None)
    return env


def nasicon(
    args: list[str], cwd: Path, url: str, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run the installed ``nasicon`` on the registry at ``url``."""
    return subprocess.run(
        [str(NASICON), *args], cwd=cwd, env=env_for(url), input=stdin, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def add_user(cwd: Path, url: str, name: str, role: str) -> str:
    """``nasicon users add NAME --role ROLE --password-stdin``; its API token (last line)."""
    proc = nasicon(["users", "add", name, "--role", role, "--password-stdin"], cwd, url,
                   stdin=PASSWORD + "\n")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str) -> None:
    """A fresh registry with two queued proposals (NZSP and Sc-NZSP, round 1)."""
    with Registry.from_url(url, check_schema=False) as registry:
        registry.init_schema()
        add(registry, 1, proposals(NZSP, SC_NZSP))


@dataclass
class Server:
    """A running ``nasicon web``: its base URL, folder, registry URL and users' tokens."""

    url: str
    db_url: str
    cwd: Path
    process: subprocess.Popen
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client of this server (with ``Authorization: Bearer token``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Client:
        """A client logged in through the login form (session cookie, CSRF token read)."""
        client = httpx.Client(base_url=self.url, timeout=60.0)
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        done = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": token, "next": "/queue"})  # fmt: skip
        assert done.status_code == 303, done.text
        return client

    def counts(self) -> dict[str, int]:
        """Rows of every counted table."""
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                        for t in WEB_COUNTED}  # fmt: skip
        finally:
            engine.dispose()

    def stored_files(self) -> list[str]:
        """Every file in the raw store (relative paths)."""
        store = self.cwd / "nasicon_data" / "raw"
        if not store.exists():
            return []
        return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def start(cwd: Path, db_url: str, *extra: str, insecure: bool = True) -> Server:
    """Start ``nasicon web`` in ``cwd`` on a free port and wait until /healthz answers."""
    port = free_port()
    args = [str(NASICON), "web", "--port", str(port), *(["--insecure-cookies"] if insecure else []),
            *extra]  # fmt: skip
    log = open(cwd / f"web-{port}.log", "w")  # closed when the process ends
    proc = subprocess.Popen(args, cwd=cwd, env=env_for(db_url), stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nasicon web exited: {(cwd / f'web-{port}.log').read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return Server(base, db_url, cwd, proc)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"nasicon web did not answer in {START_TIMEOUT_S:g} s")


def launch(folder: Path, db_url: str | None = None, *extra: str, insecure: bool = True) -> Server:
    """A seeded registry (SQLite file in ``folder`` unless ``db_url``), users ``ada`` (admin),
    ``lab`` (lab) and ``val`` (viewer), and a server over it."""
    url = db_url or f"sqlite:///{folder / 'lab.db'}"
    seed(url)
    tokens = {name: add_user(folder, url, name, role)
              for name, role in (("ada", "admin"), ("lab", "lab"), ("val", "viewer"))}  # fmt: skip
    server = start(folder, url, *extra, insecure=insecure)
    server.tokens = tokens
    return server


def xrd_pattern(path: Path, seed_: int = 11) -> Path:
    """A simulated powder pattern of phase-pure NZSP (strained cell, background, noise)."""
    import numpy as np
    from pymatgen.core import Lattice

    from experiments.xrd.references import PROTOTYPE_A, PROTOTYPE_C, nasicon_structure
    from experiments.xrd.simulate import simulate_pattern

    grid = np.round(np.arange(10.0, 80.0 + 1e-9, 0.02), 4)
    nasicon = nasicon_structure(NZSP)
    nasicon.lattice = Lattice.hexagonal(PROTOTYPE_A * 1.01, PROTOTYPE_C * 1.004)
    y = simulate_pattern([(nasicon, 1.0)], grid, zero_shift=0.03, peak_counts=15000,
                         background=200 + 2000 * np.exp(-(grid - 10) / 9),
                         rng=np.random.default_rng(seed_))  # fmt: skip
    np.savetxt(path, np.column_stack([grid, y]), fmt="%.4f")
    return path


def eis_spectrum(path: Path) -> Path:
    """A simulated impedance spectrum of a pellet (R_b 100 kohm, R_gb 50 kohm), CSV."""
    import numpy as np

    from experiments.impedance.simulate import simulate_spectrum

    freq = np.logspace(7, -1, 81)
    spec = simulate_spectrum(freq, r_b=1e5, r_gb=5e4, noise=0.01, rng=np.random.default_rng(3),
                             r0=8.0, q_b=2.5e-11, n_b=0.93, q_gb=1e-8, n_gb=0.85, q_el=1e-6,
                             n_el=0.8)  # fmt: skip
    np.savetxt(path, np.column_stack([spec.frequency_hz, spec.z.real, spec.z.imag]),
               delimiter=",", header="freq_hz,z_real_ohm,z_imag_ohm", comments="")  # fmt: skip
    return path
