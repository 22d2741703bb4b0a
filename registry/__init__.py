"""The experiment registry: the lab's memory on SQLite or PostgreSQL (SQLModel + alembic).

Entry point: :class:`registry.store.Registry` (``Registry.from_url(url)``).
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
from registry.raw_files import StoredFile, store_raw_file
from registry.snapshots import (
    CampaignRecord,
    CompositionRecord,
    ModelRunRecord,
    OutcomeSnapshot,
    OutcomeWrite,
    ProposalEvent,
    ProposalRecord,
    RoundRecord,
    SampleHistory,
    SampleRecord,
    WriteReport,
)
from registry.store import Registry

__all__ = [
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
    "QueueTransitionError",
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
    "WriteReport",
    "store_raw_file",
]
