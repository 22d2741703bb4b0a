"""Errors of the registry: each one sentence a user can act on (all are NasiconErrors)."""

from __future__ import annotations

from loop.errors import NasiconError


class RegistryError(NasiconError):
    """A registry operation failed; the message says what to do about it."""


class RegistryUnavailableError(RegistryError):
    """The database cannot be reached or opened."""


class SchemaVersionError(RegistryError):
    """The database schema is missing, behind or ahead of this version of nasicon."""


class RegistryBusyError(RegistryError):
    """Another writer held the database for longer than the retries allow."""


class NotFoundError(RegistryError, LookupError):
    """A sample, record, proposal, model run, campaign or round that does not exist."""


class ConflictError(RegistryError):
    """A write that conflicts with what is stored (duplicate id, correction of a corrected row)."""


class QueueTransitionError(RegistryError):
    """A proposal status change the lifecycle does not allow."""


class RecordErrors(RegistryError):
    """Several writes of one transaction were refused; nothing of it was stored.

    Attributes:
        problems: (index of the write in the request, reason) for every refused write.
    """

    def __init__(self, problems: list[tuple[int, str]], total: int) -> None:
        self.problems = problems
        self.total = total
        if total == 1 and len(problems) == 1:
            message = problems[0][1]
        else:
            message = (
                f"{len(problems)} of {total} records refused, nothing stored; "
                f"first: {problems[0][1]}"
            )
        super().__init__(message)
