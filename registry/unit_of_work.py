"""The unit of work: one database transaction and the repositories that work inside it.

Open one from the registry; it commits when the block ends and rolls back on any error::

    with registry.unit_of_work() as uow:            # a write transaction
        report = uow.outcomes.write(writes, recorded_by="ann")
        uow.proposals.add(3, proposals)             # committed together, or neither
    with registry.unit_of_work(write=False) as uow: # read-only, one consistent snapshot
        runs = uow.model_runs.find(3)

Every repository method returns frozen snapshots (:mod:`registry.snapshots`); the session
is there for the few callers that need SQL of their own (tests, maintenance).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from registry.repositories import (
    CampaignRepository,
    CompositionRepository,
    ComputedRecordRepository,
    ModelRunRepository,
    OutcomeRepository,
    ProposalRepository,
    RoundRepository,
    SampleRepository,
    UserRepository,
)


class UnitOfWork:
    """One transaction over the registry's repositories.

    Attributes:
        session: the SQLAlchemy session of the transaction.
        writable: False for a read-only unit (the database refuses writes in it).
        claim_hours: how long a queue claim holds unless the caller says otherwise, h.
        campaigns, compositions, computed, samples, outcomes, proposals, model_runs,
        rounds, users: the repositories (see :mod:`registry.repositories`).
    """

    def __init__(self, session: Session, *, writable: bool, claim_hours: float) -> None:
        self.session = session
        self.writable = writable
        self.claim_hours = claim_hours
        self.campaigns = CampaignRepository(self)
        self.compositions = CompositionRepository(self)
        self.computed = ComputedRecordRepository(self)
        self.samples = SampleRepository(self)
        self.outcomes = OutcomeRepository(self)
        self.proposals = ProposalRepository(self)
        self.model_runs = ModelRunRepository(self)
        self.rounds = RoundRepository(self)
        self.users = UserRepository(self)
