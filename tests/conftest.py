"""Shared fixtures: paths to ../shared data, database URLs (SQLite file, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NASICON_SHARED", REPO.parent / "shared"))
POSTGRES_ADMIN_URL = os.environ.get(
    "NASICON_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist runs the suite in worker processes (``make test``: two, one per core). Each
# worker gets its own Prefect home, so two temporary Prefect servers never migrate one
# SQLite file at the same time; ``nasicon`` subprocesses inherit it.
if _worker := os.environ.get("PYTEST_XDIST_WORKER"):
    _home = Path(os.environ.get("PREFECT_HOME", REPO / ".prefect"))
    (_home / f"xdist-{_worker}").mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(_home / f"xdist-{_worker}")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(
            f"{what} not found at {path}: the tests read it from ../shared beside the repository "
            "(or set NASICON_SHARED)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder."""
    return _require(SHARED, "the shared data folder")


@pytest.fixture(scope="session")
def dft_data_dir(shared_dir: Path) -> Path:
    """Folder of the 3881-row DFT data set (train.csv, test.csv)."""
    return _require(shared_dir / "data" / "nasicon_dft", "the NASICON DFT data set")


@pytest.fixture(scope="session")
def dft_frame(dft_data_dir: Path):
    """All 3881 rows of the DFT data set, train rows first, with a 'split' column."""
    import pandas as pd

    train = pd.read_csv(dft_data_dir / "train.csv").assign(split="train")
    test = pd.read_csv(dft_data_dir / "test.csv").assign(split="test")
    return pd.concat([train, test], ignore_index=True)


@pytest.fixture(scope="session")
def literature_csv(shared_dir: Path) -> Path:
    """The Zuo et al. literature records CSV."""
    return _require(
        shared_dir / "data" / "literature" / "zuo2026_entropy_nzsp.csv", "the literature CSV"
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file in a temporary folder."""
    return f"sqlite:///{tmp_path / 'registry.db'}"


def _postgres_reachable() -> str | None:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: no server to test against
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Admin URL of the PostgreSQL server; skips (saying why) when none is reachable."""
    reason = _postgres_reachable()
    if reason is not None:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({reason})")
    return POSTGRES_ADMIN_URL


@contextmanager
def temporary_postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server of ``admin_url``; yield its URL; drop it."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with temporary_postgres_database(postgres_server, "nasicon_test") as url:
        yield url


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """URL of a temporary Prefect server (its own database) shared by the session's tests."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()
