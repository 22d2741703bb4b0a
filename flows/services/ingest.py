"""Ingest: record a batch file of outcomes and count the labels since the last round, in
ONE transaction (the count is of what was committed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.batch import record_batch
from flows.services.rounds import labels_since_last_round
from registry import Registry, UnitOfWork, WriteReport


@dataclass(frozen=True)
class IngestResult:
    """The write report and the labels recorded since the latest round started."""

    report: WriteReport
    new_labels: int

    def to_dict(self) -> dict[str, Any]:
        """``{"report": text, "summary": sentence, "new_labels": n}``."""
        from flows.services.record import batch_summary

        return {
            "report": str(self.report),
            "summary": batch_summary(self.report),
            "new_labels": self.new_labels,
        }


def ingest_batch(
    registry: Registry,
    path: str | Path,
    *,
    recorded_by: str | None,
    impurity_threshold: float,
    limits: Any = None,
) -> IngestResult:
    """Validate and store every row of ``path`` (all or none) and count the new labels.

    Raises:
        experiments.batch.BatchError: invalid or refused rows; nothing is stored.
    """
    counted: dict[str, int] = {}

    def count(uow: UnitOfWork, _report: WriteReport) -> None:
        counted["n"] = labels_since_last_round(uow)

    report = record_batch(
        registry,
        Path(path),
        recorded_by=recorded_by,
        impurity_threshold=impurity_threshold,
        on_written=count,
        limits=limits,
    )
    return IngestResult(report, counted["n"])
