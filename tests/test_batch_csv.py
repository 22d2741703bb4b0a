"""Batch CSV files as people and spreadsheets write them (issue 17, item 1): a row with a
field too many or too few is named by its line and nothing is stored (never shifted into
the wrong columns); semicolon-separated files with decimal commas and a BOM are read; a
huge bad file lists its first rows and counts the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import run_cli
from registry_fixtures import NZSP, SC_NZSP, row_counts

from nasicon.cli.output import MAX_PROBLEM_LINES


@pytest.fixture
def lab(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"], cwd=tmp_path).code == 0
    return url


def _write(tmp_path: Path, data: bytes | str, name: str = "batch.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _column(url: str, sql: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(sa.text(sql)).scalars())
    finally:
        engine.dispose()


def test_a_row_with_an_extra_field_is_named_and_nothing_is_stored(lab: str, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"sample_id,formula,succeeded\nB6,{SC_NZSP},true\nB7,B7x,{NZSP},true\n",
    )
    before = row_counts(lab)
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path)
    assert run.code == 2, run.stdout
    assert "line 3: has 4 fields, the header has 3" in run.stderr
    assert row_counts(lab) == before


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        (f"B8,{NZSP},true,\n", 2, "has 4 fields, the header has 3 (a trailing delimiter"),
        (f"B8,{NZSP}\n", 2, "has 2 fields, the header has 3"),
        (f"\nB8,{NZSP},true\n\nB9,{NZSP}\n", 5, "has 2 fields"),
    ],
    ids=["trailing-comma", "missing-field", "blank-lines-counted"],
)
def test_field_count_differing_from_the_header_is_refused_by_line(
    lab: str, tmp_path: Path, body: str, line: int, needle: str
) -> None:
    path = _write(tmp_path, "sample_id,formula,succeeded\n" + body)
    before = row_counts(lab)
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path)
    assert run.code == 2
    assert f"line {line}: {needle}" in run.error_lines[-1], run.stderr
    assert row_counts(lab) == before


def test_excel_semicolon_file_with_decimal_commas_and_bom_is_read(lab: str, tmp_path: Path) -> None:
    text = (
        "sample_id;formula;succeeded;sigma_total;sigma_unit;phases\r\n"
        f'E1;{NZSP};true;1,2;mS/cm;"NASICON=0,98;ZrO2=0,02"\r\n'
        f"E2;{SC_NZSP};false;;;\r\n"
    )
    path = _write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "semicolon-separated, decimal comma" in run.stdout
    assert _column(lab, "SELECT sample_id FROM samples") == ["E1", "E2"]
    sigma = _column(lab, "SELECT sigma_total_s_cm FROM conductivity_results")
    assert sigma == [pytest.approx(1.2e-3)]
    (phases,) = _column(lab, "SELECT phases FROM xrd_results")
    assert "0.98" in phases and "0.02" in phases, phases


def test_a_comma_file_says_how_it_was_read(lab: str, tmp_path: Path) -> None:
    path = _write(tmp_path, f"sample_id,formula,succeeded\nC1,{NZSP},true\n")
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "comma-separated, decimal point" in run.stdout


def test_a_huge_bad_batch_lists_the_first_rows_and_counts_the_rest(
    lab: str, tmp_path: Path
) -> None:
    n = 5000
    rows = "".join(f"X{i},{NZSP},maybe\n" for i in range(n))
    path = _write(tmp_path, "sample_id,formula,succeeded\n" + rows)
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path)
    assert run.code == 2
    lines = run.error_lines
    assert len(lines) == MAX_PROBLEM_LINES + 2, lines[:3]
    assert lines[0].startswith("line 2: ")
    assert lines[-2] == f"... and {n - MAX_PROBLEM_LINES} more"
    assert lines[-1].startswith(f"error: {n} of {n} rows are invalid")


@pytest.mark.parametrize(
    ("variable", "limit", "needle"),
    [
        ("NASICON_LIMITS__MAX_BATCH_ROWS", "3", "has more than 3 rows, the limit"),
        ("NASICON_LIMITS__MAX_BATCH_BYTES", "100", "bytes, more than the limit of 100"),
    ],
    ids=["rows", "bytes"],
)
def test_a_batch_over_the_configured_limit_is_one_line(
    lab: str, tmp_path: Path, variable: str, limit: str, needle: str
) -> None:
    rows = "".join(f"L{i},{NZSP},true\n" for i in range(4))
    path = _write(tmp_path, "sample_id,formula,succeeded\n" + rows)
    before = row_counts(lab)
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path, env={variable: limit})
    assert needle in run.error_message()
    assert row_counts(lab) == before
    assert run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path).code == 0
