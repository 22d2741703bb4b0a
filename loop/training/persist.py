"""Turn a :class:`RetrainResult` into files (artifacts, figures) and model-run rows.

The rows are plain keyword dicts for ``Registry.add_model_run``; the caller writes all of
them in one transaction (loop/ does not import the registry) and, if that fails, removes
the artifacts this retrain created with :func:`remove_new_artifacts`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loop.evaluation.cv import CVResult
from loop.models.artifacts import ArtifactInfo, library_versions, save_artifact
from loop.models.zoo import TOLERANCE_FACTOR
from loop.training.retrain import ModelResult, RetrainResult, importance_records

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedArtifacts:
    """Artifacts of one retrain, and which files it created (vs found already there)."""

    by_model: dict[str, ArtifactInfo]
    created: tuple[Path, ...]


def round_dir(base: str | Path, round_number: int | None) -> Path:
    """``<base>/round-<n>`` (``round-none`` outside rounds)."""
    return Path(base) / f"round-{'none' if round_number is None else int(round_number)}"


def save_artifacts(result: RetrainResult, base_dir: str | Path) -> SavedArtifacts:
    """Save every fitted model of ``result`` under ``round_dir(base_dir, round)``."""
    directory = round_dir(base_dir, result.round_number)
    by_model: dict[str, ArtifactInfo] = {}
    created: list[Path] = []
    try:
        for name, r in result.models.items():
            if r.estimator is None:
                raise ValueError(f"model {name} was not fitted")
            existed = set(directory.glob(f"{name}-*.skops")) if directory.exists() else set()
            info = save_artifact(r.estimator, directory, name, _artifact_metadata(result, r))
            by_model[name] = info
            if info.path not in existed:
                created.append(info.path)
    except BaseException:
        remove_new_artifacts(SavedArtifacts(by_model, tuple(created)))
        raise
    return SavedArtifacts(by_model, tuple(created))


def remove_new_artifacts(saved: SavedArtifacts) -> None:
    """Delete the artifact files (and metadata) a failed retrain created."""
    for path in saved.created:
        for p in (path, path.with_name(path.name + ".json")):
            p.unlink(missing_ok=True)
        log.info("removed %s", path)


def _artifact_metadata(result: RetrainResult, r: ModelResult) -> dict[str, Any]:
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
    }
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
    result: RetrainResult, saved: SavedArtifacts | None
) -> list[dict[str, Any]]:
    """Keyword arguments of ``add_model_run`` for every model of ``result``."""
    versions = library_versions()
    rows = []
    for name, r in result.models.items():
        info = None if saved is None else saved.by_model.get(name)
        rows.append(
            {
                "round_number": result.round_number,
                "algorithm": name,
                "scope": r.spec.scope,
                "hyperparameters": dict(r.params),
                "fold_metrics": fold_records(r.cv),
                "metrics": _metrics(result, r),
                "is_champion": name == result.champion,
                "artifact_path": None if info is None else str(info.path),
                "artifact_sha256": None if info is None else info.sha256,
                "training_data_sha256": result.training_sha256,
                "library_versions": versions,
                "n_train": result.n_train,
            }
        )
    return rows
