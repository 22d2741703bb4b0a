"""Storing outcome records: a raw file kept content-addressed, records written in one unit
of work (all or nothing). The records themselves are :mod:`experiments.records`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import Registry, UnitOfWork, WriteReport, store_raw_file

if TYPE_CHECKING:
    from experiments.records import ConductivityRecord, OutcomeRecord, XRDRecord


def with_raw_file(
    record: XRDRecord | ConductivityRecord,
    path: str | Path,
    store_dir: str | Path,
    analysis_version: str | None = None,
) -> XRDRecord | ConductivityRecord:
    """Store ``path`` content-addressed under ``store_dir`` and return the record naming it.

    The file is stored before the database transaction (see :mod:`registry.raw_files`).
    """
    stored = store_raw_file(path, store_dir)
    changes: dict[str, Any] = {"raw_path": str(stored.path), "raw_sha256": stored.sha256}
    if analysis_version is not None:
        changes["analysis_version"] = analysis_version
    return dataclasses.replace(record, **changes)


@dataclass(frozen=True)
class StoreOptions:
    """How :func:`store_records` writes: provenance and idempotency."""

    source: str = "bench"
    citation: str | None = None
    skip_identical: bool = False
    create_campaigns: bool = False


#: Called inside the unit of work that stored records, after the write (e.g. to read the
#: label it gives, in the same transaction); it may run more than once when the unit is
#: re-run after a transient conflict, the last call being the committed one.
OnWritten = Callable[[UnitOfWork, WriteReport], None]


def store_records(
    registry: Registry,
    records: Sequence[OutcomeRecord],
    *,
    recorded_by: str,
    options: StoreOptions | None = None,
    dry_run: bool = False,
    on_written: OnWritten | None = None,
) -> WriteReport:
    """Store records in one unit of work (all or nothing); ``dry_run`` checks, stores nothing.

    ``on_written(uow, report)`` runs in that unit of work after the write.

    Raises:
        registry.RecordErrors: some records were refused (duplicate or unknown sample id,
            a correction of a corrected record, ...); ``problems`` lists them all.
    """
    opts = options or StoreOptions()
    writes = [r.to_write(opts.source, opts.citation) for r in records]

    def work(uow: UnitOfWork) -> WriteReport:
        report = uow.outcomes.write(
            writes,
            recorded_by=recorded_by,
            skip_identical=opts.skip_identical,
            create_campaigns=opts.create_campaigns,
            dry_run=dry_run,
        )
        if on_written is not None:
            on_written(uow, report)
        return report

    return registry.run(work)
