"""``closed_loop_round``: retrain then propose as subflows, recorded as one round row.

The round row holds the Prefect flow-run id, the champion, the number of new labels used and
the proposals made. Running a round that died half-way again (same number, or no number: an
unfinished latest round is resumed) reuses what it had stored: the model runs of a finished
retrain and a queued batch are never duplicated.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.runtime import flow_run

from flows.propose import propose_flow
from flows.retrain import retrain_flow
from flows.retries import REGISTRY_RETRIES
from flows.runners import RunnerChoice
from flows.services import rounds
from loop.settings import NasiconConfig
from loop.training import RetrainSettings
from registry import Registry

log = logging.getLogger(__name__)


@task(name="open-round", **REGISTRY_RETRIES)
def open_round(config: NasiconConfig, round_number: int | None) -> rounds.OpenedRound:
    """Start (or resume) the round and count the new labels it uses (one transaction)."""
    with Registry.from_config(config) as registry:
        return rounds.open_round(registry, round_number, flow_run_id=str(flow_run.get_id()))


@task(name="close-round", **REGISTRY_RETRIES)
def close_round(
    config: NasiconConfig, number: int, champion_run_id: int | None, n_new: int, n_prop: int
) -> None:
    """Record the champion, the labels used and the proposals made."""
    with Registry.from_config(config) as registry:
        rounds.close_round(
            registry, number, champion_run_id=champion_run_id, n_new_labels=n_new,
            n_proposals=n_prop,
        )  # fmt: skip


@flow(name="closed-loop-round")
def closed_loop_round(
    config: NasiconConfig,
    settings: RetrainSettings,
    round_number: int | None = None,
    space: str | None = None,
    strategy: str | None = None,
    batch: int | None = None,
    figures_dir: Path | None = None,
    runner: RunnerChoice | None = None,
) -> dict[str, Any]:
    """Retrain, then propose, recorded as one round (space, strategy and batch default to
    the ``[proposals]`` settings; ``runner`` chooses threads or Dask for the subflows)."""
    runner = runner or RunnerChoice()
    space = space or config.proposals.space
    strategy = strategy or config.proposals.strategy
    batch = batch or config.proposals.batch
    opened = open_round(config, round_number)
    number = opened.number
    figures = Path(figures_dir) / f"round-{number}" if figures_dir is not None else None
    retrain = retrain_flow.with_options(task_runner=runner.task_runner())
    retrained = retrain(config, settings, number, figures)
    propose = propose_flow.with_options(task_runner=runner.task_runner())
    proposed = propose(config, number, space, strategy, batch, shards=runner.workers)
    close_round(
        config, number, retrained["champion_run_id"], opened.n_new_labels,
        len(proposed["proposals"]),
    )  # fmt: skip
    return {
        "round": number,
        "flow_run_id": str(flow_run.get_id()),
        "n_new_labels": opened.n_new_labels,
        "runner": runner.describe(),
        "retrain": retrained,
        "propose": proposed,
    }
