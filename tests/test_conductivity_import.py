"""``nasicon import conductivity``: every usable row of the three compilations with its
reference, left-out rows listed, idempotent; a lab's own table refused on any bad row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli
from registry_fixtures import assert_one_error_line, row_counts

from experiments.importers.conductivity import KNOWN_FILES, conductivity_frame, parse_tables
from registry import Registry


@pytest.fixture
def lab(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"]).code == 0
    return url


@pytest.fixture(scope="module")
def tables(shared_dir: Path) -> Path:
    return shared_dir / "data" / "conductivity"


def conductivity_records(url: str) -> pd.DataFrame:
    with Registry.from_url(url) as reg, reg.unit_of_work(write=False) as uow:
        snaps = uow.outcomes.find(kinds=("conductivity",))
    return pd.DataFrame(
        [{"campaign": s.campaign, "sample_id": s.sample_id, **s.values} for s in snaps]
    )


def test_folder_import_keeps_every_usable_row_with_its_reference(lab: str, tables: Path) -> None:
    result = run_cli(["--db", lab, "import", "conductivity", str(tables)])
    assert result.code == 0, result.stderr
    expected = conductivity_frame(tables)
    stored = conductivity_records(lab)
    assert len(stored) == len(expected)
    counts = stored.groupby("campaign").size().to_dict()
    assert counts == expected.groupby("campaign").size().to_dict()
    assert set(counts) == {"obelix", "liverpool", "laskowski"}
    assert stored["notes"].str.startswith("doi:10.").all()
    merged = stored.merge(expected, on=["campaign", "sample_id"], suffixes=("", "_file"))
    assert len(merged) == len(stored)
    assert (merged.sigma_total_s_cm == merged.sigma_s_cm).all()
    assert (merged.temperature_k == merged.temperature_k_file).all()
    assert (merged.notes == merged.reference).all()
    # Laskowski's activation energies are kept on their rows
    lask = merged[merged.campaign == "laskowski"]
    assert lask.ea_ev.notna().sum() == lask.ea_ev_file.notna().sum() > 0
    # left-out rows: listed (first 10), counted, with their reason
    summary, _ = parse_tables(tables)
    assert f"{len(summary.skipped)} left out" in result.stdout
    assert f"... and {len(summary.skipped) - 10} more rows left out" in result.stdout
    assert "M-site total is 2.022 per 12 O" in result.stdout
    assert "is a bound, not a value" in result.stdout
    assert "measured at one other temperature only" in result.stdout


def test_reimport_adds_nothing(lab: str, tables: Path) -> None:
    assert run_cli(["--db", lab, "import", "conductivity", str(tables)]).code == 0
    before = row_counts(lab)
    again = run_cli(["--db", lab, "import", "conductivity", str(tables)])
    assert again.code == 0, again.stderr
    assert row_counts(lab) == before
    assert "nothing changed" in again.stdout


@pytest.mark.parametrize("name", KNOWN_FILES)
def test_one_file(lab: str, tables: Path, name: str) -> None:
    result = run_cli(["--db", lab, "import", "conductivity", str(tables / name)])
    assert result.code == 0, result.stderr
    stored = conductivity_records(lab)
    assert len(stored) == len(conductivity_frame(tables / name)) > 0
    assert stored.campaign.nunique() == 1


def test_missing_folder_names_the_path_and_the_data(lab: str, tmp_path: Path) -> None:
    before = row_counts(lab)
    result = run_cli(["--db", lab, "import", "conductivity", str(tmp_path / "nowhere")])
    assert result.code == 2
    assert_one_error_line(result.stderr, str(tmp_path / "nowhere"), "OBELiX")
    assert row_counts(lab) == before


GOOD = "formula,sigma,unit,temperature_c,reference\nLi1.3Al0.3Ti1.7(PO4)3,0.7,mS/cm,25,lab book 3\n"


def _table(tmp_path: Path, row: str) -> Path:
    path = tmp_path / "mine.csv"
    path.write_text(GOOD + row + "\n")
    return path


def test_a_lab_table_is_stored_in_s_per_cm(lab: str, tmp_path: Path) -> None:
    path = _table(tmp_path, "LiZr2(PO4)3,2e-6,S/cm,80,lab book 4")
    result = run_cli(["--db", lab, "import", "conductivity", str(path)])
    assert result.code == 0, result.stderr
    stored = conductivity_records(lab).sort_values("sample_id")
    assert stored.campaign.unique().tolist() == ["mine"]
    assert stored.sigma_total_s_cm.tolist() == pytest.approx([7e-4, 2e-6])
    assert stored.temperature_k.tolist() == pytest.approx([298.15, 353.15])


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("LiZr2(PO4)3,1e-5,S/m,25,ref", "unit 'S/m' is not one of S/cm, mS/cm"),
        ("LiZr2(PO4)3,1e-5,S/cm,,ref", "measurement temperature is missing"),
        ("LiZr2(PO4)3,-1e-5,S/cm,25,ref", "conductivity -1e-05 is not positive"),
        ("LiZr2(PO4)3,abc,S/cm,25,ref", "conductivity 'abc' is not a number"),
        ("Li2Na1Zr2Si2PO12,1e-5,S/cm,25,ref", "both Li and Na"),
        ("LiK2(PO4)3,1e-5,S/cm,25,ref", "K fits no NASICON site"),
        ("LiZr2(PO4)3,1e-5,S/cm,25,", "reference (DOI) is empty"),
    ],
)
def test_a_bad_lab_row_stores_nothing(lab: str, tmp_path: Path, row: str, needle: str) -> None:
    path = _table(tmp_path, row)
    before = row_counts(lab)
    result = run_cli(["--db", lab, "import", "conductivity", str(path)])
    assert result.code == 2, result.stdout
    assert_one_error_line(result.stderr, "line 3", needle, "nothing stored")
    assert row_counts(lab) == before


def test_an_unknown_table_names_the_columns_it_needs(lab: str, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,value\nx,1\n")
    result = run_cli(["--db", lab, "import", "conductivity", str(path)])
    assert result.code == 2
    assert_one_error_line(result.stderr, "formula, sigma, reference, temperature_c, unit")


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        (["--bulk", "-1e-4", "--unit", "S/cm"], "outside (0, 1) S/cm"),
        (["--gb", "0", "--unit", "S/cm"], "outside (0, 1) S/cm"),
        (["--total", "-2", "--unit", "mS/cm"], "outside (0, 1) S/cm"),
        (["--total", "1e-4", "--unit", "S/m"], "unit 'S/m' is not S/cm or mS/cm"),
    ],
)
def test_record_conductivity_refuses_non_positive_sigma_and_unknown_units(
    lab: str, option: list[str], needle: str
) -> None:
    made = run_cli(
        ["--db", lab, "record", "synthesis", "--sample", "L1", "--formula",
         "Li1.3Al0.3Ti1.7(PO4)3", "--succeeded"]
    )  # fmt: skip
    assert made.code == 0, made.stderr
    before = row_counts(lab)
    result = run_cli(["--db", lab, "record", "conductivity", "--sample", "L1", *option])
    assert result.code == 2
    assert_one_error_line(result.stderr, needle)
    assert row_counts(lab) == before
