"""Round bookkeeping: which round to run, opening (or resuming) and closing it, new labels."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from registry import ModelRunRecord, Registry, RoundRecord, UnitOfWork

log = logging.getLogger(__name__)


def round_text(number: int | None) -> str:
    """'3', or 'none' for runs outside any round."""
    return "none" if number is None else str(number)


def runs_of_round(registry: Registry, number: int | None) -> list[ModelRunRecord]:
    """Model runs stored for round ``number`` (None: runs outside rounds)."""
    with registry.unit_of_work(write=False) as uow:
        if number is None:
            return [r for r in uow.model_runs.find() if r.round_number is None]
        return uow.model_runs.find(number)


def next_free_round(registry: Registry) -> int:
    """One past the highest round number used by a round or a model run."""
    with registry.unit_of_work(write=False) as uow:
        numbers = [r.round_number for r in uow.model_runs.find() if r.round_number is not None]
        latest = uow.rounds.latest()
    if latest is not None:
        numbers.append(latest.number)
    return max(numbers, default=0) + 1


def default_round(registry: Registry) -> int | None:
    """The latest round's number, or None when no round was ever started."""
    latest = registry.run(lambda uow: uow.rounds.latest(), write=False)
    return None if latest is None else latest.number


def _resolve(uow: UnitOfWork, round_number: int | None) -> int:
    if round_number is not None:
        return round_number
    latest = uow.rounds.latest()
    if latest is None:
        return 1
    return latest.number if latest.status != "finished" else latest.number + 1


def resolve_round(registry: Registry, round_number: int | None) -> int:
    """The round to run: ``round_number``, else an unfinished latest round (resumed), else
    the next number."""
    return registry.run(lambda uow: _resolve(uow, round_number), write=False)


def _labels_for_round(uow: UnitOfWork, number: int) -> int:
    earlier = [r for r in uow.rounds.all() if r.number < number]
    return uow.outcomes.count_labels(since=max((r.started_at for r in earlier), default=None))


def labels_since_last_round(uow: UnitOfWork) -> int:
    """Labels recorded since the latest round started (all of them before any round)."""
    latest = uow.rounds.latest()
    return uow.outcomes.count_labels(None if latest is None else latest.started_at)


@dataclass(frozen=True)
class OpenedRound:
    """A round as opened: its number, the labels it uses, whether it was resumed."""

    number: int
    n_new_labels: int
    resumed: bool
    flow_run_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def open_round(
    registry: Registry, round_number: int | None = None, *, flow_run_id: str | None = None
) -> OpenedRound:
    """Start round ``round_number`` (None: resume an unfinished latest round, else the next)
    and count its new labels, in one transaction; starting a started round resumes it."""

    def work(uow: UnitOfWork) -> OpenedRound:
        number = _resolve(uow, round_number)
        resumed = any(r.number == number for r in uow.rounds.all())
        uow.rounds.start(number, flow_run_id=flow_run_id)
        return OpenedRound(number, _labels_for_round(uow, number), resumed, flow_run_id)

    opened = registry.run(work)
    log.info(
        "round %d %s (%d new labels)",
        opened.number,
        "resumed" if opened.resumed else "started",
        opened.n_new_labels,
    )
    return opened


def close_round(
    registry: Registry,
    number: int,
    *,
    champion_run_id: int | None,
    n_new_labels: int,
    n_proposals: int,
) -> RoundRecord:
    """Record the round's champion, the labels it used and the proposals it made (one
    transaction); the round is finished."""
    return registry.run(
        lambda uow: uow.rounds.finish(number, champion_run_id, n_new_labels, n_proposals)
    )
