"""Discovery curves of a backtest: cumulative hits against experiments proposed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loop.simulation.campaign import BacktestResult


def plot_discovery_curves(
    result: BacktestResult, path: str | Path, title: str | None = None
) -> Path:
    """Write a PNG of mean cumulative hits (band: +-1 sd over repeats) per strategy.

    The ideal (every proposal accessible) and the expectation of random choice are drawn as
    reference lines.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = result.settings.n_proposed
    x = np.arange(1, n + 1)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
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
    fig.savefig(path)
    plt.close(fig)
    return path
