"""``nasicon record xrd --pattern`` and ``record conductivity --eis``: a raw file in, the file
kept by SHA-256 and the numbers derived from it stored in one transaction (issue 9, "CLI
and registry"). Every command runs as the installed executable on a real SQLite file, on
patterns and spectra the tests simulate themselves.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from pymatgen.core import Lattice
from registry_fixtures import LU_NZSP, NZSP, assert_one_error_line, row_counts, run_nasicon

from experiments.impedance import ANALYSIS_VERSION as EIS_VERSION
from experiments.impedance.simulate import simulate_spectrum
from experiments.measurement_store import store_measurement
from experiments.measurements import xrd_measurement
from experiments.records import SynthesisRecord, store_records
from experiments.training_data import training_frame
from experiments.xrd import ANALYSIS_VERSION as XRD_VERSION
from experiments.xrd import reference_phases
from experiments.xrd.references import PROTOTYPE_A, PROTOTYPE_C, nasicon_structure
from experiments.xrd.simulate import simulate_pattern
from loop.errors import ValidationError
from registry import RecordErrors, Registry

GRID = np.round(np.arange(10.0, 80.0 + 1e-9, 0.02), 4)
FREQ = np.logspace(7, -1, 81)  # 10 MHz .. 0.1 Hz
#: Simulated pellet: R_b 100 kohm, R_gb 50 kohm, bulk ~1e-11 F, grain boundary ~1e-9 F.
R_B, R_GB = 1.0e5, 5.0e4
PELLET = {"r0": 8.0, "q_b": 2.5e-11, "n_b": 0.93, "q_gb": 1e-8, "n_gb": 0.85}
ELECTRODE = {"q_el": 1e-6, "n_el": 0.8}
THICKNESS_MM, AREA_CM2 = 1.5, 0.8


# -- data the tests make -------------------------------------------------------------------


def _pattern(formula: str, zro2_fraction: float, seed: int) -> np.ndarray:
    """NASICON of ``formula`` (strained cell) + m-ZrO2, with background, zero shift, noise."""
    nasicon = nasicon_structure(formula)
    nasicon.lattice = Lattice.hexagonal(PROTOTYPE_A * 1.01, PROTOTYPE_C * 1.004)
    zro2 = next(p for p in reference_phases() if p.name == "m-ZrO2").structure
    background = 200 + 2000 * np.exp(-(GRID - 10) / 9)
    return simulate_pattern(
        [(nasicon, 1 - zro2_fraction), (zro2, zro2_fraction)],
        GRID,
        zero_shift=0.03,
        peak_counts=15000,
        background=background,
        rng=np.random.default_rng(seed),
    )


def _write_xy(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    np.savetxt(path, np.column_stack([x, y]), fmt="%.4f")
    return path


def _write_eis_csv(path: Path, f: np.ndarray, z: np.ndarray) -> Path:
    np.savetxt(
        path,
        np.column_stack([f, z.real, z.imag]),
        delimiter=",",
        header="freq_hz,z_real_ohm,z_imag_ohm",
        comments="",
    )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Patterns and spectra (good and bad) written once for the module."""
    d = tmp_path_factory.mktemp("raw_input")
    pure = _pattern(NZSP, 0.0, seed=11)
    spec = simulate_spectrum(
        FREQ, r_b=R_B, r_gb=R_GB, noise=0.01, rng=np.random.default_rng(3), **PELLET, **ELECTRODE
    )
    rng = np.random.default_rng(4)
    noise_z = rng.normal(0, 1e3, FREQ.size) + 1j * rng.normal(0, 1e3, FREQ.size)
    swapped = GRID.copy()
    swapped[[100, 101]] = swapped[[101, 100]]
    garbage = d / "scan.xy"
    garbage.write_text("sample S1, scanned on the D8\nno numbers in this file\n")
    empty = d / "empty.csv"
    empty.write_bytes(b"")
    return {
        "pure": _write_xy(d / "nzsp_pure.xy", GRID, pure),
        "zro2_10": _write_xy(d / "lu_nzsp_10pct_zro2.xy", GRID, _pattern(LU_NZSP, 0.10, seed=5)),
        "not_increasing": _write_xy(d / "swapped.xy", swapped, pure),
        "garbage_xy": garbage,
        "spectrum": _write_eis_csv(d / "pellet_60c.csv", spec.frequency_hz, spec.z),
        "nine_points": _write_eis_csv(d / "nine.csv", spec.frequency_hz[:9], spec.z[:9]),
        "noise": _write_eis_csv(d / "noise.csv", FREQ, noise_z),
        "empty_csv": empty,
    }


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with samples S1 (NZSP) and S2 (Lu-NZSP), both synthesised."""
    path = tmp_path_factory.mktemp("template") / "lab.db"
    with Registry.from_url(f"sqlite:///{path}", check_schema=False) as registry:
        registry.init_schema()
        records = [
            SynthesisRecord.create("S1", NZSP, True),
            SynthesisRecord.create("S2", LU_NZSP, True),
        ]
        store_records(registry, records, recorded_by="test")
    return path


class Lab:
    """A copy of the template registry with its own raw store and reports folder."""

    def __init__(self, template: Path, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.db = root / "lab.db"
        with sqlite3.connect(template) as src, sqlite3.connect(self.db) as dst:
            src.backup(dst)
        self.url = f"sqlite:///{self.db}"
        self.store = root / "raw"
        self.reports = root / "reports"
        self.root = root

    @property
    def env(self) -> dict[str, str]:
        return {
            "NASICON_RAW_STORE": str(self.store),
            "NASICON_DATA__REPORTS_DIR": str(self.reports),
        }

    def run(self, *args: str):
        return run_nasicon(["--db", self.url, "record", *args], cwd=self.root, env=self.env)

    def stored_files(self) -> list[Path]:
        return (
            sorted(p for p in self.store.rglob("*") if p.is_file()) if self.store.exists() else []
        )

    def rows(self, table: str) -> list[dict]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
        finally:
            engine.dispose()


@pytest.fixture
def lab(template_db: Path, tmp_path: Path) -> Lab:
    return Lab(template_db, tmp_path / "lab")


def _assert_kept(lab: Lab, original: Path, raw_path: str, sha256: str) -> None:
    """The raw file sits in the store under its SHA-256 name, byte for byte the original."""
    kept = Path(raw_path)
    content = original.read_bytes()
    assert sha256 == hashlib.sha256(content).hexdigest()
    assert kept == lab.store / sha256[:2] / f"{sha256}{original.suffix}"
    assert kept.read_bytes() == content
    assert lab.stored_files() == [kept]


def _labels(lab: Lab) -> dict[str, tuple[int, str]]:
    with Registry.from_url(lab.url) as registry:
        frame = training_frame(registry)
    return {r.formula: (r.label, r.source) for r in frame.itertuples()}


# -- a pattern or spectrum recorded ------------------------------------------------------------


def test_a_phase_pure_pattern_is_stored_with_its_file_and_labels_the_composition_1(
    lab: Lab, files: dict[str, Path]
) -> None:
    done = lab.run("xrd", "--sample", "S1", "--pattern", str(files["pure"]), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["phase_pure"] is True and out["label"]["value"] == 1
    (row,) = lab.rows("xrd_results")
    assert row["id"] == out["record_id"]
    assert row["phase_pure"] == 1 and row["analysis_version"] == XRD_VERSION
    assert row["raw_sha256"] == out["raw_sha256"]
    _assert_kept(lab, files["pure"], row["raw_path"], row["raw_sha256"])
    phases = {p["name"]: p["weight_fraction"] for p in json.loads(row["phases"])}
    assert phases["NASICON"] > 0.98 and abs(sum(phases.values()) - 1) < 1e-4
    assert row["rwp"] == pytest.approx(out["rwp"]) and 0 < row["rwp"] < 20
    assert row["space_group"] == "R-3c"
    assert row["a_a"] == pytest.approx(PROTOTYPE_A * 1.01, rel=2e-3)
    assert row["c_a"] == pytest.approx(PROTOTYPE_C * 1.004, rel=2e-3)
    png = Path(out["plot"])
    assert png.parent.parent == lab.reports and png.read_bytes()[:4] == b"\x89PNG"
    assert json.loads(Path(out["report"]).read_text())["raw_sha256"] == row["raw_sha256"]
    assert _labels(lab) == {NZSP: (1, "experiment")}


def test_a_pattern_with_10_wt_percent_zro2_labels_the_composition_0(
    lab: Lab, files: dict[str, Path]
) -> None:
    done = lab.run("xrd", "--sample", "S2", "--pattern", str(files["zro2_10"]))
    assert done.returncode == 0, done.stderr
    assert "NOT phase pure" in done.stdout and "not synthesizable" in done.stdout
    (row,) = lab.rows("xrd_results")
    assert row["phase_pure"] == 0
    phases = {p["name"]: p["weight_fraction"] for p in json.loads(row["phases"])}
    assert abs(phases["m-ZrO2"] - 0.10) < 0.02, phases
    assert row["impurity_fraction"] > 0.02
    _assert_kept(lab, files["zro2_10"], row["raw_path"], row["raw_sha256"])
    assert _labels(lab) == {LU_NZSP: (0, "experiment")}


@pytest.mark.parametrize(
    "scan", ["NH4H2PO4-Na2CO3_200C_60min.xrdml", "CaCO3-NH4H2PO4_200C_60min.xrdml"]
)
def test_a_real_scan_without_nasicon_is_a_failed_synthesis(
    lab: Lab, shared_dir: Path, scan: str
) -> None:
    """The real precursor scans: verdict no_nasicon stored, no NASICON fraction, label 0."""
    pattern = shared_dir / "data" / "xrd_examples" / scan
    done = lab.run("xrd", "--sample", "S1", "--pattern", str(pattern), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["verdict"] == "no_nasicon" and out["nasicon_fraction"] is None
    assert out["label"]["value"] == 0
    (row,) = lab.rows("xrd_results")
    assert row["verdict"] == "no_nasicon" and row["verdict_reason"] == out["reason"]
    assert row["phase_pure"] == 0 and row["impurity_fraction"] is None
    assert json.loads(row["phases"] or "null") is None  # no phases, no NASICON fraction
    assert row["a_a"] is None and row["space_group"] is None
    _assert_kept(lab, pattern, row["raw_path"], row["raw_sha256"])
    assert _labels(lab) == {NZSP: (0, "experiment")}


def test_the_analysis_verdicts_are_the_ones_the_table_accepts() -> None:
    from experiments.xrd import VERDICTS
    from registry.tables import XRD_VERDICTS

    assert tuple(VERDICTS) == XRD_VERDICTS


def test_an_inconclusive_pattern_is_stored_without_a_label(
    lab: Lab, tmp_path: Path
) -> None:
    """An unexplained strong peak: verdict inconclusive, phase_pure unknown, no label."""
    y = _pattern(NZSP, 0.0, seed=7)
    y = y + np.random.default_rng(8).poisson(3000 * np.exp(-(((GRID - 26.0) / 0.06) ** 2)))
    path = _write_xy(tmp_path / "odd.xy", GRID, y)
    done = lab.run("xrd", "--sample", "S1", "--pattern", str(path), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["verdict"] == "inconclusive" and "26.0" in out["reason"]
    assert out["label"]["value"] is None
    (row,) = lab.rows("xrd_results")
    assert row["verdict"] == "inconclusive" and row["phase_pure"] is None
    assert _labels(lab) == {}


def test_a_spectrum_is_stored_as_conductivities_in_s_per_cm(
    lab: Lab, files: dict[str, Path]
) -> None:
    done = lab.run(
        "conductivity", "--sample", "S1", "--eis", str(files["spectrum"]),
        "--thickness-mm", str(THICKNESS_MM), "--area-cm2", str(AREA_CM2),
        "--temperature-c", "60", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    (row,) = lab.rows("conductivity_results")
    length_cm = THICKNESS_MM / 10
    # sigma = L / (R A) of the fitted resistances, exactly ...
    assert row["sigma_total_s_cm"] == pytest.approx(length_cm / (out["r_total_ohm"] * AREA_CM2))
    assert row["sigma_bulk_s_cm"] == pytest.approx(length_cm / (out["r_bulk_ohm"] * AREA_CM2))
    assert row["sigma_gb_s_cm"] == pytest.approx(
        length_cm / (out["r_grain_boundary_ohm"] * AREA_CM2)
    )
    # ... and of the simulated ones within the fit accuracy (3 %, issue 9)
    assert row["sigma_total_s_cm"] == pytest.approx(length_cm / ((R_B + R_GB) * AREA_CM2), rel=0.03)
    assert row["sigma_bulk_s_cm"] == pytest.approx(length_cm / (R_B * AREA_CM2), rel=0.03)
    assert row["sigma_gb_s_cm"] == pytest.approx(length_cm / (R_GB * AREA_CM2), rel=0.03)
    assert row["temperature_k"] == pytest.approx(333.15)
    assert row["analysis_version"].startswith(EIS_VERSION)
    assert out["circuit"] == "R0-(R_b||CPE_b)-(R_gb||CPE_gb)-CPE_el"
    assert {"R_b", "R_gb", "Q_b", "n_b"} <= set(out["parameters"])
    _assert_kept(lab, files["spectrum"], row["raw_path"], row["raw_sha256"])
    assert Path(out["plot"]).read_bytes()[:4] == b"\x89PNG"


def test_the_pellet_comes_from_a_file_that_states_it(lab: Lab, shared_dir: Path) -> None:
    """Example2a.txt states diameter 13 mm and thickness 0.75 mm: no geometry options needed."""
    spectrum = shared_dir / "data" / "eis_examples" / "eisfitpython" / "Example2a.txt"
    done = lab.run("conductivity", "--sample", "S1", "--eis", str(spectrum), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    area = np.pi * 1.3**2 / 4
    assert out["thickness_mm"] == pytest.approx(0.75) and out["area_cm2"] == pytest.approx(area)
    (row,) = lab.rows("conductivity_results")
    assert "pellet 0.75 mm (file)" in row["notes"] and "cm2 (file)" in row["notes"]
    expected = 0.075 / (out["r_total_ohm"] * area)
    assert row["sigma_total_s_cm"] == pytest.approx(expected, rel=1e-9)
    _assert_kept(lab, spectrum, row["raw_path"], row["raw_sha256"])


def test_explicit_numbers_still_work_without_a_file(lab: Lab) -> None:
    done = lab.run("conductivity", "--sample", "S1", "--total", "1.2", "--unit", "mS/cm", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = lab.rows("conductivity_results")
    assert row["sigma_total_s_cm"] == pytest.approx(1.2e-3)
    assert row["raw_path"] is None and json.loads(done.stdout)["record_id"] == row["id"]


# -- bad input: exit 2, one line, no row and no file ------------------------------------------

BAD_INPUT = {
    "unreadable pattern": (
        ["xrd", "--sample", "S1", "--pattern", "{garbage_xy}"], ("no rows of two numbers",)
    ),
    "empty spectrum file": (
        ["conductivity", "--sample", "S1", "--eis", "{empty_csv}", "--thickness-mm", "1",
         "--area-cm2", "1"],
        ("is empty",),
    ),
    "2-theta not increasing": (
        ["xrd", "--sample", "S1", "--pattern", "{not_increasing}"], ("not strictly increasing",)
    ),
    "spectrum of 9 points": (
        ["conductivity", "--sample", "S1", "--eis", "{nine_points}", "--thickness-mm", "1",
         "--area-cm2", "1"],
        ("has 9 points", "at least 10"),
    ),
    "thickness 0": (
        ["conductivity", "--sample", "S1", "--eis", "{spectrum}", "--thickness-mm", "0",
         "--area-cm2", "1"],
        ("thickness must be a positive number",),
    ),
    "negative area": (
        ["conductivity", "--sample", "S1", "--eis", "{spectrum}", "--thickness-mm", "1",
         "--area-cm2", "-0.5"],
        ("area must be a positive number",),
    ),
    "fit does not converge (pure noise)": (
        ["conductivity", "--sample", "S1", "--eis", "{noise}", "--thickness-mm", "1",
         "--area-cm2", "1"],
        ("did not converge",),
    ),
    "unknown sample": (
        ["xrd", "--sample", "S9", "--pattern", "{pure}"], ("unknown sample id 'S9'",)
    ),
    "no pellet on the command line or in the file": (
        ["conductivity", "--sample", "S1", "--eis", "{spectrum}", "--area-cm2", "1"],
        ("does not state the pellet thickness (--thickness-mm)",),
    ),
    "refused after the analysis (wrong formula)": (
        ["xrd", "--sample", "S1", "--pattern", "{pure}", "--formula", LU_NZSP],
        ("made as", LU_NZSP),
    ),
    "file and numbers together": (
        ["conductivity", "--sample", "S1", "--eis", "{spectrum}", "--thickness-mm", "1",
         "--area-cm2", "1", "--total", "1e-3"],
        ("--eis and --total are mutually exclusive",),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def refusals(
    files: dict[str, Path], template_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Lab, object, dict, dict]]:
    """Every bad-input command, each on its own copy of the registry, two at a time."""
    root = tmp_path_factory.mktemp("refusals")
    names = {k: str(v) for k, v in files.items()}

    def attempt(i_case: tuple[int, str]):
        i, case = i_case
        lab = Lab(template_db, root / f"case{i}")
        args, _ = BAD_INPUT[case]
        before = row_counts(lab.url)
        done = lab.run(*(a.format(**names) for a in args))
        return case, (lab, done, before, row_counts(lab.url))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(attempt, enumerate(BAD_INPUT)))


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_and_stores_nothing(refusals, case: str) -> None:
    lab, done, before, after = refusals[case]
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert_one_error_line(done.stderr, *BAD_INPUT[case][1])
    assert after == before
    assert lab.stored_files() == []
    assert not lab.reports.exists()


def test_the_store_keeps_only_files_of_stored_records(lab: Lab, files: dict[str, Path]) -> None:
    """A refused record leaves a file that another record uses, and copies nothing new;
    a file changed after its analysis is refused before it is copied."""
    pattern = shutil.copy(files["pure"], lab.root / "S1.xy")
    options = {"wavelength_a": 1.5406, "impurity_threshold": 0.02, "composition": NZSP}
    with Registry.from_url(lab.url) as registry:
        kept = store_measurement(
            registry, xrd_measurement("S1", pattern, **options), store_dir=lab.store,
            recorded_by="test",
        )  # fmt: skip
        bad_correction = xrd_measurement(
            "S1", pattern, supersedes_id=kept.record_id + 100, reason="typo", **options
        )
        with pytest.raises(RecordErrors, match="no xrd record"):
            store_measurement(registry, bad_correction, store_dir=lab.store, recorded_by="test")
        analysed = xrd_measurement("S1", pattern, **options)
        shutil.copy(files["zro2_10"], pattern)  # overwritten before it is stored
        with pytest.raises(ValidationError, match="changed after it was analysed"):
            store_measurement(registry, analysed, store_dir=lab.store, recorded_by="test")
    assert lab.stored_files() == [Path(kept.record.raw_path)]
    assert [r["id"] for r in lab.rows("xrd_results")] == [kept.record_id]


def test_a_bad_reference_cif_stops_the_record_and_stores_nothing(
    lab: Lab, files: dict[str, Path], tmp_path: Path
) -> None:
    """A folder of the lab's reference CIFs ([xrd] reference_dir) with a broken file."""
    cifs = tmp_path / "cifs"
    cifs.mkdir()
    (cifs / "broken.cif").write_text("data_broken\n_cell_length_a 5.0\nnot a cif at all\n")
    before = row_counts(lab.url)
    done = run_nasicon(
        ["--db", lab.url, "record", "xrd", "--sample", "S1", "--pattern", str(files["pure"])],
        cwd=lab.root,
        env={**lab.env, "NASICON_XRD__REFERENCE_DIR": str(cifs)},
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert_one_error_line(done.stderr, "broken.cif")
    assert row_counts(lab.url) == before and lab.stored_files() == []
