"""Consistent online backups of the registry and their restore into an empty database.

A backup is one tar.gz archive:

* ``manifest.json``: format, database kind, schema revision, time, the row count of every
  table and the list of raw files and model artifacts the rows refer to (path as stored,
  SHA-256, size; ``present`` false when the file was already missing);
* ``database/registry.sqlite`` (SQLite, copied with the sqlite3 backup API while writers go
  on) or ``database/registry.pgdump`` (``pg_dump`` custom format, taken inside the snapshot
  the counts and file list were read in);
* with ``with_files``: ``files/<sha256><suffix>``, a copy of every referenced file.

:func:`restore` writes into an empty database only, then checks every table's row count
against the manifest and every listed file against its SHA-256 (files bundled in the archive
are put back where the rows say they are, if nothing is there).
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from loop.errors import DataMissingError
from registry import pg_tools
from registry.engine import display_url, make_engine, parse_url
from registry.errors import RegistryError
from registry.migrations.settings import VERSION_TABLE
from registry.raw_files import sha256_file

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/registry.sqlite"
PG_MEMBER = "database/registry.pgdump"
#: (table, path column, hash column) of every row that refers to a file.
FILE_REFERENCES = (
    ("xrd_results", "raw_path", "raw_sha256"),
    ("conductivity_results", "raw_path", "raw_sha256"),
    ("model_runs", "artifact_path", "artifact_sha256"),
)


@dataclass(frozen=True)
class BackupReport:
    """What a backup holds."""

    path: Path
    counts: dict[str, int]
    files: list[dict[str, Any]]
    bundled: int  # files copied into the archive

    @property
    def missing(self) -> list[dict[str, Any]]:
        return [f for f in self.files if not f["present"]]


@dataclass(frozen=True)
class RestoreReport:
    """What a restore wrote and what it found."""

    counts: dict[str, int]
    files_ok: int
    missing: list[dict[str, Any]] = field(default_factory=list)  # absent or altered files
    written: int = 0  # files put back from the archive


def _table_counts(conn: sa.Connection) -> dict[str, int]:
    names = sorted(sa.inspect(conn).get_table_names())
    return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in names}


def _file_refs(conn: sa.Connection, tables: set[str]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for table, path_col, hash_col in FILE_REFERENCES:
        if table not in tables:
            continue
        rows = conn.execute(
            sa.text(f"SELECT DISTINCT {path_col}, {hash_col} FROM {table} "
                    f"WHERE {path_col} IS NOT NULL AND {hash_col} IS NOT NULL")
        )  # fmt: skip
        for path, digest in rows:
            p = Path(path)
            seen[(path, digest)] = {
                "table": table, "path": path, "sha256": digest,
                "size": p.stat().st_size if p.is_file() else None, "present": p.is_file(),
            }  # fmt: skip
    return sorted(seen.values(), key=lambda f: (f["table"], f["path"]))


def _revision(conn: sa.Connection, tables: set[str]) -> str | None:
    if VERSION_TABLE not in tables:
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _inventory(conn: sa.Connection) -> tuple[dict[str, int], list[dict[str, Any]], str | None]:
    counts = _table_counts(conn)
    if not counts:
        raise RegistryError("the database is empty: there is nothing to back up")
    return counts, _file_refs(conn, set(counts)), _revision(conn, set(counts))


def _snapshot_sqlite(url: URL, workdir: Path) -> tuple[Path, dict, list, str | None]:
    source = Path(str(url.database))
    if not source.is_file():
        raise DataMissingError(f"there is no registry database at {source}")
    copy = workdir / "registry.sqlite"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # all pages in one step: one consistent read snapshot
    finally:
        dst.close()
        src.close()
    engine = sa.create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            counts, files, revision = _inventory(conn)
    finally:
        engine.dispose()
    return copy, counts, files, revision


def _snapshot_postgres(url: URL, workdir: Path) -> tuple[Path, dict, list, str | None]:
    out = workdir / "registry.pgdump"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            counts, files, revision = _inventory(conn)
            pg_tools.dump(url, out, snapshot=snapshot)  # same snapshot as the counts
            conn.exec_driver_sql("COMMIT")
    except sa.exc.OperationalError as exc:
        raise RegistryError(
            f"cannot back up {display_url(url)}: {str(exc.orig).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()
    return out, counts, files, revision


def backup(url: str, archive: str | Path, *, with_files: bool = False) -> BackupReport:
    """Write a consistent backup of the registry at ``url`` to ``archive`` (tar.gz).

    Raises:
        RegistryError: ``archive`` exists, the database is empty or cannot be dumped.
    """
    parsed = parse_url(url)
    target = Path(archive)
    if target.exists():
        raise RegistryError(f"{target} already exists; give a new file name for the backup")
    if not target.parent.is_dir():
        raise DataMissingError(f"folder {target.parent} does not exist")
    sqlite = parsed.get_backend_name() == "sqlite"
    with tempfile.TemporaryDirectory(prefix="nasicon-backup-") as tmp:
        snap = _snapshot_sqlite if sqlite else _snapshot_postgres
        db_file, counts, files, revision = snap(parsed, Path(tmp))
        manifest = {
            "format": FORMAT, "database": "sqlite" if sqlite else "postgresql",
            "schema_revision": revision, "created_at": datetime.now(UTC).isoformat(),
            "source": display_url(parsed), "tables": counts, "files": files,
            "with_files": with_files,
        }  # fmt: skip
        bundled = 0
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            with tarfile.open(partial, "w:gz") as tar:
                data = json.dumps(manifest, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                tar.add(db_file, arcname=SQLITE_MEMBER if sqlite else PG_MEMBER)
                done: set[str] = set()
                for f in files if with_files else []:
                    if f["present"] and f["sha256"] not in done:
                        member = f"files/{f['sha256']}{Path(f['path']).suffix.lower()}"
                        tar.add(f["path"], arcname=member)
                        done.add(f["sha256"])
                bundled = len(done)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    log.info("backup of %s written to %s", display_url(parsed), target)
    return BackupReport(target, counts, files, bundled)


def _open_archive(path: Path) -> tuple[tarfile.TarFile, dict[str, Any]]:
    if not path.is_file():
        raise DataMissingError(f"backup file {path} does not exist")
    try:
        tar = tarfile.open(path, "r:gz")
        member = tar.extractfile(MANIFEST)
        if member is None:
            raise KeyError(MANIFEST)
        manifest = json.loads(member.read())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("unknown manifest format")
        return tar, manifest
    except (tarfile.TarError, KeyError, ValueError, EOFError, OSError) as exc:
        raise RegistryError(
            f"{path} is not a readable nasicon backup ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'truncated'})"
        ) from None


def _extract(tar: tarfile.TarFile, name: str, dest: Path) -> Path:
    try:
        tar.extract(name, dest, filter="data")
    except (KeyError, tarfile.TarError, EOFError, OSError) as exc:
        raise RegistryError(f"the backup archive is damaged: cannot read {name} ({exc})") from None
    return dest / name


def _assert_empty(url: URL) -> None:
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        if not path.exists() or path.stat().st_size == 0:
            return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
    except sa.exc.OperationalError as exc:
        raise RegistryError(
            f"cannot open {display_url(url)}: {str(exc.orig).splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    if tables:
        raise RegistryError(
            f"{display_url(url)} is not empty ({len(tables)} tables); restore only into an "
            "empty database (a new SQLite file or a freshly created PostgreSQL database)"
        )


def _restore_files(tar: tarfile.TarFile, manifest: dict, tmp: Path) -> tuple[int, int, list]:
    written, ok, missing = 0, 0, []
    members = set(tar.getnames())
    for f in manifest["files"]:
        path = Path(f["path"])
        member = f"files/{f['sha256']}{path.suffix.lower()}"
        if not path.exists() and member in members:
            extracted = _extract(tar, member, tmp)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(extracted, path)
            written += 1
        if path.is_file() and sha256_file(path) == f["sha256"]:
            ok += 1
        else:
            missing.append(f)
    return written, ok, missing


def restore(url: str, archive: str | Path) -> RestoreReport:
    """Restore ``archive`` into the empty database at ``url`` and verify counts and files.

    Raises:
        RegistryError: the archive is not a backup, the target is not empty or of the other
            kind, or the restored row counts differ from the manifest.
    """
    parsed = parse_url(url)
    tar, manifest = _open_archive(Path(archive))
    sqlite = parsed.get_backend_name() == "sqlite"
    kind = "sqlite" if sqlite else "postgresql"
    with tar, tempfile.TemporaryDirectory(prefix="nasicon-restore-") as tmp:
        if manifest.get("database") != kind:
            raise RegistryError(
                f"{archive} is a backup of a {manifest.get('database')} registry; restore it "
                f"into a {manifest.get('database')} database, not {kind}"
            )
        _assert_empty(parsed)
        db_file = _extract(tar, SQLITE_MEMBER if sqlite else PG_MEMBER, Path(tmp))
        if sqlite:
            src = sqlite3.connect(db_file)
            dst = sqlite3.connect(str(parsed.database))
            try:
                src.backup(dst)
            except sqlite3.DatabaseError as exc:
                raise RegistryError(f"the backup's database file is damaged ({exc})") from None
            finally:
                dst.close()
                src.close()
        else:
            pg_tools.restore(parsed, db_file)
        engine = make_engine(parsed)
        try:
            with engine.connect() as conn:
                counts = _table_counts(conn)
        finally:
            engine.dispose()
        if counts != manifest["tables"]:
            diff = {t: (manifest["tables"].get(t), counts.get(t))
                    for t in set(counts) | set(manifest["tables"])
                    if counts.get(t) != manifest["tables"].get(t)}  # fmt: skip
            raise RegistryError(f"restored row counts differ from the backup's: {diff}")
        written, ok, missing = _restore_files(tar, manifest, Path(tmp))
    log.info("restored %s into %s", archive, display_url(parsed))
    return RestoreReport(counts, ok, missing, written)
