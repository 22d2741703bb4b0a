"""Queue actions: list, claim, release, abandon, reject (each ONE transaction).

Every action first returns lapsed claims to the queue (a write), as the registry's queue
does whenever it is read or changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from loop.errors import ValidationError
from registry import ProposalRecord, ProposalStatus, Registry


def statuses(
    names: Sequence[str] | None, *, include_finished: bool = False
) -> list[ProposalStatus]:
    """Statuses named (default: the open ones, or every one with ``include_finished``).

    Raises:
        ValidationError: an unknown status name.
    """
    if names:
        try:
            return [ProposalStatus(s) for s in names]
        except ValueError:
            known = ", ".join(s.value for s in ProposalStatus)
            raise ValidationError(f"--status must be one of {known}") from None
    return list(ProposalStatus) if include_finished else [s for s in ProposalStatus if s.is_open]


def list_proposals(
    registry: Registry,
    wanted: Sequence[ProposalStatus] | None = None,
    round_number: int | None = None,
) -> list[ProposalRecord]:
    """Proposals of ``wanted`` statuses (None: any) and one round (None: any), oldest first;
    lapsed claims return to the queue first."""
    return registry.run(lambda uow: uow.proposals.find(wanted, round_number))


def claim(
    registry: Registry, proposal_id: int, who: str, hours: float | None = None
) -> ProposalRecord:
    """Claim a queued proposal for ``hours`` (default: the registry's claim time)."""
    return registry.run(lambda uow: uow.proposals.claim(proposal_id, who, hours))


def release(
    registry: Registry, proposal_id: int, who: str, *, force: bool = False
) -> ProposalRecord:
    """Put a claimed proposal back in the queue (someone else's claim only with ``force``)."""
    return registry.run(lambda uow: uow.proposals.release(proposal_id, who, force=force))


def abandon(registry: Registry, proposal_id: int, reason: str, who: str) -> ProposalRecord:
    """Abandon a proposal, keeping the reason."""
    return registry.run(lambda uow: uow.proposals.abandon(proposal_id, reason, who))


def reject(registry: Registry, proposal_id: int, reason: str, who: str) -> ProposalRecord:
    """Reject a queued proposal before anyone makes it, keeping the reason."""
    return registry.run(lambda uow: uow.proposals.reject(proposal_id, reason, who))
