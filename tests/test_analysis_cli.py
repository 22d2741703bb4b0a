"""``xrd analyze`` and ``eis fit|arrhenius`` on files the tests write themselves, through the
CLI's entry point (:func:`cli_runner.run_cli`): refusals are exit code 2 and one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from pymatgen.core import Lattice

from experiments.impedance.simulate import arrhenius_resistance, simulate_spectrum
from experiments.xrd.references import PROTOTYPE_A, PROTOTYPE_C, nasicon_structure, reference_phases
from experiments.xrd.simulate import simulate_pattern

REPO = Path(__file__).resolve().parents[1]
FREQ = np.logspace(7, -1, 81)
PELLET = {
    "r0": 8.0,
    "q_b": 2.5e-11,
    "n_b": 0.93,
    "q_gb": 1e-8,
    "n_gb": 0.88,
    "q_el": 2e-6,
    "n_el": 0.8,
}


def _write_spectrum(path: Path, r_b: float, r_gb: float, seed: int) -> Path:
    spec = simulate_spectrum(
        FREQ, r_b=r_b, r_gb=r_gb, noise=0.01, rng=np.random.default_rng(seed), **PELLET
    )
    rows = [
        f"{f:.6e},{z.real:.6e},{z.imag:.6e}" for f, z in zip(spec.frequency_hz, spec.z, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def pattern_file(tmp_path_factory) -> Path:
    x = np.round(np.arange(10.0, 80.0 + 1e-9, 0.02), 4)
    nasicon = nasicon_structure()
    nasicon.lattice = Lattice.hexagonal(PROTOTYPE_A * 1.02, PROTOTYPE_C * 1.004)
    zro2 = next(p for p in reference_phases() if p.name == "m-ZrO2").structure
    y = simulate_pattern(
        [(nasicon, 0.95), (zro2, 0.05)],
        x,
        zero_shift=-0.03,
        background=200 + 0 * x,
        rng=np.random.default_rng(3),
    )
    path = tmp_path_factory.mktemp("xrd") / "sample.xy"
    path.write_text("\n".join(f"{a:.4f} {b:.0f}" for a, b in zip(x, y, strict=True)) + "\n")
    return path


def test_xrd_analyze_json_and_plot(pattern_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "xrd.png"
    result = run_cli(["xrd", "analyze", str(pattern_file), "--json", "--plot", str(png)])
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {
        "verdict",
        "reason",
        "nasicon_fraction",
        "phases",
        "phase_pure",
        "rwp",
        "r_exp",
        "nasicon_form",
        "nasicon_cell",
        "unexplained_peaks",
        "nasicon_lines",
        "kalpha2_ratio",
        "notes",
    }
    assert payload["verdict"] == "impure" and payload["phase_pure"] is False
    fractions = {p["name"]: p["weight_fraction"] for p in payload["phases"]}
    assert abs(fractions["m-ZrO2"] - 0.05) < 0.01
    assert payload["nasicon_fraction"] == fractions["NASICON"]
    assert payload["nasicon_cell"]["space_group"] == payload["nasicon_form"] == "R-3c"
    assert png.read_bytes()[:4] == b"\x89PNG"
    lenient = run_cli(["xrd", "analyze", str(pattern_file), "--json", "--threshold", "0.1"])
    assert json.loads(lenient.stdout)["verdict"] == "phase_pure"
    assert json.loads(lenient.stdout)["phase_pure"] is True
    table = run_cli(["xrd", "analyze", str(pattern_file)])
    assert table.code == 0 and "sample.xy: impure" in table.stdout


def test_xrd_analyze_says_no_nasicon_for_a_real_scan_without_it(shared_dir) -> None:
    scan = shared_dir / "data" / "xrd_examples" / "CaCO3-NH4H2PO4_200C_60min.xrdml"
    result = run_cli(["xrd", "analyze", str(scan), "--json"])
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["verdict"] == "no_nasicon" and payload["nasicon_fraction"] is None
    assert payload["phases"] == [] and payload["rwp"] is None
    assert payload["reason"].startswith("no NASICON:")


def test_xrd_phases_lists_built_ins_and_user_cifs(tmp_path: Path) -> None:
    (tmp_path / "NaCl.cif").write_text(
        "data_NaCl\n_cell_length_a 5.6402\n_cell_length_b 5.6402\n_cell_length_c 5.6402\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
        "_symmetry_space_group_name_H-M 'F m -3 m'\nloop_\n_atom_site_label\n"
        "_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
        "Na1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5\n"
    )
    result = run_cli(["xrd", "phases", "--json", "--references", str(tmp_path)])
    assert result.code == 0, result.stderr
    rows = {(r["name"], r["space_group"]): r for r in json.loads(result.stdout)["phases"]}
    assert {("NASICON", "R-3c"), ("NASICON", "C2/c"), ("m-ZrO2", "P2_1/c")} <= set(rows)
    assert rows[("NaCl", "Fm-3m")]["origin"] == "user"
    assert rows[("NaCl", "Fm-3m")]["source"] == str(tmp_path / "NaCl.cif")
    assert rows[("t-ZrO2", "P4_2/nmc")]["origin"] == "built-in"
    (tmp_path / "junk.cif").write_text("not a crystal structure\n")
    bad = run_cli(["xrd", "phases", "--references", str(tmp_path)])
    assert bad.error_message().startswith(f"{tmp_path / 'junk.cif'}: not a readable CIF")
    table = run_cli(["xrd", "phases"])
    assert table.code == 0 and "SiO2-cristobalite" in table.stdout


def test_xrd_analyze_bad_files(tmp_path: Path) -> None:
    x = np.arange(10.0, 20.0, 0.02)
    bad = tmp_path / "bad.xy"
    bad.write_text("\n".join(f"{a} 100" for a in x[::-1]))
    result = run_cli(["xrd", "analyze", str(bad), "--json"])
    assert "not strictly increasing" in result.error_message()
    empty = tmp_path / "empty.xy"
    empty.write_text("")
    result = run_cli(["xrd", "analyze", str(empty)])
    assert "empty" in result.error_message()
    result = run_cli(["xrd", "analyze", str(tmp_path / "none.xy")])
    assert result.error_message() == f"XRD pattern file {tmp_path / 'none.xy'} does not exist"


def test_eis_fit_json(tmp_path: Path) -> None:
    path = _write_spectrum(tmp_path / "s.csv", 1.2e5, 6e4, seed=1)
    png = tmp_path / "eis.png"
    args = [
        "eis",
        "fit",
        str(path),
        "--thickness-mm",
        "1.2",
        "--area-cm2",
        "0.5",
        "--temperature-c",
        "25",
        "--json",
        "--plot",
        str(png),
    ]
    result = run_cli(args)
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {
        "r_bulk_ohm",
        "r_grain_boundary_ohm",
        "r_total_ohm",
        "sigma_bulk_s_cm",
        "sigma_total_s_cm",
        "circuit",
        "parameters",
        "pellet",
        "imag_sign",
        "notes",
    }
    assert payload["pellet"] == {
        "thickness_mm": 1.2,
        "area_cm2": 0.5,
        "thickness_from": "user",
        "area_from": "user",
    }
    assert abs(payload["r_bulk_ohm"] / 1.2e5 - 1) < 0.03
    assert payload["sigma_total_s_cm"] == pytest.approx(0.12 / (payload["r_total_ohm"] * 0.5))
    assert set(payload["parameters"]["R_b"]) == {"value", "sd", "unit"}
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = run_cli(args[:-3])
    assert table.code == 0 and "sigma_total" in table.stdout


@pytest.mark.parametrize(
    ("thickness", "area", "message"),
    [("0", "0.5", "thickness must be a positive"), ("1", "-1", "area must be a positive")],
)
def test_eis_fit_rejects_bad_geometry(tmp_path, thickness, area, message) -> None:
    path = _write_spectrum(tmp_path / "s.csv", 1e5, 5e4, seed=2)
    result = run_cli(["eis", "fit", str(path), "--thickness-mm", thickness, "--area-cm2", area])
    assert message in result.error_message()


def test_eis_fit_rejects_short_and_empty_spectra(tmp_path: Path) -> None:
    full = _write_spectrum(tmp_path / "full.csv", 1e5, 5e4, seed=3).read_text().splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join(full[:9]) + "\n")
    result = run_cli(["eis", "fit", str(short), "--thickness-mm", "1", "--area-cm2", "1"])
    assert "at least 10" in result.error_message()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run_cli(["eis", "fit", str(empty), "--thickness-mm", "1", "--area-cm2", "1"])
    assert "empty" in result.error_message()


def test_eis_fit_takes_the_pellet_the_file_states(shared_dir: Path) -> None:
    folder = shared_dir / "data" / "eis_examples" / "eisfitpython"
    result = run_cli(["eis", "fit", str(folder / "Example2a.txt"), "--json"])
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    area = np.pi * 1.3**2 / 4  # Diameter[mm]: 13 in the file's second line
    assert payload["pellet"] == pytest.approx(
        {"thickness_mm": 0.75, "area_cm2": area, "thickness_from": "file", "area_from": "file"}
    )
    assert payload["sigma_total_s_cm"] == pytest.approx(0.075 / (payload["r_total_ohm"] * area))
    user = run_cli(["eis", "fit", str(folder / "Example2a.txt"), "--json", "--thickness-mm", "1.5"])
    pellet = json.loads(user.stdout)["pellet"]
    assert (pellet["thickness_mm"], pellet["thickness_from"], pellet["area_from"]) == (
        1.5,
        "user",
        "file",
    )
    table = run_cli(["eis", "fit", str(folder / "Example2a.txt")])
    assert "pellet: thickness 0.75 mm (file), area 1.327 cm2 (file)" in table.stdout
    assert "Zs''[ohm]" in table.stdout  # reader notes printed verbatim, not as rich markup
    missing = run_cli(["eis", "fit", str(folder / "Example2b.txt")])
    assert "does not state the pellet thickness" in missing.error_message()


def test_eis_arrhenius_json(tmp_path: Path) -> None:
    temps = [25, 45, 65, 85, 105]
    files = [
        str(
            _write_spectrum(
                tmp_path / f"t{t}.csv",
                arrhenius_resistance(1.2e5, 0.33, t),
                arrhenius_resistance(6e4, 0.33, t),
                seed=t,
            )
        )
        for t in temps
    ]
    png = tmp_path / "arr.png"
    result = run_cli(
        [
            "eis",
            "arrhenius",
            *files,
            "--temperatures-c",
            ",".join(map(str, temps)),
            "--thickness-mm",
            "1",
            "--area-cm2",
            "0.5",
            "--json",
            "--plot",
            str(png),
        ],
    )
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"ea_ev", "ea_sd_ev", "sigma_25c_s_cm", "sigma_s_cm", "pellets"}
    assert abs(payload["ea_ev"] - 0.33) < 0.02
    assert payload["sigma_25c_s_cm"] == pytest.approx(0.1 / (1.8e5 * 0.5), rel=0.05)
    assert png.read_bytes()[:4] == b"\x89PNG"
    mismatch = run_cli(
        [
            "eis",
            "arrhenius",
            *files[:3],
            "--temperatures-c",
            "25,45",
            "--thickness-mm",
            "1",
            "--area-cm2",
            "1",
        ],
    )
    assert "3 spectra were given with 2 temperatures" in mismatch.error_message()


def test_installed_entry_point_exits_2_on_bad_input(tmp_path: Path) -> None:
    """Through the installed console script's entry point, nasicon.cli.main.run."""
    path = _write_spectrum(tmp_path / "s.csv", 1e5, 5e4, seed=4)
    code = "import sys; from nasicon.cli.main import run; sys.argv = sys.argv[1:]; run()"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "nasicon",
            "eis",
            "fit",
            str(path),
            "--thickness-mm",
            "0",
            "--area-cm2",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: pellet thickness must be a positive number of mm, got 0.0"
    ]
