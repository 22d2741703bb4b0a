"""``pg_dump`` / ``pg_restore`` for backups of a PostgreSQL registry (custom format).

The binaries are looked up in ``PATH``, then in ``/usr/lib/postgresql/*/bin`` (newest
first); without them a backup or restore of PostgreSQL is refused with one line. The
password, if the URL has one, goes to the tools in ``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from registry.errors import RegistryError

log = logging.getLogger(__name__)


def find_tool(name: str) -> str:
    """Path of the PostgreSQL client program ``name`` (pg_dump, pg_restore).

    Raises:
        RegistryError: not installed.
    """
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise RegistryError(
        f"{name} is not installed (not in PATH nor /usr/lib/postgresql/*/bin); a PostgreSQL "
        "backup needs the PostgreSQL client programs (apt-get install postgresql-client)"
    )


def _connection_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return [*args, "--no-password", "--dbname", str(url.database)], env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    log.info("running %s", " ".join(cmd))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = next((ln for ln in done.stderr.splitlines() if ln.strip()), "no message")
        raise RegistryError(f"{what} failed: {detail}")


def dump(url: URL, out: Path, snapshot: str | None = None) -> None:
    """``pg_dump`` the database at ``url`` into ``out`` (custom format), optionally inside an
    exported snapshot (so the dump matches counts read in that snapshot)."""
    conn, env = _connection_args(url)
    cmd = [find_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
           "--file", str(out), *conn]  # fmt: skip
    if snapshot:
        cmd += ["--snapshot", snapshot]
    _run(cmd, env, "pg_dump")


def restore(url: URL, dump_file: Path) -> None:
    """``pg_restore`` ``dump_file`` into the (empty) database at ``url``, in one transaction."""
    conn, env = _connection_args(url)
    cmd = [find_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
           "--single-transaction", *conn, str(dump_file)]  # fmt: skip
    _run(cmd, env, "pg_restore")
