"""Impedance: circuit fits, conductivity, Arrhenius (readers: test_impedance_readers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from experiments.impedance import (
    FitDidNotConvergeError,
    arrhenius,
    conductivity,
    fit_spectrum,
    make_spectrum,
    read_spectrum,
)
from experiments.impedance.circuits import arc_capacitance
from experiments.impedance.conductivity import BOLTZMANN_EV
from experiments.impedance.plot import plot_arrhenius, plot_nyquist_bode
from experiments.impedance.simulate import arrhenius_resistance, simulate_spectrum
from loop.errors import DataMissingError, ValidationError

FREQ = np.logspace(7, -1, 81)  # 10 MHz .. 0.1 Hz, 10 points per decade
PELLET = {
    "r0": 8.0,
    "q_b": 2.5e-11,
    "n_b": 0.93,
    "q_gb": 1e-8,
    "n_gb": 0.88,
    "q_el": 2e-6,
    "n_el": 0.8,
}


def test_two_arc_spectrum_recovered_within_3_percent() -> None:
    r_b, r_gb = 1.2e5, 6.0e4
    for seed in (1, 2, 3):
        spec = simulate_spectrum(
            FREQ, r_b=r_b, r_gb=r_gb, noise=0.01, rng=np.random.default_rng(seed), **PELLET
        )
        fit = fit_spectrum(spec)
        assert fit.circuit == "R0-(R_b||CPE_b)-(R_gb||CPE_gb)-CPE_el"
        assert abs(fit.r_bulk.value / r_b - 1) < 0.03, (seed, fit.r_bulk)
        assert abs(fit.r_grain_boundary.value / r_gb - 1) < 0.03, (seed, fit.r_grain_boundary)
        assert abs(fit.r_total.value / (r_b + r_gb) - 1) < 0.03
        assert 0.005 < fit.residual_rms < 0.02  # the 1 % noise, not a misfit
        for est in fit.parameters.values():
            assert np.isfinite(est.sd) and est.sd > 0
        assert fit.capacitances_f["C_b"] < 1e-10 < fit.capacitances_f["C_gb"]
        expected_cb = arc_capacitance(r_b, PELLET["q_b"], PELLET["n_b"])
        assert abs(fit.capacitances_f["C_b"] / expected_cb - 1) < 0.1


def test_one_arc_spectrum_is_fitted_with_the_simpler_circuit() -> None:
    spec = simulate_spectrum(
        FREQ,
        r0=5.0,
        r_b=2e5,
        q_b=3e-11,
        n_b=0.9,
        q_el=1e-6,
        n_el=0.85,
        noise=0.01,
        rng=np.random.default_rng(5),
    )
    fit = fit_spectrum(spec)
    assert fit.circuit == "R0-(R_b||CPE_b)-CPE_el", fit.bic
    assert fit.r_grain_boundary is None
    assert abs(fit.r_bulk.value / 2e5 - 1) < 0.03


def test_conductivity_from_geometry() -> None:
    spec = simulate_spectrum(FREQ, r_b=1e5, r_gb=5e4, noise=0.0, **PELLET)
    fit = fit_spectrum(spec)
    cond = conductivity(fit, thickness_mm=1.5, area_cm2=0.8)
    assert cond.sigma_bulk_s_cm == pytest.approx(0.15 / (fit.r_bulk.value * 0.8))
    assert cond.sigma_total_s_cm == pytest.approx(0.15 / (fit.r_total.value * 0.8))
    assert cond.sigma_total_s_cm == pytest.approx(0.15 / (1.5e5 * 0.8), rel=1e-3)
    json.dumps(fit.to_dict())
    json.dumps(cond.to_dict())
    for bad in (
        {"thickness_mm": 0.0, "area_cm2": 1.0},
        {"thickness_mm": 1.0, "area_cm2": -2.0},
        {"thickness_mm": float("nan"), "area_cm2": 1.0},
    ):
        with pytest.raises(ValidationError, match="must be a positive number"):
            conductivity(fit, **bad)


def test_arrhenius_recovers_activation_energy(tmp_path: Path) -> None:
    ea_b, ea_gb = 0.30, 0.42
    temps = [25.0, 45.0, 65.0, 85.0, 105.0]
    rng = np.random.default_rng(11)
    bulk, total = [], []
    for t in temps:
        r_b = arrhenius_resistance(1.2e5, ea_b, t)
        r_gb = arrhenius_resistance(6e4, ea_gb, t)
        fit = fit_spectrum(
            simulate_spectrum(FREQ, r_b=r_b, r_gb=r_gb, noise=0.01, rng=rng, **PELLET),
            temperature_c=t,
        )
        cond = conductivity(fit, thickness_mm=1.0, area_cm2=0.5)
        bulk.append(cond.sigma_bulk_s_cm)
        total.append(cond.sigma_total_s_cm)
    fit_b = arrhenius(temps, bulk)
    assert abs(fit_b.ea_ev - ea_b) < 0.02, fit_b
    assert 0 < fit_b.ea_sd_ev < 0.02
    assert fit_b.sigma_25c_s_cm == pytest.approx(0.1 / (1.2e5 * 0.5), rel=0.05)
    fit_gb_dominated = arrhenius(temps, total)  # a mixture: between the two energies
    assert ea_b < fit_gb_dominated.ea_ev < ea_gb
    png = plot_arrhenius(fit_b, tmp_path / "arrhenius.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_arrhenius_of_an_exact_line() -> None:
    temps = np.array([20.0, 40.0, 60.0, 80.0, 100.0])
    t = temps + 273.15
    sigma = 1e5 * np.exp(-0.35 / (BOLTZMANN_EV * t)) / t
    fit = arrhenius(temps, sigma)
    assert fit.ea_ev == pytest.approx(0.35, abs=1e-9)
    assert fit.sigma_25c_s_cm == pytest.approx(
        1e5 * np.exp(-0.35 / (BOLTZMANN_EV * 298.15)) / 298.15
    )
    with pytest.raises(ValidationError, match="at least 3"):
        arrhenius(temps[:2], sigma[:2])
    with pytest.raises(ValidationError, match="one each"):
        arrhenius(temps, sigma[:4])
    with pytest.raises(ValidationError, match="positive"):
        arrhenius(temps, -sigma)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="does not exist"):
        read_spectrum(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("  \n")
    with pytest.raises(ValidationError, match="is empty"):
        read_spectrum(tmp_path / "empty.csv")
    (tmp_path / "text.csv").write_text("hello\nworld\n")
    with pytest.raises(ValidationError, match="has no table of numbers"):
        read_spectrum(tmp_path / "text.csv")
    nine = simulate_spectrum(FREQ, r0=5, r_b=1e4, q_b=1e-10, n_b=0.9)
    rows = [
        f"{f},{z.real},{z.imag}" for f, z in zip(nine.frequency_hz[:9], nine.z[:9], strict=True)
    ]
    (tmp_path / "nine.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ValidationError, match="9 points; at least 10"):
        read_spectrum(tmp_path / "nine.csv")
    with pytest.raises(ValidationError, match="not a positive number"):
        make_spectrum(np.r_[0.0, FREQ[:12]], np.ones(13))


def test_a_fit_that_does_not_converge_is_an_error() -> None:
    spec = simulate_spectrum(
        FREQ, r_b=1e5, r_gb=5e4, noise=0.01, rng=np.random.default_rng(0), **PELLET
    )
    with pytest.raises(FitDidNotConvergeError, match="did not converge within 2 evaluations"):
        fit_spectrum(spec, max_nfev=2)
    rng = np.random.default_rng(4)
    noise = make_spectrum(FREQ, rng.normal(0, 1e3, FREQ.size) + 1j * rng.normal(0, 1e3, FREQ.size))
    with pytest.raises(FitDidNotConvergeError, match="RMS residual"):
        fit_spectrum(noise, n_starts=3)


def test_nyquist_bode_plot(tmp_path: Path) -> None:
    spec = simulate_spectrum(
        FREQ, r_b=1e5, r_gb=5e4, noise=0.01, rng=np.random.default_rng(2), **PELLET
    )
    png = plot_nyquist_bode(fit_spectrum(spec, temperature_c=25.0), tmp_path / "eis.png")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000
