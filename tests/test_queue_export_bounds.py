"""Queue claims and exports as a new lab user tries them (issue 17, items 8 and 13): an
absurd ``--hours`` or an output that is a directory is one line, exit 2; another person's
claim is released only with ``--force``; exported CSVs get normal permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cli_runner import run_cli
from registry_fixtures import NZSP, add, proposals, row_counts

from registry import Registry


@pytest.fixture
def lab(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"], cwd=tmp_path).code == 0
    with Registry.from_url(url) as registry:
        add(registry, 1, proposals(NZSP))
    return url


@pytest.mark.parametrize("hours", ["1e9", "8761", "0", "-1", "nan", "inf"])
def test_claim_hours_out_of_bounds_is_one_line(lab: str, tmp_path: Path, hours: str) -> None:
    before = row_counts(lab)
    run = run_cli(
        ["--db", lab, "queue", "claim", "1", "--by", "ann", "--hours", hours], cwd=tmp_path
    )
    assert "at most 8760 hours" in run.error_message()
    assert row_counts(lab) == before


def test_a_year_long_claim_is_accepted(lab: str, tmp_path: Path) -> None:
    run = run_cli(
        ["--db", lab, "queue", "claim", "1", "--by", "ann", "--hours", "8760"], cwd=tmp_path
    )
    assert run.code == 0, run.stderr


def test_release_of_another_persons_claim_needs_force(lab: str, tmp_path: Path) -> None:
    assert run_cli(["--db", lab, "queue", "claim", "1", "--by", "ann"], cwd=tmp_path).code == 0
    before = row_counts(lab)
    run = run_cli(["--db", lab, "queue", "release", "1", "--by", "bob"], cwd=tmp_path)
    assert "claimed by ann, not bob" in run.error_message()
    assert row_counts(lab) == before
    forced = run_cli(["--db", lab, "queue", "release", "1", "--by", "bob", "--force"], cwd=tmp_path)
    assert forced.code == 0, forced.stderr
    with Registry.from_url(lab) as registry, registry.unit_of_work() as uow:
        (p,) = uow.proposals.find()
        events = uow.proposals.events(1)
    assert p.status.value == "queued"
    assert any("over the claim of ann" in str(e) for e in events), events
    own = run_cli(["--db", lab, "queue", "claim", "1", "--by", "ann"], cwd=tmp_path)
    assert own.code == 0
    assert run_cli(["--db", lab, "queue", "release", "1", "--by", "ann"], cwd=tmp_path).code == 0


@pytest.mark.parametrize("target", ["..", ".", "sub/"])
def test_export_to_a_directory_is_one_line(lab: str, tmp_path: Path, target: str) -> None:
    (tmp_path / "sub").mkdir()
    run = run_cli(["--db", lab, "export", "-o", target], cwd=tmp_path)
    assert "is a directory; give a file name" in run.error_message()


def test_export_to_an_unwritable_place_is_one_line(lab: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = run_cli(["--db", lab, "export", "-o", str(blocker / "out.csv")], cwd=tmp_path)
    assert run.error_message().startswith(f"cannot write {blocker / 'out.csv'}")


def test_exported_csv_has_normal_permissions(lab: str, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        run = run_cli(["--db", lab, "export", "-o", "out.csv"], cwd=tmp_path)
    finally:
        os.umask(old)
    assert run.code == 0, run.stderr
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o644


def test_retract_names_the_sample(lab: str, tmp_path: Path) -> None:
    for args in (
        ["record", "synthesis", "--sample", "R7", "--formula", NZSP, "--succeeded"],
        ["record", "xrd", "--sample", "R7", "--phase", "NASICON"],
    ):
        assert run_cli(["--db", lab, *args], cwd=tmp_path).code == 0
    run = run_cli(
        ["--db", lab, "retract", "xrd", "1", "--reason", "wrong pattern", "--by", "ann"],
        cwd=tmp_path,
    )
    assert run.code == 0, run.stderr
    assert "xrd record 1 of sample R7 retracted" in run.stdout
