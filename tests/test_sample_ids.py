"""Sample ids and compositions as people type them (issue 17, item 11): control
characters and 5,000-character ids are refused, ``s001`` is not a second ``S001``, and a
formula within 1e-4 of another is the same composition."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import run_cli
from registry_fixtures import NZSP, row_counts


@pytest.fixture
def lab(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"], cwd=tmp_path).code == 0
    assert run_cli(_synthesis(url, "S001", NZSP), cwd=tmp_path).code == 0
    return url


def _synthesis(url: str, sample: str, formula: str) -> list[str]:
    return ["--db", url, "record", "synthesis", "--sample", sample, "--formula", formula,
            "--succeeded"]  # fmt: skip


@pytest.mark.parametrize(
    ("sample", "needle"),
    [
        ("A\nB", "control character '\\n'"),
        ("A\tB", "control character '\\t'"),
        ("A\x07B", "control character '\\x07'"),
        ("x" * 5000, "has 5000 characters; at most 64"),
        ("x" * 65, "has 65 characters; at most 64"),
    ],
    ids=["newline", "tab", "bell", "5000-chars", "65-chars"],
)
def test_bad_sample_ids_are_refused(lab: str, tmp_path: Path, sample: str, needle: str) -> None:
    before = row_counts(lab)
    run = run_cli(_synthesis(lab, sample, NZSP), cwd=tmp_path)
    assert needle in run.error_message()
    assert row_counts(lab) == before


def test_an_id_with_inner_spaces_and_64_characters_is_accepted(lab: str, tmp_path: Path) -> None:
    for sample in ("batch 7 pellet 2", "y" * 64):
        run = run_cli(_synthesis(lab, sample, NZSP), cwd=tmp_path)
        assert run.code == 0, run.stderr


def test_an_id_differing_only_by_case_is_refused_naming_the_existing_one(
    lab: str, tmp_path: Path
) -> None:
    before = row_counts(lab)
    run = run_cli(_synthesis(lab, "s001", NZSP), cwd=tmp_path)
    assert "'s001' differs only by case from the existing sample 'S001'" in run.error_message()
    assert row_counts(lab) == before


def test_a_formula_within_1e_4_is_the_same_composition(lab: str, tmp_path: Path) -> None:
    run = run_cli(_synthesis(lab, "S002", "Na3Zr1.9999999Si2PO12"), cwd=tmp_path)
    assert run.code == 0, run.stderr
    engine = sa.create_engine(lab)
    try:
        with engine.connect() as conn:
            formulas = conn.execute(sa.text("SELECT formula FROM compositions")).scalars().all()
    finally:
        engine.dispose()
    assert formulas == [NZSP]


def test_a_result_for_the_id_in_another_case_names_the_existing_one(
    lab: str, tmp_path: Path
) -> None:
    run = run_cli(["--db", lab, "record", "xrd", "--sample", "s001", "--phase", "NASICON"],
                  cwd=tmp_path)  # fmt: skip
    assert "unknown sample id 's001'; did you mean 'S001'?" in run.error_message()
