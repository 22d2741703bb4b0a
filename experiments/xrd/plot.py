"""PNG of a phase analysis: observed, fitted, difference curve and phase markers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments.xrd.result import XRDAnalysis
from loop.errors import ValidationError

_TICK_COLORS = ("C1", "C4", "C5", "C6", "C8", "C9")


def plot_analysis(analysis: XRDAnalysis, path: str | Path, *, dpi: int = 150) -> Path:
    """Write a PNG (observed points, fit, background, difference, tick marks per phase)."""
    out = Path(path)
    x, obs, calc = analysis.two_theta, analysis.observed, analysis.calculated
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, obs, ".", ms=2, color="0.2", label="observed")
    fitted = analysis.rwp is not None
    if fitted:
        ax.plot(x, calc, "-", lw=0.9, color="tab:red", label=f"fit (Rwp {analysis.rwp:.1f} %)")
    ax.plot(x, analysis.background, "-", lw=0.7, color="tab:green", label="background")
    span = float(np.max(obs) - np.min(obs)) or 1.0
    diff_base = float(np.min(obs)) - 0.12 * span
    if fitted:
        ax.plot(x, obs - calc + diff_base, "-", lw=0.6, color="tab:blue", label="difference")
    fractions = dict(analysis.fitted_phases)
    shown = [n for n in analysis.peak_positions if not fitted or fractions.get(n, 0.0) > 0.0005]
    for i, name in enumerate(shown):
        y0 = diff_base - 0.12 * span - i * 0.05 * span
        label = f"{name} {100 * fractions[name]:.1f} wt%" if name in fractions else name
        ax.vlines(
            analysis.peak_positions[name],
            y0,
            y0 + 0.035 * span,
            colors=_TICK_COLORS[i % len(_TICK_COLORS)],
            lw=0.8,
            label=label,
        )
    for peak in analysis.unexplained_peaks:
        ax.annotate(
            f"? {peak.two_theta:.2f}",
            (peak.two_theta, peak.height + float(np.interp(peak.two_theta, x, calc))),
            color="tab:purple",
            fontsize=8,
            ha="center",
            va="bottom",
        )
    name = Path(analysis.source).name if analysis.source not in ("", "arrays") else "pattern"
    ax.set_title(f"{name}: {analysis.verdict.replace('_', ' ')}")
    ax.set_xlabel("2θ (deg)")
    ax.set_ylabel("intensity")
    ax.set_xlim(x[0], x[-1])
    ax.legend(loc="upper right", fontsize=8)
    try:
        fig.savefig(out, dpi=dpi)
    except OSError as exc:
        raise ValidationError(f"cannot write plot {out}: {exc.strerror}") from None
    return out
