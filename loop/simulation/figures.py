"""Discovery curves of a backtest: cumulative hits against experiments proposed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loop.simulation.campaign import BacktestResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def discovery_curves_figure(result: BacktestResult, title: str | None = None) -> Figure:
    """Mean cumulative hits (band: +-1 sd over repeats) per strategy, 6.4 x 4.4 in at 120 dpi.

    The ideal (every proposal accessible) and the expectation of random choice are drawn as
    reference lines. The caller saves the figure (:func:`registry.reports.save_figure`).
    """
    from matplotlib.figure import Figure  # imported here: the package loads without it

    n = result.settings.n_proposed
    x = np.arange(1, n + 1)
    fig = Figure(figsize=(6.4, 4.4), dpi=120)
    ax = fig.add_subplot()
    ax.plot(x, x, color="0.6", ls=":", lw=1, label="ideal (every proposal accessible)")
    ax.plot(x, x * result.accessible_fraction, color="0.4", ls="--", lw=1, label="random, expected")
    for name in result.traces:
        curves = result.curves(name)
        mean, sd = curves.mean(0), curves.std(0)
        (line,) = ax.plot(x, mean, lw=2, label=f"{name}: EF {result.enhancement(name):.2f}")
        ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.15, lw=0)
    s = result.settings
    ax.set_xlabel("experiments proposed (seed set excluded)")
    ax.set_ylabel("accessible compositions found")
    ax.set_title(
        title
        or f"Backtest on {result.pool_size} DFT compositions: seed {s.seed_size}, "
        f"batch {s.batch_size}, budget {s.budget}",
        fontsize=9,
    )
    ax.set_xlim(0, n)
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
