"""Deployments served by ``nasicon serve``: the nightly closed-loop round (cron from the
``[schedule]`` settings, local time by default), plus on-demand ``retrain`` and ``ingest``."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from loop.settings import NasiconConfig
from loop.training import RetrainSettings

log = logging.getLogger(__name__)

ROUND_DEPLOYMENT = "nightly-round"
INGEST_DEPLOYMENT = "ingest-outcomes"


def local_timezone() -> str:
    """IANA name of this machine's time zone (UTC when it cannot be told)."""
    try:
        from tzlocal import get_localzone_name

        return get_localzone_name() or "UTC"
    except Exception:  # tzlocal missing or no zone configured
        return "UTC"


def retrain_settings(config: NasiconConfig) -> RetrainSettings:
    """Retrain settings from the ``[models]`` section."""
    return RetrainSettings(
        folds=config.models.folds,
        trials=config.models.trials,
        timeout_s=config.models.timeout_s,
        seed=config.models.seed,
        models=tuple(config.models.compare) if config.models.compare else None,
        tune=tuple(config.models.tune) if config.models.tune is not None else None,
    )


def _parameters(config: NasiconConfig, settings: RetrainSettings) -> dict[str, Any]:
    """JSON-ready parameters (Prefect validates them back into the typed objects)."""
    return {"config": config.model_dump(mode="json"), "settings": dataclasses.asdict(settings)}


def build_deployments(config: NasiconConfig) -> list[Any]:
    """The deployments with their schedules, parameters holding the settings."""
    from prefect.schedules import Cron

    from flows.ingest import ingest_flow
    from flows.round import closed_loop_round

    tz = config.schedule.timezone or local_timezone()
    settings = retrain_settings(config)
    round_deployment = closed_loop_round.to_deployment(
        name=ROUND_DEPLOYMENT,
        schedule=Cron(config.schedule.round_cron, timezone=tz),
        parameters=_parameters(config, settings),
        description="Retrain on everything recorded, then refill the proposal queue.",
    )
    ingest_deployment = ingest_flow.to_deployment(
        name=INGEST_DEPLOYMENT,
        parameters=_parameters(config, settings),
        description="Record a batch CSV of outcomes; start a round when enough labels arrived.",
    )
    log.info("round schedule: %s (%s)", config.schedule.round_cron, tz)
    return [round_deployment, ingest_deployment]


def serve(config: NasiconConfig) -> None:
    """Serve the deployments until interrupted (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(*build_deployments(config))
