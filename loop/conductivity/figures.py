"""Figures of the conductivity model (matplotlib Figures; the caller saves them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

ION_COLOURS = {"Li": "tab:blue", "Na": "tab:orange"}


def parity_figure(
    y: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    ions: Sequence[str],
    scale_95: float,
    title: str = "held-out papers",
) -> Figure:
    """Measured vs predicted log10 sigma (S/cm) at 25 C with 68 % (bar) and 95 % (thin bar)
    intervals, one colour per mobile ion; ``scale_95`` = 95 % half-width in units of sd."""
    fig = Figure(figsize=(5.5, 5.0), constrained_layout=True)
    ax = fig.add_subplot()
    ions_arr = np.asarray(ions, dtype=object)
    for ion in sorted(set(ions_arr)):
        m = ions_arr == ion
        colour = ION_COLOURS.get(str(ion), "tab:gray")
        ax.errorbar(
            y[m], mean[m], yerr=scale_95 * sd[m], fmt="none", ecolor=colour, alpha=0.25, lw=0.6
        )
        ax.errorbar(
            y[m],
            mean[m],
            yerr=sd[m],
            fmt="o",
            ms=3,
            color=colour,
            ecolor=colour,
            alpha=0.7,
            lw=1.0,
            label=f"{ion} (n={int(m.sum())})",
        )
    lo = float(np.nanmin([y.min(), (mean - scale_95 * sd).min()])) - 0.3
    hi = float(np.nanmax([y.max(), (mean + scale_95 * sd).max()])) + 0.3
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured log10 sigma at 25 C (S/cm)")
    ax.set_ylabel("predicted log10 sigma at 25 C (S/cm)")
    ax.set_title(f"{title}: 68 % and 95 % intervals", fontsize=10)
    ax.legend(loc="upper left")
    return fig
