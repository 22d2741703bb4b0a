"""Powder-XRD analysis: structure-factor engine, reference phases, readers, full-profile fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Lattice

from experiments.xrd import analyze_pattern, read_pattern, reference_phases
from experiments.xrd.analysis import is_phase_pure
from experiments.xrd.plot import plot_analysis
from experiments.xrd.references import PROTOTYPE_A, PROTOTYPE_C, nasicon_structure
from experiments.xrd.reflections import build_reflections
from experiments.xrd.simulate import simulate_pattern
from loop.errors import CompositionError, DataMissingError, ValidationError

WAVELENGTH = 1.5406
GRID = np.round(np.arange(10.0, 80.0 + 1e-9, 0.02), 4)


def _phase(name: str):
    return next(p for p in reference_phases() if p.name == name)


# --- reference phases and the structure-factor engine -------------------------------------


@pytest.mark.parametrize(
    ("name", "scale_mode", "scales", "lattice_factors"),
    [
        ("NASICON", "ac", (1.02, 0.99), (1.02, 1.02, 0.99)),
        ("m-ZrO2", "iso", (1.004,), (1.004, 1.004, 1.004)),
        ("Na2ZrSi2O7", "iso", (0.995,), (0.995, 0.995, 0.995)),
    ],
)
def test_reflection_engine_matches_pymatgen_for_a_strained_cell(
    name, scale_mode, scales, lattice_factors
) -> None:
    structure = _phase(name).structure
    refl = build_reflections(
        structure, d_min_a=WAVELENGTH / 2 / np.sin(np.radians(45)) * 0.95, scale_mode=scale_mode
    )
    tt, intensity, _ = refl.peaks(np.array(scales), WAVELENGTH)
    strained = structure.copy()
    a, b, c = (x * f for x, f in zip(structure.lattice.abc, lattice_factors, strict=True))
    strained.lattice = Lattice.from_parameters(a, b, c, *structure.lattice.angles)
    ref = XRDCalculator(WAVELENGTH).get_pattern(strained, scaled=False, two_theta_range=(10, 85))
    ours = np.array([intensity[np.abs(tt - x) < 2e-4].sum() for x in ref.x])
    np.testing.assert_allclose(ours, ref.y, rtol=1e-6, atol=1e-9 * max(ref.y))


def test_by_product_structures_have_published_bond_lengths_and_lines() -> None:
    zro2 = _phase("m-ZrO2").structure
    zr = next(i for i, s in enumerate(zro2) if s.specie.symbol == "Zr")
    zr_o = np.sort(zro2.distance_matrix[zr][[s.specie.symbol == "O" for s in zro2]])
    neigh = np.sort([n.nn_distance for n in zro2.get_neighbors(zro2[zr], 2.4)])
    assert neigh.size == 7 and 2.0 < neigh[0] and neigh[-1] < 2.3, neigh
    assert zr_o.size > 0
    pattern = XRDCalculator(WAVELENGTH).get_pattern(zro2, two_theta_range=(20, 40))
    top2 = np.sort(np.array(pattern.x)[np.argsort(pattern.y)[-2:]])
    np.testing.assert_allclose(top2, [28.17, 31.47], atol=0.05)  # (-111), (111) of PDF 37-1484

    zircon = _phase("ZrSiO4").structure
    si = next(i for i, s in enumerate(zircon) if s.specie.symbol == "Si")
    si_o = np.sort([n.nn_distance for n in zircon.get_neighbors(zircon[si], 2.0)])
    np.testing.assert_allclose(si_o, [1.622] * 4, atol=0.005)
    strongest = XRDCalculator(WAVELENGTH).get_pattern(zircon, two_theta_range=(15, 60))
    assert abs(strongest.x[int(np.argmax(strongest.y))] - 26.98) < 0.05  # (200)

    for name in ("Na3PO4", "Na2ZrSi2O7"):
        assert _phase(name).approximate, name
        dm = _phase(name).structure.distance_matrix
        assert dm[np.triu_indices_from(dm, 1)].min() > 1.4, name


def test_nasicon_prototype_decoration_and_bad_compositions() -> None:
    s = nasicon_structure("Na3Zr2Si2PO12")
    assert s.composition.reduced_formula == "Na3Zr2Si2PO12"
    np.testing.assert_allclose(s.lattice.abc, (PROTOTYPE_A, PROTOTYPE_A, PROTOTYPE_C))
    assert nasicon_structure("NaZr2P3O12").composition.reduced_formula == "NaZr2(PO4)3"
    s4 = nasicon_structure("Na4Zr2Si3O12")
    assert abs(s4.composition["Na"] / s4.composition["O"] - 4 / 12) < 1e-9
    with pytest.raises(CompositionError, match="2 M and 3"):
        nasicon_structure("Na3ZrSi2PO12")
    with pytest.raises(CompositionError, match="no oxygen"):
        nasicon_structure("Na3Zr2")


# --- the full-profile fit on simulated mixtures ---------------------------------------------


def _simulated_mixture(zro2_fraction: float, seed: int) -> np.ndarray:
    """NZSP (strained prototype cell) + m-ZrO2 with noise, background and a zero shift."""
    nasicon = nasicon_structure("Na3Zr2Si2PO12")
    nasicon.lattice = Lattice.hexagonal(PROTOTYPE_A * 1.023, PROTOTYPE_C * 1.006)
    zro2 = _phase("m-ZrO2").structure.copy()
    zro2.scale_lattice(zro2.volume * 1.002**3)
    background = 180 + 2200 * np.exp(-(GRID - 10) / 9) + 150 * np.exp(-(((GRID - 24) / 6) ** 2))
    return simulate_pattern(
        [(nasicon, 1 - zro2_fraction), (zro2, zro2_fraction)],
        GRID,
        wavelength_a=WAVELENGTH,
        caglioti_uvw=(0.006, -0.003, 0.005),
        eta=0.4,
        zero_shift=0.045,
        peak_counts=15000,
        background=background,
        rng=np.random.default_rng(seed),
    )


@pytest.fixture(scope="module")
def mixture_results() -> dict[float, object]:
    return {
        wt: analyze_pattern((GRID, _simulated_mixture(wt, seed=int(1000 * wt) + 7)))
        for wt in (0.0, 0.01, 0.03, 0.10)
    }


@pytest.mark.parametrize("zro2_fraction", [0.0, 0.01, 0.03, 0.10])
def test_zro2_weight_fraction_recovered_within_1_wt_percent(mixture_results, zro2_fraction):
    result = mixture_results[zro2_fraction]
    fractions = dict(result.phases)
    assert abs(fractions["m-ZrO2"] - zro2_fraction) < 0.01, fractions
    assert abs(fractions["NASICON"] - (1 - zro2_fraction)) < 0.01, fractions
    for name in ("ZrSiO4", "Na3PO4", "Na2ZrSi2O7"):
        assert fractions[name] < 0.01, fractions
    assert result.phase_pure is (zro2_fraction <= 0.01)
    assert abs(result.zero_shift - 0.045) < 0.01
    a, _, c = result.cell_scales["NASICON"]
    assert abs(a - 1.023) < 0.002 and abs(c - 1.006) < 0.002
    assert result.rwp < 1.2 * result.r_exp + 0.5  # noise-limited fit


def test_phase_pure_follows_the_threshold(mixture_results) -> None:
    ten = mixture_results[0.10]
    assert not ten.phase_pure
    assert is_phase_pure(ten.phases, 0.2)
    assert not is_phase_pure((("NASICON", 0.97), ("ZrSiO4", 0.01), ("Na3PO4", 0.021)), 0.02)
    assert is_phase_pure((("NASICON", 0.96), ("ZrSiO4", 0.02), ("Na3PO4", 0.02)), 0.02)


def test_analysis_json_and_plot(mixture_results, tmp_path: Path) -> None:
    result = mixture_results[0.03]
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["phases"][0]["name"] == "NASICON"
    assert payload["analysis_version"] == result.analysis_version
    assert abs(sum(p["weight_fraction"] for p in payload["phases"]) - 1.0) < 1e-9
    png = plot_analysis(result, tmp_path / "fit.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


# --- readers -----------------------------------------------------------------------------------


def _small_pattern() -> tuple[np.ndarray, np.ndarray]:
    x = np.round(np.arange(10.0, 30.0 + 1e-9, 0.02), 4)
    y = np.round(100 + 900 * np.exp(-(((x - 20.0) / 0.1) ** 2))).astype(int)
    return x, y.astype(float)


def _write_xrdml(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    counts = " ".join(str(int(v)) for v in y)
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5" status="Completed">
  <xrdMeasurement measurementType="Scan" status="Completed">
    <usedWavelength intended="K-Alpha 1">
      <kAlpha1 unit="Angstrom">1.5405980</kAlpha1>
      <kAlpha2 unit="Angstrom">1.5444260</kAlpha2>
      <ratioKAlpha2KAlpha1>0.5000</ratioKAlpha2KAlpha1>
    </usedWavelength>
    <scan appendNumber="0" mode="Continuous" scanAxis="Gonio" status="Completed">
      <dataPoints>
        <positions axis="2Theta" unit="deg">
          <startPosition>{x[0]:.4f}</startPosition>
          <endPosition>{x[-1]:.4f}</endPosition>
        </positions>
        <positions axis="Omega" unit="deg">
          <startPosition>{x[0] / 2:.4f}</startPosition>
          <endPosition>{x[-1] / 2:.4f}</endPosition>
        </positions>
        <commonCountingTime unit="seconds">1.00</commonCountingTime>
        <counts unit="counts">{counts}</counts>
      </dataPoints>
    </scan>
  </xrdMeasurement>
</xrdMeasurements>
"""
    )


def _write_ras(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    header = [
        "*RAS_DATA_START",
        "*RAS_HEADER_START",
        '*HW_XG_WAVE_LENGTH_ALPHA1 "1.540593"',
        '*MEAS_SCAN_AXIS_X "TwoThetaTheta"',
        '*MEAS_SCAN_AXIS_X_INTERNAL "TwoThetaTheta"',
        '*MEAS_SCAN_START_TIME "01/01/24 10:00:00"',
        '*MEAS_SCAN_END_TIME "01/01/24 10:10:00"',
        f'*MEAS_SCAN_START "{x[0]:.4f}"',
        '*MEAS_SCAN_STEP "0.0200"',
        f'*MEAS_SCAN_STOP "{x[-1]:.4f}"',
        f'*MEAS_DATA_COUNT "{x.size}"',
        '*MEAS_SCAN_SPEED "2.0000"',
        "*RAS_HEADER_END",
        "*RAS_INT_START",
    ]
    body = [f"{a:.4f} {int(b)} 1.0000" for a, b in zip(x, y, strict=True)]
    path.write_bytes(
        ("\r\n".join([*header, *body, "*RAS_INT_END", "*RAS_DATA_END"]) + "\r\n").encode()
    )


def test_readers_of_text_formats_agree(tmp_path: Path) -> None:
    import xrayutilities as xu

    x, y = _small_pattern()
    files = {
        "p.xy": "# 2theta counts\n"
        + "\n".join(f"{a:.4f} {b:.0f}" for a, b in zip(x, y, strict=True)),
        "p.csv": "2theta,intensity\n"
        + "\n".join(f"{a:.4f},{b:.0f}" for a, b in zip(x, y, strict=True)),
        "p.txt": "\n".join(f"{a:.4f};{b:.0f}" for a, b in zip(x, y, strict=True)),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    _write_xrdml(tmp_path / "p.xrdml", x, y)
    _write_ras(tmp_path / "p.ras", x, y)
    for name in [*files, "p.xrdml", "p.ras"]:
        pat = read_pattern(tmp_path / name)
        np.testing.assert_allclose(pat.two_theta, x, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(pat.intensity, y, err_msg=name)
    assert read_pattern(tmp_path / "p.xrdml").wavelength_a == pytest.approx(1.540598)
    assert read_pattern(tmp_path / "p.ras").wavelength_a == pytest.approx(1.540593)
    # the written XRDML and RAS files also parse with an independent reader (xrayutilities)
    scan = xu.io.XRDMLFile(str(tmp_path / "p.xrdml")).scan
    np.testing.assert_allclose(scan["2Theta"], x, atol=1e-6)
    np.testing.assert_allclose(scan["counts"], y)
    ras = xu.io.RASFile(str(tmp_path / "p.ras")).scans[0].data
    np.testing.assert_allclose(ras["int"], y)


def test_reader_rejects_bad_files(tmp_path: Path) -> None:
    x, y = _small_pattern()
    with pytest.raises(DataMissingError, match="does not exist"):
        read_pattern(tmp_path / "missing.xy")
    (tmp_path / "empty.xy").write_text("")
    with pytest.raises(ValidationError, match="is empty"):
        read_pattern(tmp_path / "empty.xy")
    swapped = x.copy()
    swapped[[100, 101]] = swapped[[101, 100]]
    (tmp_path / "order.xy").write_text(
        "\n".join(f"{a} {b}" for a, b in zip(swapped, y, strict=True))
    )
    with pytest.raises(ValidationError, match="not strictly increasing"):
        read_pattern(tmp_path / "order.xy")
    with pytest.raises(ValidationError, match="not strictly increasing"):
        analyze_pattern((swapped, y))
    (tmp_path / "short.xy").write_text(
        "\n".join(f"{a} {b}" for a, b in zip(x[:20], y[:20], strict=True))
    )
    with pytest.raises(ValidationError, match="at least 50"):
        read_pattern(tmp_path / "short.xy")
    (tmp_path / "words.xy").write_text("this is not\na diffraction pattern\n")
    with pytest.raises(ValidationError):
        read_pattern(tmp_path / "words.xy")
    (tmp_path / "p.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ValidationError, match="supported"):
        read_pattern(tmp_path / "p.jpg")
    with pytest.raises(ValidationError, match="wavelength"):
        analyze_pattern((x, y), wavelength_a=0)
