"""What the registry hands out: frozen snapshots, detached from any database session.

Changing a snapshot changes nothing in the database (they cannot be changed anyway);
open a new unit of work (:meth:`registry.store.Registry.unit_of_work`) for fresh state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from registry.queue import ProposalStatus

OutcomeKind = Literal["synthesis", "xrd", "conductivity"]
OUTCOME_KINDS: tuple[OutcomeKind, ...] = ("synthesis", "xrd", "conductivity")
RecordStatus = Literal["current", "superseded", "retracted", "retraction"]


def frozen_mapping(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``data``."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class CampaignRecord:
    """A campaign."""

    id: int
    name: str
    description: str | None
    created_at: datetime


@dataclass(frozen=True)
class CompositionRecord:
    """A composition: canonical formula, site occupancies (per 12 O) and descriptors."""

    id: int
    formula: str
    na: float
    m_site: tuple[tuple[str, int, float], ...]  # (element, charge, amount)
    a_site: tuple[tuple[str, int, float], ...]
    descriptors: Mapping[str, Any]


@dataclass(frozen=True)
class SampleRecord:
    """A physical sample and the composition it was made as."""

    pk: int
    sample_id: str
    campaign: str
    formula: str
    composition_id: int
    proposal_id: int | None
    source: str
    citation: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class OutcomeSnapshot:
    """One stored synthesis, XRD or conductivity row (values in canonical units).

    ``status`` is ``current`` (the live value of its chain), ``superseded`` (replaced by
    ``superseded_by``), ``retracted`` (withdrawn by row ``superseded_by``) or
    ``retraction`` (this row withdraws ``supersedes_id``).
    """

    kind: OutcomeKind
    id: int
    sample_pk: int
    sample_id: str
    campaign: str
    formula: str
    values: Mapping[str, Any]
    supersedes_id: int | None
    is_retraction: bool
    reason: str | None
    recorded_by: str
    recorded_at: datetime
    status: RecordStatus = "current"
    superseded_by: int | None = None


@dataclass(frozen=True)
class ModelRunRecord:
    """A trained model of a round with its metrics and artifact."""

    id: int
    round_number: int | None
    algorithm: str
    scope: str
    hyperparameters: Mapping[str, Any]
    fold_metrics: tuple[Mapping[str, Any], ...]
    metrics: Mapping[str, Any]
    is_champion: bool
    artifact_path: str | None
    artifact_sha256: str | None
    training_data_sha256: str
    library_versions: Mapping[str, Any]
    n_train: int
    created_at: datetime


@dataclass(frozen=True)
class ProposalRecord:
    """A proposal and where it is in the lab."""

    id: int
    round_number: int | None
    formula: str
    composition_id: int
    model_run_id: int | None
    probabilities: Mapping[str, float]
    acquisition_score: float | None
    strategy: str
    reason: str | None
    status: ProposalStatus
    status_reason: str | None
    status_changed_at: datetime
    status_changed_by: str | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    created_at: datetime
    in_domain: bool | None = None  # in the training domain of its round (None: not checked)
    domain_reason: str | None = None
    # the recommender's objectives (migration 0005; None on older rows)
    p_forms: float | None = None
    p_forms_sd: float | None = None
    log10_sigma_s_cm: float | None = None
    log10_sigma_sd: float | None = None
    objective: str | None = None
    signal: str | None = None


@dataclass(frozen=True)
class QueueSnapshot:
    """The open queue and what is measured, read once in one unit of work (read-only is fine).

    Nothing is written to take it: a claim that has lapsed at ``now`` is still stored as
    claimed, and is listed in :attr:`lapsed` (it counts as queued; either way it is open).

    Attributes:
        open: open proposals (queued, claimed, synthesized), oldest first.
        measured: canonical formulas with an experimental label.
        round_rows: every proposal of the round asked for (any status); () if none asked.
        now: the time lapsed claims were judged at.
    """

    open: tuple[ProposalRecord, ...]
    measured: frozenset[str]
    round_rows: tuple[ProposalRecord, ...]
    now: datetime

    @property
    def lapsed(self) -> tuple[int, ...]:
        """Ids of claimed proposals whose claim has lapsed at :attr:`now`."""
        return tuple(
            p.id
            for p in self.open
            if p.status is ProposalStatus.CLAIMED
            and p.claim_expires_at is not None
            and p.claim_expires_at <= self.now
        )

    @property
    def excluded(self) -> frozenset[str]:
        """Formulas not to propose: open in the queue, or measured."""
        return frozenset(p.formula for p in self.open) | self.measured


@dataclass(frozen=True)
class ProposalEvent:
    """One status change of a proposal."""

    proposal_id: int
    from_status: ProposalStatus | None
    to_status: ProposalStatus
    who: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class RoundRecord:
    """A closed-loop round."""

    number: int
    flow_run_id: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    champion_run_id: int | None
    n_new_labels: int | None
    n_proposals: int | None


@dataclass(frozen=True)
class SampleHistory:
    """Everything recorded about one sample, oldest first."""

    sample: SampleRecord
    records: tuple[OutcomeSnapshot, ...]
    proposal: ProposalRecord | None = None
    proposal_events: tuple[ProposalEvent, ...] = ()


@dataclass(frozen=True)
class OutcomeWrite:
    """A request to store one outcome row (values in canonical units, see registry.tables).

    A synthesis write without ``supersedes_id`` creates the sample ``sample_id`` (its
    ``formula`` is required); other writes refer to an existing sample, found in
    ``campaign`` or, when that is None, in whichever campaign holds the id (it must be
    unique). ``supersedes_id`` makes the write a correction of that row.
    """

    kind: OutcomeKind
    sample_id: str
    values: Mapping[str, Any]
    campaign: str | None = None
    formula: str | None = None
    proposal_id: int | None = None
    supersedes_id: int | None = None
    reason: str | None = None
    source: str = "bench"
    citation: str | None = None


@dataclass(frozen=True)
class WriteReport:
    """What an :meth:`OutcomeRepository.write` call stored.

    Attributes:
        added: (index of the write, kind, id of the new row) of every stored row.
        unchanged: indices of writes identical to what was already stored (skipped).
        samples_created: sample ids created by the call.
        proposals_updated: ids of proposals whose status the writes moved on.
    """

    added: tuple[tuple[int, OutcomeKind, int], ...] = ()
    unchanged: tuple[int, ...] = ()
    samples_created: tuple[str, ...] = ()
    proposals_updated: tuple[int, ...] = field(default=())
