"""The ``retrain`` flow: training data -> one CV task per model -> one tuning task per model ->
champion, artifacts and model runs, the reads and the store being the services of
:mod:`flows.services.retrain` in tasks. Idempotent per round: a round that already holds its
model runs is not retrained again."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow, task

from flows.retries import REGISTRY_RETRIES
from flows.services import retrain as service
from loop.evaluation.cv import CVResult
from loop.models.zoo import get_spec
from loop.settings import NasiconConfig
from loop.training import (
    RetrainSettings,
    TrainingSet,
    compare_models,
    finish_retrain,
    tune_models,
)
from loop.tuning.study import TuningResult
from registry import Registry
from registry.optuna_storage import make_optuna_storage

log = logging.getLogger(__name__)


@task(name="assemble-training-data", **REGISTRY_RETRIES)
def assemble_training_data(
    config: NasiconConfig, settings: RetrainSettings, round_number: int
) -> service.PreparedRetrain:
    """Training frame and DFT data set from the registry (validated; nothing written)."""
    with Registry.from_config(config) as registry:
        return service.prepare_retrain(registry, config, settings, round_number=round_number)


@task(name="cross-validate")
def cross_validate_model(
    model: str, data: TrainingSet, folds: int, seed: int, calibrate: bool = True
) -> CVResult:
    """k-fold CV of one model with its default parameters (the folds run inside), scored
    against DFT and experimental labels."""
    return compare_models(
        [get_spec(model)], data, folds=folds, seed=seed, calibrate=calibrate
    )[model]


@task(name="tune")
def tune_one_model(
    model: str,
    data: TrainingSet,
    storage_url: str,
    round_number: int,
    settings: RetrainSettings,
) -> TuningResult:
    """The optuna study of one model, stored in the registry database at ``storage_url``."""
    return tune_models(
        [get_spec(model)],
        data,
        storage=make_optuna_storage(storage_url),
        round_number=round_number,
        trials=settings.trials,
        timeout_s=settings.timeout_s,
        folds=settings.folds,
        seed=settings.seed,
    )[model]


@task(name="select-and-register-champion", **REGISTRY_RETRIES)
def select_and_register(
    config: NasiconConfig,
    settings: RetrainSettings,
    prepared: service.PreparedRetrain,
    default_cv: dict[str, CVResult],
    tuning: dict[str, TuningResult],
    round_number: int,
    figures_dir: Path | None,
) -> dict[str, Any]:
    """Champion, final fits, artifacts and model runs (one transaction), figures."""
    result = finish_retrain(
        prepared.data,
        settings,
        default_cv,
        tuning,
        round_number=round_number,
        reproduction_frame=prepared.dataset,
        ehull_threshold_mev=config.labels.ehull_threshold_mev,
    )
    with Registry.from_config(config) as registry:
        stored = service.store_retrain(
            registry, config, result, prepared.data, figures_dir=figures_dir
        )
    return stored.to_dict()


@task(name="stored-round-summary", **REGISTRY_RETRIES)
def stored_summary(config: NasiconConfig, round_number: int) -> dict[str, Any] | None:
    """The summary of a round whose model runs are already stored, or None."""
    with Registry.from_config(config) as registry:
        stored = service.stored_retrain(registry, round_number)
    return None if stored is None else stored.to_dict()


@flow(name="retrain")
def retrain_flow(
    config: NasiconConfig,
    settings: RetrainSettings,
    round_number: int,
    figures_dir: Path | None = None,
) -> dict[str, Any]:
    """Retrain every model of the zoo for ``round_number`` (skipped if already stored)."""
    existing = stored_summary(config, round_number)
    if existing is not None:
        log.info("round %d already has its model runs: retrain skipped", round_number)
        return existing
    prepared = assemble_training_data(config, settings, round_number)
    specs = settings.compared_specs()
    cv_futures = {
        s.name: cross_validate_model.submit(
            s.name, prepared.data, settings.folds, settings.seed, settings.calibrate
        )
        for s in specs
    }
    tune_futures = {
        s.name: tune_one_model.submit(
            s.name, prepared.data, config.database.url, round_number, settings
        )
        for s in settings.tuned_specs()
    }
    default_cv = {name: f.result() for name, f in cv_futures.items()}
    tuning = {name: f.result() for name, f in tune_futures.items()}
    return select_and_register(
        config, settings, prepared, default_cv, tuning, round_number, figures_dir
    )
