"""Save the figures of a retrain: ROC curves, confusion matrices, the (t1, t2) map and
drop-column importance (PNG, via :mod:`loop.evaluation.figures`)."""

from __future__ import annotations

from pathlib import Path

from loop.evaluation.figures import (
    confusion_figure,
    importance_figure,
    roc_figure,
    tolerance_factor_map,
)
from loop.training.data import TrainingSet
from loop.training.retrain import RetrainResult


def save_retrain_figures(
    result: RetrainResult, data: TrainingSet, directory: str | Path, dpi: int = 130
) -> dict[str, Path]:
    """Write ``roc.png``, ``confusion.png``, ``tolerance_factor_map.png`` and one
    ``importance-<model>.png`` per importance table into ``directory``; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
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
    for name, r in result.models.items():
        if r.importance is not None:
            figures[f"importance-{name}"] = importance_figure(
                r.importance["feature"].tolist(), r.importance["error_rise"].to_numpy(), name
            )
    paths = {}
    for key, fig in figures.items():
        path = directory / f"{key}.png"
        fig.savefig(path, dpi=dpi)
        paths[key] = path
    return paths
