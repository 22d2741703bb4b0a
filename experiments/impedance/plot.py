"""PNGs of impedance results: Nyquist with the fit, Bode, and Arrhenius."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments.impedance.conductivity import ArrheniusFit
from experiments.impedance.fitting import ImpedanceFit
from loop.errors import ValidationError


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    try:
        fig.savefig(out, dpi=150)
    except OSError as exc:
        raise ValidationError(f"cannot write plot {out}: {exc.strerror}") from None
    return out


def _dense_fit(fit: ImpedanceFit) -> tuple[np.ndarray, np.ndarray]:
    f = fit.frequency_hz
    dense = np.logspace(np.log10(f.min()), np.log10(f.max()), 400)
    return dense, fit.impedance_at(dense)


def plot_nyquist_bode(fit: ImpedanceFit, path: str | Path) -> Path:
    """One PNG: Nyquist plot (-Z'' vs Z', data and fit) beside Bode plots (|Z| and phase)."""
    f, z = fit.frequency_hz, fit.z_measured
    fd, zd = _dense_fit(fit)
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax_n, ax_b = fig.subplots(1, 2)
    ax_n.plot(z.real, -z.imag, "o", ms=3, mfc="none", label="measured")
    ax_n.plot(zd.real, -zd.imag, "-", color="tab:red", label=f"fit {fit.circuit}")
    ax_n.set_aspect("equal", adjustable="datalim")
    ax_n.ticklabel_format(style="sci", scilimits=(-3, 4))
    ax_n.set_xlabel("Z' (ohm)")
    ax_n.set_ylabel("-Z'' (ohm)")
    title = f"{Path(fit.source).name or 'spectrum'}"
    if fit.temperature_c is not None:
        title += f" at {fit.temperature_c:g} °C"
    ax_n.set_title(title)
    ax_n.legend(fontsize=8)
    ax_b.loglog(f, np.abs(z), "o", ms=3, mfc="none", color="tab:blue", label="|Z| measured")
    ax_b.loglog(fd, np.abs(zd), "-", color="tab:blue", label="|Z| fit")
    ax_b.set_xlabel("frequency (Hz)")
    ax_b.set_ylabel("|Z| (ohm)")
    ax_p = ax_b.twinx()
    ax_p.semilogx(
        f,
        -np.degrees(np.angle(z)),
        "s",
        ms=3,
        mfc="none",
        color="tab:orange",
        label="-phase measured",
    )
    ax_p.semilogx(fd, -np.degrees(np.angle(zd)), "-", color="tab:orange", label="-phase fit")
    ax_p.set_ylabel("-phase (deg)")
    ax_b.set_title(f"Bode (RMS residual {100 * fit.residual_rms:.1f} % of |Z|)")
    lines = ax_b.get_legend_handles_labels()
    lines2 = ax_p.get_legend_handles_labels()
    ax_b.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="lower left")
    return _save(fig, path)


def plot_arrhenius(fit: ArrheniusFit, path: str | Path) -> Path:
    """Arrhenius PNG: log10(sigma T) against 1000/T with the fitted line."""
    t = fit.temperatures_c + 273.15
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(1000.0 / t, np.log10(fit.sigma_s_cm * t), "o", label="measured")
    tt = np.linspace(t.min(), t.max(), 100)
    ax.plot(
        1000.0 / tt,
        np.log10(fit.sigma_at(tt - 273.15) * tt),
        "-",
        color="tab:red",
        label=f"Ea = {fit.ea_ev:.3f} ± {fit.ea_sd_ev:.3f} eV",
    )
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("log10(σT / (S K cm⁻¹))")
    ax.set_title(f"σ(25 °C) = {fit.sigma_25c_s_cm:.3g} S/cm")
    ax.legend(fontsize=8)
    return _save(fig, path)
