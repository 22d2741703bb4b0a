"""The experiment registry: the lab's memory on SQLite or PostgreSQL (SQLModel + alembic).

Entry point: :class:`registry.store.Registry` (``Registry.from_url(url)``); every query
lives in a repository of a unit of work (``with registry.unit_of_work() as uow:
uow.outcomes.write(...)``, see :mod:`registry.repositories`).
"""

from registry.errors import (
    ConflictError,
    NotFoundError,
    QueueTransitionError,
    RecordErrors,
    RegistryBusyError,
    RegistryError,
    RegistryUnavailableError,
    SchemaVersionError,
)
from registry.queue import ProposalStatus
from registry.raw_files import RawStoreError, StoredFile, require_regular_file, store_raw_file
from registry.repositories import AddedProposals
from registry.snapshots import (
    CampaignRecord,
    CompositionRecord,
    ModelRunRecord,
    OutcomeSnapshot,
    OutcomeWrite,
    ProposalEvent,
    ProposalRecord,
    QueueSnapshot,
    RoundRecord,
    SampleHistory,
    SampleRecord,
    WriteReport,
)
from registry.store import Registry
from registry.unit_of_work import UnitOfWork

__all__ = [
    "AddedProposals",
    "CampaignRecord",
    "CompositionRecord",
    "ConflictError",
    "ModelRunRecord",
    "NotFoundError",
    "OutcomeSnapshot",
    "OutcomeWrite",
    "ProposalEvent",
    "ProposalRecord",
    "ProposalStatus",
    "QueueSnapshot",
    "QueueTransitionError",
    "RawStoreError",
    "RecordErrors",
    "Registry",
    "RegistryBusyError",
    "RegistryError",
    "RegistryUnavailableError",
    "RoundRecord",
    "SampleHistory",
    "SampleRecord",
    "SchemaVersionError",
    "StoredFile",
    "UnitOfWork",
    "WriteReport",
    "require_regular_file",
    "store_raw_file",
]
