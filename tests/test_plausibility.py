"""Implausible outcomes are refused with the reason, borderline ones stored with a warning,
and a typed conductivity needs its unit (issue 17, item 10), on the command line and in a
batch file (both go through experiments.records)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from registry_fixtures import EIS_EXAMPLE as EIS
from registry_fixtures import NZSP, lab_with_synthesised_sample, row_counts


@pytest.fixture
def lab(tmp_path: Path) -> str:
    return lab_with_synthesised_sample(tmp_path)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["conductivity", "--total", "1.3"], "give the unit of the typed conductivity"),
        (["conductivity", "--total", "1.3", "--unit", "S/cm"], "outside (0, 1) S/cm"),
        (["conductivity", "--total", "1", "--unit", "S/cm"], "outside (0, 1) S/cm"),
        (
            ["conductivity", "--total", "2e-3", "--bulk", "1e-3", "--unit", "S/cm"],
            "total conductivity 0.002 S/cm is above the bulk conductivity 0.001 S/cm",
        ),
        (["xrd", "--phase", "NASICON", "--rwp", "500"], "R_wp 500 % is above 100 %"),
        (["conductivity", "--total", "1e-3", "--unit", "S/cm", "--raw", "/etc/passwd"],
         "does not read as an impedance export"),
    ],
    ids=["no-unit", "1.3-S/cm", "1-S/cm", "total-above-bulk", "rwp-500", "raw-passwd"],
)  # fmt: skip
def test_implausible_values_are_refused(
    lab: str, tmp_path: Path, args: list[str], needle: str
) -> None:
    before = row_counts(lab)
    run = run_cli(["--db", lab, "record", *args, "--sample", "S1"], cwd=tmp_path)
    assert needle in run.error_message()
    assert row_counts(lab) == before


def test_a_synthesis_dated_2099_is_refused(lab: str, tmp_path: Path) -> None:
    args = ["record", "synthesis", "--sample", "S2", "--formula", NZSP, "--succeeded",
            "--date", "2099-01-01"]  # fmt: skip
    run = run_cli(["--db", lab, *args], cwd=tmp_path)
    assert "synthesis date 2099-01-01 is in the future" in run.error_message()


def test_a_one_metre_pellet_is_refused(lab: str, tmp_path: Path) -> None:
    if not EIS.is_file():
        pytest.skip(f"shared EIS example {EIS} is missing")
    args = ["record", "conductivity", "--sample", "S1", "--eis", str(EIS),
            "--thickness-mm", "1000", "--area-cm2", "1"]  # fmt: skip
    run = run_cli(["--db", lab, *args], cwd=tmp_path)
    assert "pellet thickness 1000 mm is above 20 mm" in run.error_message()


def test_a_borderline_conductivity_is_stored_with_a_warning(
    lab: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = ["record", "conductivity", "--sample", "S1", "--total", "500", "--unit", "mS/cm"]
    with caplog.at_level("WARNING", logger="experiments.plausibility"):
        run = run_cli(["--db", lab, *args], cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert any("0.5 S/cm is above 0.1 S/cm" in r.getMessage() for r in caplog.records)


def test_batch_rows_get_the_same_checks(lab: str, tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    path.write_text(
        "sample_id,formula,sigma_total,sigma_bulk,sigma_unit,phases,rwp\n"
        f"S1,{NZSP},2,1,mS/cm,,\n"
        f"S1,{NZSP},,,,NASICON,500\n"
    )
    before = row_counts(lab)
    run = run_cli(["--db", lab, "record", "batch", str(path)], cwd=tmp_path)
    assert run.code == 2
    assert "line 2: total conductivity 0.002 S/cm is above the bulk" in run.stderr
    assert "line 3: R_wp 500 % is above 100 %" in run.stderr
    assert row_counts(lab) == before
