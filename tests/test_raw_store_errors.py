"""A raw-file store that cannot take the file (a regular file where the folder should be,
read-only, full) and raw files that are not regular files are one line, exit 2, and the
database is untouched (issue 17, items 3 and 12)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli
from registry_fixtures import EIS_EXAMPLE as EIS
from registry_fixtures import lab_with_synthesised_sample, row_counts


@pytest.fixture
def lab(tmp_path: Path) -> str:
    return lab_with_synthesised_sample(tmp_path)


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    if not EIS.is_file():
        pytest.skip(f"shared EIS example {EIS} is missing")
    return EIS


def _typed_with_raw(url: str, raw: Path | str) -> list[str]:
    return ["--db", url, "record", "conductivity", "--sample", "S1", "--total", "1e-3",
            "--unit", "S/cm", "--raw", str(raw)]  # fmt: skip


def _refused(url: str, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    before = row_counts(url)
    run = run_cli(args, cwd=cwd, env=env)
    message = run.error_message()
    assert run.stderr.startswith("error: "), repr(run.stderr)  # no blank line first
    assert row_counts(url) == before
    return message


def test_raw_store_path_that_is_a_regular_file(lab: str, tmp_path: Path, raw_file: Path) -> None:
    blocker = tmp_path / "store"
    blocker.write_text("not a folder")
    for store in (blocker, blocker / "raw"):
        message = _refused(
            lab, _typed_with_raw(lab, raw_file), tmp_path, {"NASICON_RAW_STORE": str(store)}
        )
        assert f"raw-file store {store}" in message and f"{blocker} is a file" in message


def test_read_only_raw_store(lab: str, tmp_path: Path, raw_file: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: a 0o500 folder is writable, the refusal cannot happen")
    store = tmp_path / "store"
    store.mkdir(mode=0o500)
    try:
        message = _refused(
            lab, _typed_with_raw(lab, raw_file), tmp_path, {"NASICON_RAW_STORE": str(store)}
        )
    finally:
        store.chmod(0o700)
    assert "permission denied or read-only" in message


def test_full_raw_store(
    lab: str, tmp_path: Path, raw_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No real full disk without root: the copy into the store fails with ENOSPC."""

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", no_space)
    store = tmp_path / "store"
    message = _refused(
        lab, _typed_with_raw(lab, raw_file), tmp_path, {"NASICON_RAW_STORE": str(store)}
    )
    assert "is full (no space left on the device)" in message
    assert not [p for p in store.rglob("*") if p.is_file()]  # no partial copy left


@pytest.mark.parametrize("option", ["--raw", "--eis", "--pattern"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_raw_file_that_is_not_a_regular_file(
    lab: str, tmp_path: Path, option: str, kind: str
) -> None:
    path = tmp_path / kind
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    args = {
        "--raw": _typed_with_raw(lab, path),
        "--eis": ["--db", lab, "record", "conductivity", "--sample", "S1", "--eis", str(path),
                  "--thickness-mm", "1", "--area-cm2", "1"],
        "--pattern": ["--db", lab, "record", "xrd", "--sample", "S1", "--pattern", str(path)],
    }[option]  # fmt: skip
    message = _refused(lab, args, tmp_path)
    assert "does not exist" not in message
    want = "is a directory" if kind == "directory" else "is not a regular file"
    assert f"{path} {want}" in message


def test_markdown_given_as_impedance_export(lab: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Pellet 7\n\nPressed at *2 t*, sintered overnight.\n")
    args = ["--db", lab, "record", "conductivity", "--sample", "S1", "--eis", str(notes),
            "--thickness-mm", "1", "--area-cm2", "1"]  # fmt: skip
    message = _refused(lab, args, tmp_path)
    assert "is not a recognised impedance export" in message
    assert "Gamry" in message and "BioLogic" in message
