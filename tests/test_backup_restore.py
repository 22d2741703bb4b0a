"""``nasicon db backup`` / ``db restore`` on SQLite and PostgreSQL: a backup taken while another
process writes restores into an empty database with the same row counts and file hashes;
refusals (non-empty target, missing or damaged archive, existing output) are one line, exit 2,
nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import run_cli
from conftest import temporary_postgres_database
from registry_fixtures import *  # noqa: F403  (fixtures any_url, postgres_url)
from registry_fixtures import NZSP, row_counts, synthesis

from registry import OutcomeWrite, Registry, store_raw_file
from registry.raw_files import sha256_file

REPO = Path(__file__).resolve().parents[1]

WRITER = """
import sys, time
from registry import OutcomeWrite, Registry
reg = Registry.from_url(sys.argv[1])
i = 0
while True:
    w = OutcomeWrite("synthesis", f"W-{i}", {"succeeded": True}, formula="Na3Zr2Si2PO12")
    reg.run(lambda uow: uow.outcomes.write([w], recorded_by="writer"))
    i += 1
    if i == 5:
        open(sys.argv[2], "w").write("started")
    time.sleep(0.01)
"""


def _seed(url: str, store: Path, tmp_path: Path) -> list[Path]:
    """An initialised registry with samples, outcomes and two raw files referenced by rows."""
    reg = Registry.from_url(url, check_schema=False)
    reg.init_schema()
    stored = []
    for i, text in enumerate(["freq,zre,zim\n1,2,3\n", "2theta,I\n10,5\n"]):
        src = tmp_path / f"raw{i}{'.csv' if i == 0 else '.xy'}"
        src.write_text(text)
        stored.append(store_raw_file(src, store))
    writes = [synthesis(f"S-{i}", NZSP) for i in range(3)]
    writes += [
        OutcomeWrite("conductivity", f"S-{i}", {"sigma_total_s_cm": 1e-3, "temperature_k": 298.15,
                     "raw_path": str(f.path), "raw_sha256": f.sha256})
        for i, f in enumerate(stored)
    ]  # fmt: skip
    reg.run(lambda uow: uow.outcomes.write(writes, recorded_by="ann"))
    reg.close()
    return [f.path for f in stored]


def _cli(url: str, *args: str, cwd: Path):
    return run_cli(["--db", url, "db", *args], cwd=cwd)


@pytest.fixture
def second_url(any_url: str, tmp_path: Path, request: pytest.FixtureRequest):
    """A second empty database of the same kind as ``any_url``."""
    if any_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        with temporary_postgres_database(
            request.getfixturevalue("postgres_server"), "restore"
        ) as u:
            yield u


def test_online_backup_restores_into_an_empty_database(
    any_url: str,
    second_url: str,
    tmp_path: Path,
) -> None:
    store = tmp_path / "raw"
    raw_files = _seed(any_url, store, tmp_path)
    flag = tmp_path / "started"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, any_url, str(flag)], cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert writer.poll() is None, "the writer process died"
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.05)
        archive = tmp_path / "backup.tar.gz"
        run = _cli(any_url, "backup", str(archive), "--with-files", cwd=tmp_path)
        assert run.code == 0, run.stderr
        assert writer.poll() is None, "the writer stopped during the backup"
    finally:
        writer.kill()
        writer.wait()
    after = row_counts(any_url)
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    backed = manifest["tables"]["synthesis_records"]
    assert 3 + 5 <= backed <= after["synthesis_records"]
    assert {f["sha256"] for f in manifest["files"]} == {sha256_file(p) for p in raw_files}
    for path in raw_files:  # the store is lost: the archive's copies are put back
        path.unlink()

    restored = _cli(second_url, "restore", str(archive), cwd=tmp_path)
    assert restored.code == 0, restored.stderr
    assert "counts match the backup" in restored.stdout
    assert "2 files verified by SHA-256, 2 put back" in restored.stdout
    assert all(p.is_file() for p in raw_files)
    counts = row_counts(second_url)
    assert counts == {t: manifest["tables"][t] for t in counts}
    # the restored registry works: today's commands read and write it
    assert run_cli(["--db", second_url, "history", "S-1"], cwd=tmp_path).code == 0
    more = ["record", "synthesis", "--sample", "AFTER", "--formula", NZSP, "--succeeded"]
    assert run_cli(["--db", second_url, *more], cwd=tmp_path).code == 0


def test_a_missing_raw_file_is_listed_after_restore(tmp_path: Path) -> None:
    url, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    raw_files = _seed(url, tmp_path / "raw", tmp_path)
    archive = tmp_path / "b.tar.gz"
    assert _cli(url, "backup", str(archive), cwd=tmp_path).code == 0  # no --with-files
    raw_files[0].unlink()
    run = _cli(target, "restore", str(archive), cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "1 files verified by SHA-256" in run.stdout
    assert f"missing: {raw_files[0]}" in run.stdout


def _refused(run, *needles: str) -> None:
    message = run.error_message()
    for needle in needles:
        assert needle in message, message


def test_refusals_are_one_line_and_write_nothing(any_url: str, tmp_path: Path) -> None:
    _seed(any_url, tmp_path / "raw", tmp_path)
    archive = tmp_path / "b.tar.gz"
    assert _cli(any_url, "backup", str(archive), cwd=tmp_path).code == 0
    before = row_counts(any_url)

    _refused(_cli(any_url, "restore", str(archive), cwd=tmp_path), "is not empty")
    _refused(_cli(any_url, "backup", str(archive), cwd=tmp_path), "already exists")
    _refused(_cli(any_url, "restore", str(tmp_path / "nope.tar.gz"), cwd=tmp_path),
             "does not exist")  # fmt: skip
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:200])
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x00garbage" * 100)
    for bad in (truncated, junk):
        _refused(_cli(empty, "restore", str(bad), cwd=tmp_path), "not a readable nasicon backup")
    no_manifest = tmp_path / "other.tar.gz"
    with tarfile.open(no_manifest, "w:gz") as tar:
        tar.add(tmp_path / "raw", arcname="raw")
    _refused(_cli(empty, "restore", str(no_manifest), cwd=tmp_path), "not a readable")
    assert not (tmp_path / "empty.db").exists() or (tmp_path / "empty.db").stat().st_size == 0
    assert row_counts(any_url) == before


def test_a_backup_restores_only_into_its_own_kind_of_database(tmp_path: Path, postgres_url: str):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    _seed(url, tmp_path / "raw", tmp_path)
    archive = tmp_path / "b.tar.gz"
    assert _cli(url, "backup", str(archive), cwd=tmp_path).code == 0
    _refused(_cli(postgres_url, "restore", str(archive), cwd=tmp_path), "backup of a sqlite")
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()
