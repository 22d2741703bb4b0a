"""Figures of a model comparison: pure functions from arrays to a matplotlib Figure.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state, any
backend); the caller saves them (:func:`registry.reports.save_figures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
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
