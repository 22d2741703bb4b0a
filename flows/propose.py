"""The ``propose`` flow: screen a design space with the registered models, acquire a diverse
batch, write it to the proposal queue. Idempotent per round."""

from __future__ import annotations

import logging
from typing import Any

from prefect import flow, task

from flows import steps
from flows.retries import REGISTRY_RETRIES
from loop.config import NasiconConfig
from registry import Registry

log = logging.getLogger(__name__)


@task(name="queued-batch-of-round", **REGISTRY_RETRIES)
def queued_batch(config: NasiconConfig, round_number: int) -> dict[str, Any] | None:
    """The proposals a round already queued (None when it has none)."""
    with Registry.from_config(config) as registry:
        return steps.stored_proposals_summary(registry, round_number)


@task(name="screen-acquire-queue", **REGISTRY_RETRIES)
def screen_acquire_queue(
    config: NasiconConfig, space: str, strategy: str, batch: int, round_number: int
) -> dict[str, Any]:
    """Screen the space, pick the batch and queue it in one transaction."""
    return steps.propose_batch(config, space, strategy, batch, round_number=round_number)


@flow(name="propose")
def propose_flow(
    config: NasiconConfig, round_number: int, space: str, strategy: str, batch: int
) -> dict[str, Any]:
    """Queue ``batch`` proposals from ``space`` for ``round_number`` (once per round)."""
    existing = queued_batch(config, round_number)
    if existing is not None:
        log.info("round %d already queued its batch: propose skipped", round_number)
        return existing
    return screen_acquire_queue(config, space, strategy, batch, round_number)
