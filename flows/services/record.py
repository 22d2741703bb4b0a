"""Record outcomes from the bench: typed records, corrections, raw files analysed, batch
files, retractions. Each store is ONE transaction, and the sample's label and the proposals
it moved on are read in that same transaction (so what is reported is what was committed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.batch import record_batch
from experiments.labels import sample_labels
from experiments.records import OutcomeRecord, store_records
from loop.errors import NasiconError
from registry import ProposalRecord, Registry, SampleRecord, UnitOfWork, WriteReport
from registry.snapshots import OutcomeKind

log = logging.getLogger(__name__)

_VERDICT = {1: "synthesizable", 0: "not synthesizable", None: "no label yet"}


@dataclass(frozen=True)
class SampleLabel:
    """A sample's label after the write: ``value`` 1, 0 or None; ``known`` False when the
    sample has no synthesis or XRD record to label it from."""

    value: int | None
    reason: str
    known: bool = True

    @property
    def text(self) -> str:
        """'synthesizable (phase pure by XRD)', ..., or 'no label'."""
        return f"{_VERDICT[self.value]} ({self.reason})" if self.known else "no label"

    def to_dict(self) -> dict[str, Any]:
        """``{"value": ..., "reason": ...}``."""
        return {"value": self.value, "reason": self.reason if self.known else "no label"}


@dataclass(frozen=True)
class RecordResult:
    """What a record stored: the write report, the record as stored, its sample, the
    sample's label and the proposals the write moved on (all as committed).

    ``report_files`` are the PNG and JSON of an analysed raw file (None: none written);
    ``report_error`` says why they could not be written (the record is stored anyway).
    """

    report: WriteReport
    record: OutcomeRecord
    sample: SampleRecord
    label: SampleLabel
    proposals_moved: tuple[ProposalRecord, ...]
    record_id: int | None = None
    report_files: dict[str, str | None] | None = None
    report_error: str | None = None


def sample_of(registry: Registry, sample_id: str, campaign: str | None = None) -> SampleRecord:
    """The stored sample (NotFoundError names the command that creates it)."""
    return registry.run(lambda uow: uow.samples.get(sample_id, campaign), write=False)


def label_of(uow: UnitOfWork, sample_pk: int, impurity_threshold: float) -> SampleLabel:
    """The label of a sample from its current synthesis and XRD records."""
    snaps = uow.outcomes.find(kinds=("synthesis", "xrd"), sample_pks=[sample_pk])
    labels = sample_labels(snaps, impurity_threshold)
    if sample_pk not in labels:
        return SampleLabel(None, "no label", known=False)
    label = labels[sample_pk][1]
    return SampleLabel(label.value, label.reason)


class _Described:
    """Reads sample, label and moved proposals inside the writing unit of work (the last
    call wins: a re-run unit calls it again)."""

    def __init__(self, record: OutcomeRecord, impurity_threshold: float) -> None:
        self.record = record
        self.threshold = impurity_threshold
        self.value: tuple[SampleRecord, SampleLabel, tuple[ProposalRecord, ...]] | None = None

    def __call__(self, uow: UnitOfWork, report: WriteReport) -> None:
        sample = uow.samples.get(self.record.sample_id, self.record.campaign)
        moved = tuple(uow.proposals.get(pid) for pid in report.proposals_updated)
        self.value = (sample, label_of(uow, sample.pk, self.threshold), moved)


def record_outcome(
    registry: Registry,
    record: OutcomeRecord,
    *,
    recorded_by: str,
    impurity_threshold: float,
) -> RecordResult:
    """Store one typed record (a new result or, with ``supersedes_id``, a correction) in ONE
    transaction.

    Raises:
        registry.RecordErrors: refused (duplicate or unknown sample id, bad correction, ...).
    """
    described = _Described(record, impurity_threshold)
    report = store_records(registry, [record], recorded_by=recorded_by, on_written=described)
    assert described.value is not None  # set by the committed unit of work
    sample, label, moved = described.value
    row_id = report.added[0][2] if report.added else None
    return RecordResult(report, record, sample, label, moved, row_id)


def record_measurement(
    registry: Registry,
    measurement: Any,
    *,
    store_dir: str | Path,
    recorded_by: str,
    impurity_threshold: float,
    reports_dir: str | Path | None = None,
) -> RecordResult:
    """Keep an analysed raw file (by SHA-256) and store its record in ONE transaction, then
    write the analysis PNG and JSON under ``reports_dir`` (a failure there is reported in
    ``report_error``; the record stays stored).

    Raises:
        registry.RecordErrors: the registry refused the record (nothing is kept).
        ValidationError: the file changed after it was analysed.
    """
    from experiments.measurement_store import store_measurement, write_measurement_report

    described = _Described(measurement.record, impurity_threshold)
    stored = store_measurement(
        registry, measurement, store_dir=store_dir, recorded_by=recorded_by, on_written=described
    )
    assert described.value is not None
    sample, label, moved = described.value
    files: dict[str, str | None] = {"plot": None, "report": None}
    error = None
    if reports_dir is not None:
        try:
            png, js = write_measurement_report(measurement, stored, reports_dir)
            files = {"plot": str(png), "report": str(js)}
        except (NasiconError, OSError) as exc:
            error = str(exc)
            log.info("record %d is stored, its plot is not: %s", stored.record_id, exc)
    return RecordResult(
        stored.report, stored.record, sample, label, moved, stored.record_id, files, error
    )


def batch_summary(report: WriteReport) -> str:
    """What a batch stored, as ``nasicon record batch`` and ``nasicon ingest`` print it."""
    from collections import Counter

    kinds = Counter(kind for _, kind, _ in report.added)
    stored = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "nothing new"
    return (
        f"stored {stored}; {len(report.samples_created)} new samples, "
        f"{len(report.unchanged)} records already stored, "
        f"{len(report.proposals_updated)} proposals moved on"
    )


def record_batch_file(
    registry: Registry,
    path: str | Path,
    *,
    recorded_by: str,
    impurity_threshold: float,
    limits: Any = None,
) -> WriteReport:
    """Validate and store every row of a batch CSV in ONE transaction (all or none).

    Raises:
        experiments.batch.BatchError: invalid or refused rows, each with its line.
    """
    return record_batch(
        registry, path, recorded_by=recorded_by, impurity_threshold=impurity_threshold,
        limits=limits,
    )  # fmt: skip


def retract(
    registry: Registry, kind: OutcomeKind, record_id: int, *, reason: str, recorded_by: str
) -> int:
    """Withdraw a stored result (kept in the history); the id of the retraction record.

    Raises:
        ValidationError: ``kind`` unknown; NotFoundError: no such record.
    """
    from loop.errors import ValidationError

    if kind not in ("synthesis", "xrd", "conductivity"):
        raise ValidationError(f"record kind {kind!r} is not synthesis, xrd or conductivity")
    return registry.run(
        lambda uow: uow.outcomes.retract(kind, record_id, reason=reason, recorded_by=recorded_by)
    )


def record_sample(registry: Registry, kind: OutcomeKind, record_id: int) -> str | None:
    """The sample id (``campaign/sample`` outside the default campaign) an outcome record
    belongs to; None when there is no such record."""
    from registry.tables import OUTCOME_TABLES, CampaignRow, SampleRow

    def read(uow: UnitOfWork) -> str | None:
        target = uow.session.get(OUTCOME_TABLES[kind], record_id)
        if target is None:
            return None
        sample = uow.session.get(SampleRow, target.sample_pk)
        campaign = uow.session.get(CampaignRow, sample.campaign_id)
        name = campaign.name if campaign is not None else "default"
        return sample.sample_id if name == "default" else f"{name}/{sample.sample_id}"

    return registry.run(read, write=False)
