"""A :class:`RetrainResult` as plain dicts: artifact metadata and model-run rows.

The rows are keyword dicts for ``add_model_run``; the caller saves the artifacts
(:mod:`registry.artifacts`), passes where they went as plain data and writes all rows in
one transaction (loop/ imports no registry code and writes no files).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loop.evaluation.cv import CVResult
from loop.models.zoo import TOLERANCE_FACTOR
from loop.training.experimental import experimental_row, figures_of
from loop.training.retrain import ModelResult, RetrainResult, importance_records

#: model name -> (artifact path, its hex SHA-256), as saved by the caller.
ArtifactRefs = Mapping[str, tuple[str | Path, str]]


def artifact_metadata(result: RetrainResult, r: ModelResult) -> dict[str, Any]:
    """The JSON metadata saved beside the artifact of model ``r`` of ``result``."""
    return {
        "model": r.name,
        "round_number": result.round_number,
        "features": list(r.spec.features),
        "params": r.params,
        "is_champion": r.name == result.champion,
        "cv_f1_macro": r.cv.f1_macro,
        "training_data_sha256": result.training_sha256,
        "n_train": result.n_train,
    }


def _metrics(result: RetrainResult, r: ModelResult) -> dict[str, Any]:
    s = r.cv.summary
    metrics: dict[str, Any] = {
        **{k: v for k, v in s.items()},
        "features": list(r.spec.features),
        "folds": result.settings.folds,
        "seed": result.settings.seed,
        "default_f1_macro": r.default_cv.f1_macro,
        "seconds": {k: round(v, 3) for k, v in r.timings.items()},
        "class_counts": result.class_counts,
        "calibration": getattr(r.cv, "calibration", "none"),
        **experimental_row(figures_of(r.cv)),
        "experimental": None if figures_of(r.cv) is None else figures_of(r.cv).to_json(),
        "compared_models": sorted(result.models),
    }
    if result.decision is not None:
        metrics["eligible"] = bool(result.decision.eligible.get(r.name, False))
        metrics["champion_reason"] = result.decision.reasons.get(r.name, "")
    if r.tuning is not None:
        t = r.tuning
        metrics["tuning"] = {
            "study": t.study_name,
            "best_value": t.best_value,
            "n_complete": t.n_complete,
            "n_pruned": t.n_pruned,
            "n_run": t.n_run,
            "warm_start": t.warm_start,
            "seconds": round(t.seconds, 3),
        }
    if r.importance is not None:
        metrics["drop_column_importance"] = importance_records(r.importance)
    if r.name == TOLERANCE_FACTOR:
        a, b = result.tolerance_factor_boundary
        metrics["boundary"] = {"a": a, "b": b}
    if r.name == result.champion and result.reproduction is not None:
        metrics["published_reproduction"] = result.reproduction.to_json()
    return metrics


def fold_records(cv: CVResult) -> list[dict[str, Any]]:
    """Per-fold metrics as JSON-ready dicts."""
    return [dict(f) for f in cv.folds]


def model_run_rows(
    result: RetrainResult,
    artifacts: ArtifactRefs | None,
    *,
    library_versions: Mapping[str, str],
    extra_metrics: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Keyword arguments of ``add_model_run`` for every model of ``result``.

    Args:
        extra_metrics: added to every run's metrics (e.g. ``default_eligible``, where the
            applicability-domain artifact went).
        artifacts: model name -> (artifact path, SHA-256); None or a missing name stores
            the run without an artifact.
        library_versions: versions of Python and the libraries the artifacts depend on.
    """
    versions = dict(library_versions)
    rows = []
    for name, r in result.models.items():
        ref = None if artifacts is None else artifacts.get(name)
        rows.append(
            {
                "round_number": result.round_number,
                "algorithm": name,
                "scope": r.spec.scope,
                "hyperparameters": dict(r.params),
                "fold_metrics": fold_records(r.cv),
                "metrics": {**_metrics(result, r), **(extra_metrics or {})},
                "is_champion": name == result.champion,
                "artifact_path": None if ref is None else str(ref[0]),
                "artifact_sha256": None if ref is None else ref[1],
                "training_data_sha256": result.training_sha256,
                "library_versions": versions,
                "n_train": result.n_train,
            }
        )
    return rows
