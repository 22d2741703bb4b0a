"""One repository per table (or group of tables), all inside one unit of work.

Where to find the query for anything:

========================  ============================================================
``uow.campaigns``         :mod:`registry.repositories.campaigns`
``uow.compositions``      :mod:`registry.repositories.compositions`
``uow.computed``          :mod:`registry.repositories.computed` (DFT records)
``uow.samples``           :mod:`registry.repositories.samples` (and a sample's history)
``uow.outcomes``          :mod:`registry.repositories.outcomes` (synthesis, XRD,
                          conductivity; the write logic in ``outcome_writes``)
``uow.proposals``         :mod:`registry.repositories.proposals` (the queue)
``uow.model_runs``        :mod:`registry.repositories.model_runs`
``uow.rounds``            :mod:`registry.repositories.rounds`
``uow.users``             :mod:`registry.repositories.users` (web page logins: users,
                          token hashes, sessions, failed logins)
========================  ============================================================
"""

from registry.repositories.campaigns import DEFAULT_CAMPAIGN, CampaignRepository
from registry.repositories.compositions import CompositionRepository
from registry.repositories.computed import ComputedRecordRepository
from registry.repositories.model_runs import ModelRunRepository
from registry.repositories.outcomes import OutcomeRepository
from registry.repositories.proposals import AddedProposals, ProposalRepository
from registry.repositories.rounds import RoundRepository
from registry.repositories.samples import SampleRepository
from registry.repositories.users import UserRecord, UserRepository, WebSession

__all__ = [
    "DEFAULT_CAMPAIGN",
    "AddedProposals",
    "CampaignRepository",
    "CompositionRepository",
    "ComputedRecordRepository",
    "ModelRunRepository",
    "OutcomeRepository",
    "ProposalRepository",
    "RoundRepository",
    "SampleRepository",
    "UserRecord",
    "UserRepository",
    "WebSession",
]
