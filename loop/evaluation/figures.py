"""Figures of a model comparison: pure functions from arrays to a matplotlib Figure.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state, any
backend); the caller saves them (:func:`registry.reports.save_figures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from sklearn.metrics import auc, roc_curve

from loop.descriptors.tolerance_factor import PUBLISHED_INTERCEPT, PUBLISHED_SLOPE

LABELS = ("not accessible", "accessible")


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """ROC curves of several models on one plot.

    Args:
        curves: model name -> (y_true 0/1, out-of-fold accessibility score).
    """
    fig = Figure(figsize=(6.0, 5.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls="--", label="chance")
    for name, (y_true, score) in curves.items():
        y_true, score = np.asarray(y_true), np.asarray(score)
        ok = np.isfinite(score)
        fpr, tpr, _ = roc_curve(y_true[ok], score[ok])
        ax.plot(fpr, tpr, lw=1.5, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    ax.set(
        xlabel="false-positive rate (not accessible called accessible)",
        ylabel="true-positive rate (recall of accessible)",
        xlim=(0, 1),
        ylim=(0, 1.01),
        title="ROC, out-of-fold scores",
    )
    ax.legend(loc="lower right", fontsize="small")
    return fig


def confusion_figure(matrices: Mapping[str, Sequence[Sequence[int]]], ncols: int = 4) -> Figure:
    """One 2x2 confusion matrix per model: counts, shaded by row-normalised recall.

    Args:
        matrices: model name -> ``[[TN, FP], [FN, TP]]`` (rows true, columns predicted).
    """
    n = max(len(matrices), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(2.9 * ncols, 2.7 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[len(matrices) :]:
        ax.set_axis_off()
    for ax, (name, matrix) in zip(axes.flat, matrices.items(), strict=False):
        m = np.asarray(matrix, dtype=float)
        rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                colour = "white" if rates[i, j] > 0.6 else "black"
                ax.text(j, i, f"{int(m[i, j])}\n{rates[i, j]:.0%}", ha="center", va="center",
                        color=colour, fontsize="small")
        ax.set_xticks([0, 1], ["not acc.", "acc."], fontsize="small")
        ax.set_yticks([0, 1], ["not acc.", "acc."], fontsize="small")
        ax.set_xlabel("predicted", fontsize="small")
        ax.set_ylabel("true", fontsize="small")
        ax.set_title(name, fontsize="medium")
    return fig


def tolerance_factor_map(
    t1: np.ndarray,
    t2: np.ndarray,
    y: np.ndarray,
    boundaries: Mapping[str, tuple[float, float]],
    *,
    include_published: bool = True,
) -> Figure:
    """The (t1, t2) map coloured by label, with boundary lines ``a * t1 + t2 = b``.

    Args:
        t1, t2: descriptors (t2 in the published normalisation).
        y: 0/1 labels (1 = accessible).
        boundaries: label -> (a, b) of each line to draw (e.g. this round's refit).
        include_published: also draw the published line 0.203 t1 + t2 = 0.322.
    """
    t1, t2, y = np.asarray(t1, float), np.asarray(t2, float), np.asarray(y).astype(int)
    fig = Figure(figsize=(6.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for label, colour, marker in ((0, "tab:red", "x"), (1, "tab:blue", "o")):
        sel = y == label
        ax.scatter(t1[sel], t2[sel], s=8, c=colour, marker=marker, alpha=0.5, lw=0.6,
                   label=f"{LABELS[label]} ({int(sel.sum())})")
    lines = dict(boundaries)
    if include_published:
        lines = {f"published {PUBLISHED_SLOPE} t1 + t2 <= {PUBLISHED_INTERCEPT}":
                 (PUBLISHED_SLOPE, PUBLISHED_INTERCEPT), **lines}
    xs = np.linspace(0.0, max(float(np.nanmax(t1)) if t1.size else 2.0, 1.0) * 1.02, 50)
    styles = ["-", "--", ":", "-."]
    for k, (name, (a, b)) in enumerate(lines.items()):
        text = name if name.startswith("published") else f"{name}: {a:.3f} t1 + t2 <= {b:.3f}"
        ax.plot(xs, b - a * xs, color="black", ls=styles[k % len(styles)], lw=1.4, label=text)
    top = float(np.nanpercentile(t2, 99)) if t2.size else 1.0
    ax.set(xlabel="t1 = cbrt(N_Na) + (Q_A^std)^2", ylabel="t2 (published normalisation)",
           ylim=(min(-0.05, float(np.nanmin(t2)) if t2.size else 0.0), max(top, 0.5) * 1.1),
           title="tolerance-factor map")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def importance_figure(features: Sequence[str], error_rise: Sequence[float], model: str) -> Figure:
    """Horizontal bars of the rise in CV error when each descriptor is dropped."""
    features, rise = list(features), np.asarray(error_rise, float)
    fig = Figure(figsize=(6.0, 0.3 * len(features) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    order = np.argsort(rise)
    ax.barh(np.array(features)[order], rise[order] * 100, color="tab:blue")
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="rise in CV error when dropped, percentage points",
           title=f"drop-column importance: {model}")
    return fig


def reliability_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    n_bins: int = 10,
    ncols: int = 4,
) -> Figure:
    """Reliability diagram per model: mean predicted P(accessible) against the observed
    fraction accessible in equal-width bins, with the bin counts as a histogram below.

    Args:
        curves: model name -> (y_true 0/1, out-of-fold P(accessible)); models without
            probabilities are left out by the caller.
        n_bins: equal-width bins on [0, 1].
    """
    from loop.evaluation.calibration import reliability_curve
    from loop.evaluation.metrics import probability_metrics

    n = max(len(curves), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(3.1 * ncols, 3.6 * nrows), layout="constrained")
    grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[3, 1] * nrows)
    for k, (name, (y_true, p)) in enumerate(curves.items()):
        row, col = divmod(k, ncols)
        ax = fig.add_subplot(grid[2 * row, col])
        hist = fig.add_subplot(grid[2 * row + 1, col], sharex=ax)
        y_true, p = np.asarray(y_true), np.asarray(p, dtype=float)
        curve = reliability_curve(y_true, p, n_bins)
        m = probability_metrics(y_true, p)
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        ax.plot(curve.mean_predicted, curve.observed, "o-", ms=3.5, lw=1.4, color="tab:blue")
        ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="observed fraction accessible")
        ax.set_title(f"{name}\npooled ECE {m['ece']:.3f}, Brier {m['brier']:.3f}",
                     fontsize="small")
        ax.tick_params(labelbottom=False, labelsize="x-small")
        hist.hist(p, bins=curve.edges, color="0.5")
        hist.set_yscale("log")
        hist.yaxis.set_minor_formatter(NullFormatter())
        hist.set_xlabel("predicted P(accessible)", fontsize="small")
        hist.tick_params(labelsize="x-small")
    return fig


def experimental_tradeoff_figure(
    points: Mapping[str, tuple[float, float]],
    *,
    n_made: int,
    groups: Mapping[str, str] | None = None,
    f1_goal: float | None = None,
    recall_reference: float | None = None,
    highlight: Sequence[str] = (),
) -> Figure:
    """Scatter of DFT CV macro-F1 (x) against made compositions accepted (y), one numbered
    point per model or variant, the numbers explained in a key beside the plot.

    Args:
        points: label -> (mean DFT macro-F1, number of made compositions predicted accessible).
        n_made: number of made compositions (the y-axis top).
        groups: label -> group name (one colour and marker per group).
        f1_goal: vertical line at the DFT macro-F1 goal.
        recall_reference: horizontal line (e.g. the published tolerance factor's count).
        highlight: labels drawn larger, with a red edge (e.g. the champion).
    """
    groups = dict(groups or {})
    names = list(dict.fromkeys(groups.get(k, "") for k in points))
    markers = "osD^vP*X"
    fig = Figure(figsize=(12.0, 6.0), layout="constrained")
    ax, key = fig.subplots(1, 2, width_ratios=[1.4, 1])
    seen: dict[tuple[float, float], int] = {}
    labelled: set[int] = set()
    lines = []
    for i, (label, (f1, accepted)) in enumerate(points.items(), start=1):
        g = names.index(groups.get(label, ""))
        spot = (round(f1, 3), float(accepted))
        dy = 0.28 * seen.get(spot, 0)  # stack coinciding points
        seen[spot] = seen.get(spot, 0) + 1
        hi = label in highlight
        legend = names[g] if names[g] and g not in labelled else None
        labelled.add(g)
        ax.scatter([f1], [accepted + dy], s=60 if hi else 26, marker=markers[g % len(markers)],
                   color=f"C{g}", edgecolors="red" if hi else "none", linewidths=1.5, zorder=3,
                   label=legend)
        ax.annotate(str(i), (f1, accepted + dy), textcoords="offset points", xytext=(4, 2),
                    fontsize=7, color=f"C{g}")
        lines.append(f"{i:>2}  {label}{'  (champion)' if hi else ''}")
    if f1_goal is not None:
        ax.axvline(f1_goal, color="0.4", ls="--", lw=1, label=f"DFT macro-F1 goal {f1_goal}")
    if recall_reference is not None:
        ax.axhline(recall_reference, color="0.4", ls=":", lw=1,
                   label=f"published tolerance factor ({recall_reference:g}/{n_made})")
    ax.set(xlabel="DFT 10-fold macro-F1 (mean over folds)",
           ylabel=f"made compositions predicted accessible (of {n_made}, out of fold)",
           ylim=(0, n_made + 1), title="fitting DFT labels vs accepting what labs made")
    ax.legend(loc="lower left", fontsize="small")
    key.set_axis_off()
    key.text(0, 1, "\n".join(lines), va="top", ha="left", family="monospace",
             fontsize=6.5 if len(lines) > 30 else 8, transform=key.transAxes)
    return fig
