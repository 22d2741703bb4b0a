"""Retrain: read the training data, train the zoo, store every model run in one transaction.

The pieces are separate so that :mod:`flows.retrain` can spread the CV and tuning of each
model over tasks: :func:`prepare_retrain` (reads, validates), the training in ``loop``,
:func:`store_retrain` (artifacts, then the model runs in one unit of work, then figures);
:func:`retrain` is all of them in this process (the CLI's ``nasicon retrain``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.importers.dft import read_dft_dataset
from experiments.training_data import training_frame
from flows.services.rounds import next_free_round, round_text, runs_of_round
from loop.errors import ValidationError
from loop.evaluation.selection import CHAMPION_RULE
from loop.models.zoo import select_specs
from loop.progress import ProgressHook
from loop.settings import NasiconConfig
from loop.training import (
    RetrainResult,
    RetrainSettings,
    TrainingSet,
    model_run_rows,
    run_retrain,
    training_set_from_frame,
)
from loop.training.figures import retrain_figures
from registry import ModelRunRecord, Registry
from registry.artifacts import (
    SavedArtifacts,
    library_versions,
    remove_new_artifacts,
    round_dir,
    save_artifact,
    save_artifacts,
)
from registry.optuna_storage import make_optuna_storage
from registry.reports import save_figures

log = logging.getLogger(__name__)

#: Metrics of a stored run shown on a leaderboard.
LEADERBOARD_METRICS = (
    "accuracy", "f1_macro", "balanced_accuracy", "roc_auc", "f1_macro_sd", "brier", "log_loss",
    "ece", "exp_n", "exp_recall", "exp_precision", "exp_f1_macro", "exp_log_loss",
)  # fmt: skip


@dataclass(frozen=True)
class PreparedRetrain:
    """Validated inputs of one retrain."""

    data: TrainingSet
    dataset: pd.DataFrame | None  # the DFT data set for the published check


@dataclass(frozen=True)
class RetrainOutcome:
    """A retrain as stored (or found stored): the model runs, the champion, the figures.

    Attributes:
        champion: name of the champion model.
        champion_run_id: its model-run id.
        model_run_ids: model name -> model-run id.
        summary: the JSON document of the retrain (leaderboard, champion, n_train, ...).
        figures: figure name -> saved PNG.
        reused: the round's runs were already stored; nothing was trained.
        result: the in-memory result (None when reused).
    """

    champion: str
    champion_run_id: int
    model_run_ids: dict[str, int]
    summary: dict[str, Any]
    figures: dict[str, Path] = field(default_factory=dict)
    reused: bool = False
    result: RetrainResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary with the ids, figures and ``reused`` (what flows return)."""
        return {
            **self.summary,
            "champion": self.champion,
            "champion_run_id": self.champion_run_id,
            "model_run_ids": dict(self.model_run_ids),
            "figures": {k: str(v) for k, v in self.figures.items()},
            "reused": self.reused,
        }


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
    ehull = frame["ehull_mev"].to_numpy(float)
    frame = frame.assign(dft_label=np.where(
        np.isnan(ehull), -1, (ehull <= config.labels.ehull_threshold_mev).astype(int)))
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
) -> RetrainOutcome:
    """Save the artifacts (the models and the applicability domain), write every model run
    in ONE transaction, then the figures.

    A run that did not compare the configured model set (``models.compare``, None: the zoo)
    is stored with ``default_eligible`` false: its champion is its round's, never the
    default of predict and propose (:meth:`ModelRunRepository.champion`).
    The artifacts this call created are removed again if the write fails.
    """
    base = Path(config.models.artifacts_dir).resolve()
    saved = save_artifacts(result, base)
    extra: dict[str, Any] = {"default_eligible": default_eligible(config, result.settings)}
    if result.domain is not None:
        folder = round_dir(base, result.round_number)
        existed = set(folder.glob("applicability_domain-*.skops"))
        try:
            domain = save_artifact(result.domain, folder, "applicability_domain",
                                   {"training_data_sha256": result.training_sha256})
        except BaseException:
            remove_new_artifacts(saved)
            raise
        if domain.path not in existed:
            saved = SavedArtifacts(saved.by_model, (*saved.created, domain.path))
        extra["domain_artifact"] = {"path": str(domain.path), "sha256": domain.sha256}
    rows = model_run_rows(result, saved.refs(), library_versions=library_versions(),
                          extra_metrics=extra)
    try:
        with registry.unit_of_work() as uow:
            ids = {row["algorithm"]: uow.model_runs.add(**row) for row in rows}
    except BaseException:
        remove_new_artifacts(saved)
        raise
    figures: dict[str, Path] = {}
    if figures_dir is not None:
        figures = save_figures(retrain_figures(result, data), figures_dir)
    return RetrainOutcome(
        champion=result.champion,
        champion_run_id=ids[result.champion],
        model_run_ids=ids,
        summary=result.to_json(),
        figures=figures,
        result=result,
    )


def default_eligible(config: NasiconConfig, settings: RetrainSettings) -> bool:
    """Whether a retrain compared every model of the configured set (``models.compare``),
    so that its champion may become the default of predict and propose."""
    configured = {s.name for s in select_specs(config.models.compare)}
    return configured <= {s.name for s in settings.compared_specs()}


def stored_retrain(registry: Registry, round_number: int) -> RetrainOutcome | None:
    """The retrain a round already stored (its runs, with a champion), else None."""
    runs = registry.run(lambda uow: uow.model_runs.find(round_number), write=False)
    champion = next((r for r in runs if r.is_champion), None)
    if champion is None:
        return None
    return RetrainOutcome(
        champion=champion.algorithm,
        champion_run_id=champion.id,
        model_run_ids={r.algorithm: r.id for r in runs},
        summary={
            "leaderboard": _leaderboard(runs),
            "n_train": champion.n_train,
            "champion_rule": CHAMPION_RULE,
            "champion_reason": champion.metrics.get("champion_reason"),
        },
        reused=True,
    )


def _leaderboard(runs: list[ModelRunRecord]) -> list[dict[str, Any]]:
    rows = [
        {
            "model": r.algorithm,
            **{k: r.metrics.get(k) for k in LEADERBOARD_METRICS},
            "params": dict(r.hyperparameters),
        }
        for r in runs
    ]
    return sorted(rows, key=lambda row: -(row["f1_macro"] or 0.0))


def retrain(
    registry: Registry,
    config: NasiconConfig,
    settings: RetrainSettings,
    *,
    round_number: int | None,
    figures_dir: Path | None = None,
    progress: ProgressHook | None = None,
    reuse_stored: bool = False,
) -> RetrainOutcome:
    """One retrain in this process: prepare, train, store (the model runs in one transaction).

    The optuna studies live in the registry database (opened only when a model is tuned).
    ``reuse_stored``: a round that already holds its runs (with a champion) is returned as
    stored instead of refused.

    Raises:
        ValidationError: the round already holds runs of these models (and not reused).
        TrainingDataError / DataMissingError: see :func:`prepare_retrain`.
    """
    if reuse_stored and round_number is not None:
        stored = stored_retrain(registry, round_number)
        if stored is not None:
            log.info("round %d already has its model runs: retrain skipped", round_number)
            return stored
    prepared = prepare_retrain(registry, config, settings, round_number=round_number)
    storage = make_optuna_storage(config.database.url) if settings.tuned_specs() else None
    result = run_retrain(
        prepared.data,
        settings,
        storage=storage,
        round_number=round_number,
        reproduction_frame=prepared.dataset,
        ehull_threshold_mev=config.labels.ehull_threshold_mev,
        progress=progress,
    )
    return store_retrain(registry, config, result, prepared.data, figures_dir=figures_dir)
