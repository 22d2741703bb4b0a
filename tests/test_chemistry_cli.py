"""``nasicon describe`` and ``nasicon featurize`` through the CLI's entry point, in-process
(:func:`cli_runner.run_cli`), and one refusal through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import CLIRun, run_cli

from loop.descriptors import DESCRIPTOR_COLUMNS

NASICON = str(Path(sys.executable).with_name("nasicon"))


def run(*args: str) -> CLIRun:
    return run_cli(list(args), env={"COLUMNS": "200"})


def script(*args: str) -> subprocess.CompletedProcess:
    """The installed ``nasicon`` console script."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "COLUMNS": "200"}
    return subprocess.run([NASICON, *args], capture_output=True, text=True, env=env, timeout=120)


def test_describe_json() -> None:
    result = run("describe", "--json", "Na3Zr2(SiO4)2(PO4)", "Na3.5Zr1.0Ti0.5Lu0.5Si2PO12")
    assert result.code == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["formula"] for r in records] == ["Na3Zr2Si2PO12", "Na3.5ZrLu0.5Ti0.5Si2PO12"]
    assert set(records[0]["descriptors"]) == set(DESCRIPTOR_COLUMNS)
    assert records[1]["descriptors"]["entropy_class"] == "medium"
    assert records[0]["sites"]["M"] == "Zr4+ 2"
    assert isinstance(records[0]["descriptors"]["tf_accessible"], bool)


def test_describe_table() -> None:
    result = run("describe", "NaZr2(PO4)3")
    assert result.code == 0, result.stderr
    assert "ewald_ev_per_atom" in result.stdout and "NaZr2P3O12" in result.stdout


def test_describe_bad_formula_is_one_line_exit_2() -> None:
    result = script("describe", "Na3Zr2Si2PO12", "Na3K2Si2PO12")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: K fits no NASICON site (Na/Li, octahedral M, or polyanion centre Si/P/S)"
    ]
    assert result.stdout == ""


def test_describe_oxidation_override() -> None:
    result = run("describe", "--json", "--ox", "Ti=3", "Na3Ti2(PO4)3")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)[0]["descriptors"]["valence_mean"] == 3.0
    bad = run("describe", "--ox", "Ti3", "Na3Ti2(PO4)3")
    assert "not of the form Ti=3" in bad.error_message()


def test_featurize_writes_every_descriptor(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Na3Zr2Si2PO12", "NaZr2(PO4)3"], "note": ["a", "b"]}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    result = run("featurize", str(src), "-o", str(out))
    assert result.code == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["formula", *DESCRIPTOR_COLUMNS]
    assert list(frame.formula) == ["Na3Zr2Si2PO12", "NaZr2(PO4)3"]


def test_featurize_invalid_rows_fail_without_writing(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Na3Zr2Si2PO12", "Na4Zr2Si2PO12", "Na3Xy2Si2PO12"]}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    result = run("featurize", str(src), "-o", str(out))
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    # lines of the file, the header being line 1, as record batch names them (issue 17)
    assert lines[0].startswith("line 3: 'Na4Zr2Si2PO12': ") and "not charge balanced" in lines[0]
    assert lines[1].startswith("line 4: 'Na3Xy2Si2PO12': unknown element 'Xy'")
    assert (
        lines[-1]
        == "error: 2 of 3 rows are invalid; nothing written (fix them or pass --skip-invalid)"
    )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left behind


def test_featurize_skip_invalid(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Na3Zr2Si2PO12", "Na4Zr2Si2PO12"]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    result = run("featurize", str(src), "-o", str(out), "--skip-invalid")
    assert result.code == 0, result.stderr
    assert "line 3: 'Na4Zr2Si2PO12'" in result.stderr
    assert list(pd.read_csv(out).formula) == ["Na3Zr2Si2PO12"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name\nNa3Zr2Si2PO12\n", "has no 'formula' column"),
        ("", "is not a readable CSV file"),
    ],
)
def test_featurize_bad_files(tmp_path: Path, content: str, message: str) -> None:
    src = tmp_path / "in.csv"
    src.write_text(content)
    result = run("featurize", str(src), "-o", str(tmp_path / "out.csv"))
    assert message in result.error_message()
    assert not (tmp_path / "out.csv").exists()


def test_featurize_missing_input(tmp_path: Path) -> None:
    result = run("featurize", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out.csv"))
    assert result.code == 2
    assert result.stderr.strip() == f"error: input file {tmp_path / 'nope.csv'} does not exist"


def test_featurize_names_file_lines_counting_blank_ones(tmp_path: Path) -> None:
    """Lines as in the file (header = line 1, blank lines counted), like record batch."""
    src = tmp_path / "in.csv"
    src.write_text("formula\nNa3Zr2Si2PO12\n\nNa4Zr2Si2PO12\n")
    result = run("featurize", str(src), "-o", str(tmp_path / "out.csv"))
    assert result.code == 2
    assert "line 4: 'Na4Zr2Si2PO12'" in result.stderr
    assert "row " not in result.stderr
