"""The proposal lifecycle: statuses, allowed transitions and claim expiry.

::

                 claim              record synthesis         record XRD
    queued ───────────────► claimed ───────────────► synthesized ──────────► measured
      ▲  │ ◄───────────────── │  │                        │  (failed synthesis ──►)
      │  │  release / claim   │  └──────────┐             │
      │  │  expired           │             ▼             ▼
      │  └──────────────► abandoned (reason kept) ◄───────┘
      │  └──────────────► rejected  (reason kept)
      └─ queued -> synthesized directly when a sample is recorded without a claim

``measured``, ``abandoned`` and ``rejected`` are terminal. A failed synthesis is an
outcome (a negative label): its proposal becomes ``measured``, never ``abandoned``.
A claim holds for a configurable time (``queue.claim_hours``); an expired claim goes
back to ``queued`` the next time anyone reads or changes the queue, so a lab restart
leaves nothing stuck. Every change is stored with who and when (proposal events).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class ProposalStatus(StrEnum):
    """Where a proposed composition is in the lab."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    SYNTHESIZED = "synthesized"
    MEASURED = "measured"
    ABANDONED = "abandoned"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """True once nothing more will happen to the proposal."""
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the composition is in the lab's hands (not terminal)."""
        return self not in TERMINAL


TERMINAL = frozenset({ProposalStatus.MEASURED, ProposalStatus.ABANDONED, ProposalStatus.REJECTED})
OPEN = tuple(s for s in ProposalStatus if s not in TERMINAL)

#: Allowed transitions: status -> statuses it may move to.
TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    ProposalStatus.QUEUED: frozenset(
        {
            ProposalStatus.CLAIMED,
            ProposalStatus.SYNTHESIZED,
            ProposalStatus.MEASURED,
            ProposalStatus.ABANDONED,
            ProposalStatus.REJECTED,
        }
    ),
    ProposalStatus.CLAIMED: frozenset(
        {
            ProposalStatus.QUEUED,
            ProposalStatus.SYNTHESIZED,
            ProposalStatus.MEASURED,
            ProposalStatus.ABANDONED,
        }
    ),
    ProposalStatus.SYNTHESIZED: frozenset({ProposalStatus.MEASURED, ProposalStatus.ABANDONED}),
    ProposalStatus.MEASURED: frozenset(),
    ProposalStatus.ABANDONED: frozenset(),
    ProposalStatus.REJECTED: frozenset(),
}


def can_move(current: ProposalStatus, new: ProposalStatus) -> bool:
    """Whether the lifecycle allows ``current`` -> ``new``."""
    return new in TRANSITIONS[current]


def claim_expiry(now: datetime, hours: float) -> datetime:
    """When a claim made at ``now`` for ``hours`` hours lapses."""
    return now + timedelta(hours=hours)


def claim_expired(expires_at: datetime | None, now: datetime) -> bool:
    """Whether a claim with expiry ``expires_at`` has lapsed at ``now``."""
    return expires_at is not None and expires_at <= now
