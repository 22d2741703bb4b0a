"""The ``propose`` flow: screen a design space with the registered models (its chunks spread
over the flow's task runner in shards: threads, or a Dask cluster), acquire a diverse batch,
write it to the proposal queue. Idempotent per round."""

from __future__ import annotations

import logging
from typing import Any

from prefect import flow, task

from flows import steps
from flows.retries import REGISTRY_RETRIES
from loop.screening import ScreeningResult, merge_screening_results, screen_space
from loop.settings import NasiconConfig
from registry import Registry

log = logging.getLogger(__name__)


@task(name="queued-batch-of-round", **REGISTRY_RETRIES)
def queued_batch(config: NasiconConfig, round_number: int) -> dict[str, Any] | None:
    """The proposals a round already queued (None when it has none)."""
    with Registry.from_config(config) as registry:
        return steps.stored_proposals_summary(registry, round_number)


@task(name="screen-shard")
def screen_shard(space: Any, kwargs: dict[str, Any], shard: tuple[int, int]) -> ScreeningResult:
    """Screen one shard of the space's chunks (bounded top-k of that shard)."""
    return screen_space(space, **{**kwargs, "progress": None}, shard=shard)


def sharded_screen(shards: int):
    """A drop-in for ``screen_space`` that screens ``shards`` shards as tasks and merges."""

    def screen(space: Any, **kwargs: Any) -> ScreeningResult:
        futures = [screen_shard.submit(space, kwargs, (i, shards)) for i in range(shards)]
        return merge_screening_results([f.result() for f in futures], kwargs["top_k"])

    return screen


@flow(name="propose", retries=2, retry_delay_seconds=10)
def propose_flow(
    config: NasiconConfig,
    round_number: int,
    space: str,
    strategy: str,
    batch: int,
    shards: int = 2,
) -> dict[str, Any]:
    """Queue ``batch`` proposals from ``space`` for ``round_number`` (once per round; the
    batch is written in one transaction, so a retried run finds it or writes it whole)."""
    existing = queued_batch(config, round_number)
    if existing is not None:
        log.info("round %d already queued its batch: propose skipped", round_number)
        return existing
    return steps.propose_batch(
        config, space, strategy, batch, round_number=round_number, screen=sharded_screen(shards)
    )
