"""Keep an analysed measurement (:mod:`experiments.measurements`) and report it.

* :func:`store_measurement` stores the raw file content-addressed and the record in one
  database transaction. Bad input stores nothing: the analysis runs before anything is
  written, the write is checked (dry run) before the file is copied, and a copy made for a
  transaction that then fails is removed again.
* :func:`write_measurement_report` writes the analysis PNG and a JSON of every fitted
  number (the fit parameters of a spectrum have no column of their own) under a folder.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.measurements import Measurement, XRDMeasurement, digest_raw_file
from experiments.records import (
    ConductivityRecord,
    OnWritten,
    XRDRecord,
    store_records,
    with_raw_file,
)
from loop.errors import ValidationError
from registry import Registry, WriteReport
from registry.raw_files import stored_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredMeasurement:
    """What :func:`store_measurement` stored: the record as written and its row id."""

    record: XRDRecord | ConductivityRecord
    record_id: int
    report: WriteReport


def store_measurement(
    registry: Registry,
    measurement: Measurement,
    *,
    store_dir: str | Path,
    recorded_by: str,
    on_written: OnWritten | None = None,
) -> StoredMeasurement:
    """Keep the raw file under ``store_dir`` (by SHA-256) and store the record in one transaction.

    ``on_written(uow, report)`` runs in that transaction after the write.

    Nothing is left behind when the write is refused (unknown sample, a composition that
    does not match, a bad correction, ...): the write is checked before the file is copied,
    and a copy this call made is removed when the transaction fails anyway.

    Raises:
        registry.RecordErrors: the registry refused the record.
        ValidationError: the file changed after it was analysed.
    """
    record, src = measurement.record, measurement.raw_file
    store_records(registry, [record], recorded_by=recorded_by, dry_run=True)
    changed = ValidationError(f"raw data file {src} changed after it was analysed; analyse again")
    if digest_raw_file(src) != measurement.raw_sha256:
        raise changed
    target = stored_path(store_dir, measurement.raw_sha256, src.suffix)
    existed = target.is_file()
    stored = with_raw_file(record, src, store_dir, record.analysis_version)
    try:
        if stored.raw_sha256 != measurement.raw_sha256:  # changed in the last moment
            raise changed  # (that copy is left: whether it was in the store is not known)
        report = store_records(
            registry, [stored], recorded_by=recorded_by, on_written=on_written
        )
    except BaseException:
        if not existed and Path(stored.raw_path) == target:
            _remove_stored(target, Path(store_dir))
        raise
    (_, _, row_id), *_ = report.added
    log.info("stored %s record %d with raw file %s", measurement.kind, row_id, stored.raw_path)
    return StoredMeasurement(stored, row_id, report)


def _remove_stored(path: Path, store_dir: Path) -> None:
    """Remove a raw file this call copied (and its hash-prefix folder when left empty)."""
    path.unlink(missing_ok=True)
    try:
        if path.parent != store_dir and not any(path.parent.iterdir()):
            path.parent.rmdir()
    except OSError:
        pass


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "sample"


def write_measurement_report(
    measurement: Measurement, stored: StoredMeasurement, reports_dir: str | Path
) -> tuple[Path, Path]:
    """Write ``<reports_dir>/measurements/<kind>-<record id>-<sample>.png`` and ``.json``.

    The PNG is the XRD fit (observed, calculated, difference, phase markers) or the Nyquist
    and Bode plots with the fit; the JSON holds the record id, the stored raw file and hash,
    and every number the analysis reported (fit parameters with uncertainties included).

    Raises:
        ValidationError: the folder or a file cannot be written.
    """
    folder = Path(reports_dir) / "measurements"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot create report folder {folder}: {exc.strerror}") from None
    stem = f"{measurement.kind}-{stored.record_id}-{_safe(stored.record.sample_id)}"
    png, js = folder / f"{stem}.png", folder / f"{stem}.json"
    if isinstance(measurement, XRDMeasurement):
        from experiments.xrd.plot import plot_analysis

        plot_analysis(measurement.analysis, png)
    else:
        from experiments.impedance.plot import plot_nyquist_bode

        plot_nyquist_bode(measurement.fit, png)
    payload = {
        "kind": measurement.kind,
        "record_id": stored.record_id,
        "sample_id": stored.record.sample_id,
        "raw_file": str(measurement.raw_file),
        "raw_path": stored.record.raw_path,
        "raw_sha256": stored.record.raw_sha256,
        "summary": measurement.summary(),
        "analysis": measurement.details(),
    }
    try:
        js.write_text(json.dumps(json_ready(payload), indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise ValidationError(f"cannot write report {js}: {exc.strerror}") from None
    return png, js


def json_ready(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
