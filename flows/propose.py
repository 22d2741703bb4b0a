"""The ``propose`` flow: the phases of :mod:`flows.services.propose` as tasks. The plan (one
read of the registry) and the queue write (one transaction) are tasks that retry transient
database faults; the space's chunks are screened in shards spread over the flow's task
runner (threads, or a Dask cluster). Idempotent per round: a round that already queued its
batch gets it back."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from prefect import flow, task

from flows.retries import REGISTRY_RETRIES
from flows.services import propose as service
from loop.screening import ScreeningResult, merge_screening_results, screen_space
from loop.settings import NasiconConfig
from registry import Registry

log = logging.getLogger(__name__)


@task(name="plan-proposals", **REGISTRY_RETRIES)
def plan_proposals(config: NasiconConfig, round_number: int) -> service.ProposalPlan:
    """Champion, its round's models and the queue snapshot (one read-only unit of work)."""
    with Registry.from_config(config) as registry:
        return service.plan_proposals(
            registry, round_number=round_number, labels=config.labels
        )


@task(name="queue-batch", **REGISTRY_RETRIES)
def queue_batch(
    config: NasiconConfig,
    round_number: int,
    proposals: Sequence[service.Proposal],
    lapsed: Sequence[int],
) -> service.QueuedBatch:
    """Return the lapsed claims and insert the batch, in one transaction."""
    with Registry.from_config(config) as registry:
        return service.queue_batch(registry, round_number, proposals, lapsed=lapsed)


@task(name="screen-shard")
def screen_shard(space: Any, kwargs: dict[str, Any], shard: tuple[int, int]) -> ScreeningResult:
    """Screen one shard of the space's chunks (bounded top-k of that shard)."""
    return screen_space(space, **{**kwargs, "progress": None}, shard=shard)


def sharded_screen(shards: int) -> service.Screen:
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
    request = service.ProposeRequest.from_config(
        config, space=space, strategy=strategy, batch=batch
    )
    plan = plan_proposals(config, round_number)
    service.check_objective(plan, request)
    stored = service.stored_batch(plan)
    if stored is not None:
        log.info("round %d already queued its batch: propose skipped", round_number)
        return stored.to_dict()
    screening = service.screen_candidates(plan, request, screen=sharded_screen(shards))
    chosen = service.choose(plan, request, screening)
    queued = queue_batch(config, round_number, chosen, plan.queue.lapsed)
    return service.result_of(plan, request, screening, chosen, queued).to_dict()
