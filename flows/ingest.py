"""The ``ingest`` flow: a batch CSV of outcomes -> validate -> record (one transaction) ->
start ``closed_loop_round`` when enough new labels have arrived since the last round."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow, task

from experiments.batch import BatchLimits
from flows.retries import REGISTRY_RETRIES
from flows.round import closed_loop_round
from flows.runners import RunnerChoice
from flows.services.ingest import ingest_batch
from loop.settings import NasiconConfig
from loop.training import RetrainSettings
from registry import Registry

log = logging.getLogger(__name__)


@task(name="record-batch", **REGISTRY_RETRIES)
def record_outcomes(config: NasiconConfig, path: Path, recorded_by: str | None) -> dict[str, Any]:
    """Validate and store every row of the file in one transaction (or none); count the
    labels since the last round in that transaction."""
    with Registry.from_config(config) as registry:
        return ingest_batch(
            registry,
            path,
            recorded_by=recorded_by,
            impurity_threshold=config.labels.impurity_threshold,
            limits=BatchLimits(config.limits.max_batch_bytes, config.limits.max_batch_rows),
        ).to_dict()


@flow(name="ingest")
def ingest_flow(
    config: NasiconConfig,
    path: Path,
    settings: RetrainSettings,
    recorded_by: str | None = None,
    min_new_labels: int | None = None,
    runner: RunnerChoice | None = None,
) -> dict[str, Any]:
    """Record a batch file; run a closed-loop round once ``min_new_labels`` have arrived."""
    threshold = min_new_labels or config.schedule.min_new_labels
    recorded = record_outcomes(config, Path(path), recorded_by)
    out: dict[str, Any] = {**recorded, "threshold": threshold, "round": None}
    if recorded["new_labels"] >= threshold:
        log.info(
            "%d new labels since the last round (threshold %d): starting a round",
            recorded["new_labels"],
            threshold,
        )
        out["round"] = closed_loop_round(config, settings, runner=runner)
    else:
        log.info(
            "%d new labels since the last round, below the threshold %d: no round",
            recorded["new_labels"],
            threshold,
        )
    return out
