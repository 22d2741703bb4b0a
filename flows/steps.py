"""The steps of a closed-loop round as plain functions over the registry.

Each step reads what it needs from the registry (never from the working directory), calls
the science in ``loop/`` and writes its result in one registry transaction, keyed by the
round number so that a re-run finds its own earlier writes instead of duplicating them.
The CLI calls them directly; the Prefect flows (:mod:`flows.round`) wrap each in a task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.training_data import training_frame
from loop.config import NasiconConfig
from loop.errors import ValidationError
from loop.evaluation.reproduction import read_dft_dataset
from loop.training import (
    RetrainResult,
    RetrainSettings,
    TrainingSet,
    model_run_rows,
    remove_new_artifacts,
    run_retrain,
    save_artifacts,
    training_set_from_frame,
)
from loop.training.figures import save_retrain_figures
from registry import ModelRunRecord, Registry
from registry import model_runs as model_run_store

log = logging.getLogger(__name__)


def round_text(number: int | None) -> str:
    """'3', or 'none' for runs outside any round."""
    return "none" if number is None else str(number)


def runs_of_round(registry: Registry, number: int | None) -> list[ModelRunRecord]:
    """Model runs stored for round ``number`` (None: runs outside rounds)."""
    if number is None:
        return [r for r in registry.model_runs() if r.round_number is None]
    return registry.model_runs(number)


def next_free_round(registry: Registry) -> int:
    """One past the highest round number used by a round or a model run."""
    numbers = [r.round_number for r in registry.model_runs() if r.round_number is not None]
    latest = registry.latest_round()
    if latest is not None:
        numbers.append(latest.number)
    return max(numbers, default=0) + 1


def default_round(registry: Registry) -> int | None:
    """The latest round's number, or None when no round was ever started."""
    latest = registry.latest_round()
    return None if latest is None else latest.number


@dataclass(frozen=True)
class PreparedRetrain:
    """Validated inputs of one retrain."""

    data: TrainingSet
    dataset: pd.DataFrame | None  # the DFT data set for the published check


def prepare_retrain(
    registry: Registry,
    config: NasiconConfig,
    settings: RetrainSettings,
    *,
    round_number: int | None,
) -> PreparedRetrain:
    """Check names and labels, read the training frame and the DFT data set; write nothing.

    Raises:
        ValidationError: the round already holds runs for these models.
        TrainingDataError / DataMissingError: no labels, one class, too few rows, no data set.
    """
    specs = settings.compared_specs()
    settings.tuned_specs()  # unknown names in --tune fail here
    stored = {r.algorithm for r in runs_of_round(registry, round_number)}
    clash = sorted(stored & {s.name for s in specs})
    if clash:
        raise ValidationError(
            f"round {round_text(round_number)} already has model runs for "
            f"{', '.join(clash)} (stored runs are never replaced); retrain into a new round "
            f"with --round {next_free_round(registry)}"
        )
    frame = training_frame(
        registry,
        experimental_weight=config.labels.experimental_weight,
        ehull_threshold_mev=config.labels.ehull_threshold_mev,
        impurity_threshold=config.labels.impurity_threshold,
    )
    data = training_set_from_frame(frame, settings.folds)
    dataset = read_dft_dataset(config.data.dft_path)
    return PreparedRetrain(data, dataset)


def store_retrain(
    registry: Registry,
    config: NasiconConfig,
    result: RetrainResult,
    data: TrainingSet,
    *,
    figures_dir: Path | None = None,
) -> tuple[dict[str, int], dict[str, Path]]:
    """Save the artifacts and write every model run in one transaction (figures after).

    The artifacts this call created are removed again if the write fails.
    Returns the model-run ids by model name and the saved figure paths.
    """
    saved = save_artifacts(result, Path(config.models.artifacts_dir).resolve())
    rows = model_run_rows(result, saved)
    try:
        with registry.session() as session:
            ids = {row["algorithm"]: model_run_store.add_model_run(session, **row) for row in rows}
    except BaseException:
        remove_new_artifacts(saved)
        raise
    figures: dict[str, Path] = {}
    if figures_dir is not None:
        figures = save_retrain_figures(result, data, figures_dir)
    return ids, figures


def retrain_registry(
    registry: Registry,
    config: NasiconConfig,
    settings: RetrainSettings,
    *,
    round_number: int | None,
    figures_dir: Path | None = None,
    progress: Any = None,
) -> tuple[RetrainResult, dict[str, int], dict[str, Path]]:
    """One retrain against the registry in this process: prepare, train, store.

    Returns:
        The result, model-run ids by model name and the saved figure paths.
    """
    prepared = prepare_retrain(registry, config, settings, round_number=round_number)
    result = run_retrain(
        prepared.data,
        settings,
        storage_url=config.database.url,
        round_number=round_number,
        reproduction_frame=prepared.dataset,
        ehull_threshold_mev=config.labels.ehull_threshold_mev,
        progress=progress,
    )
    ids, figures = store_retrain(
        registry, config, result, prepared.data, figures_dir=figures_dir
    )
    return result, ids, figures


def stored_retrain_summary(registry: Registry, round_number: int) -> dict[str, Any] | None:
    """Leaderboard of a round whose model runs (with a champion) are stored, else None."""
    runs = registry.model_runs(round_number)
    champion = next((r for r in runs if r.is_champion), None)
    if champion is None:
        return None
    leaderboard = sorted(
        (
            {
                "model": r.algorithm,
                **{k: r.metrics.get(k) for k in ("accuracy", "f1_macro", "balanced_accuracy",
                                                  "roc_auc", "f1_macro_sd")},
                "params": r.hyperparameters,
            }
            for r in runs
        ),
        key=lambda row: -(row["f1_macro"] or 0.0),
    )
    return {
        "leaderboard": leaderboard,
        "champion": champion.algorithm,
        "champion_run_id": champion.id,
        "model_run_ids": {r.algorithm: r.id for r in runs},
        "n_train": champion.n_train,
        "reused": True,
    }
