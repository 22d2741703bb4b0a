"""The figures of a retrain: ROC curves, confusion matrices, the (t1, t2) map, reliability
diagrams and drop-column importance, as matplotlib Figures (built by
:mod:`loop.evaluation.figures`; the caller saves them, e.g. with
:func:`registry.reports.save_figures`)."""

from __future__ import annotations

from matplotlib.figure import Figure

from loop.evaluation.figures import (
    confusion_figure,
    importance_figure,
    reliability_figure,
    roc_figure,
    tolerance_factor_map,
)
from loop.training.data import TrainingSet
from loop.training.experimental import reliability_curves
from loop.training.retrain import RetrainResult


def retrain_figures(result: RetrainResult, data: TrainingSet) -> dict[str, Figure]:
    """``roc``, ``confusion``, ``tolerance_factor_map``, ``reliability`` (out-of-fold P against
    DFT labels, per model with probabilities) and one ``importance-<model>`` per importance
    table, by name (the name is the PNG's stem when saved)."""
    figures = {
        "roc": roc_figure({n: (data.y, r.cv.oof_score) for n, r in result.models.items()}),
        "confusion": confusion_figure(
            {n: r.cv.summary["confusion_matrix"] for n, r in result.models.items()}
        ),
        "tolerance_factor_map": tolerance_factor_map(
            data.features["t1"].to_numpy(),
            data.features["t2"].to_numpy(),
            data.y,
            {"refit this round": result.tolerance_factor_boundary},
        ),
    }
    curves = reliability_curves({n: r.cv for n, r in result.models.items()}, data)
    if curves:
        figures["reliability"] = reliability_figure(curves)
    for name, r in result.models.items():
        if r.importance is not None:
            figures[f"importance-{name}"] = importance_figure(
                r.importance["feature"].tolist(), r.importance["error_rise"].to_numpy(), name
            )
    return figures
