"""Batch CSV of bench outcomes: parse, validate every row, store all rows in one transaction.

Columns are derived from the outcome tables (:mod:`registry.tables`), not listed here:

* ``sample_id`` and ``formula`` (required); ``campaign`` (default: the sample's
  campaign, or 'default' for a new one); ``proposal_id`` in a synthesis row (the queue
  entry the sample answers; found automatically otherwise).
* every value column of the synthesis, XRD and conductivity tables that people type (not
  the raw-file columns the analyses fill, not the computed impurity fraction), under its
  own name and in its stored unit: ``succeeded``, ``calcination_temperature_k``,
  ``phase_pure``, ``phases``, ``sigma_total_s_cm``, ``temperature_k``, ...; a column
  several tables have is prefixed with its kind (``synthesis_notes``, ``xrd_notes``,
  ``conductivity_notes``).
* or as the bench types it (:data:`experiments.units.BENCH_INPUTS`): ``calcination_c``,
  ``sintering_c``, ``temperature_c`` in degrees C; ``sigma_total``, ``sigma_bulk``,
  ``sigma_gb`` in ``sigma_unit`` (S/cm or mS/cm, required with them);
  ``relative_density_pct``; the short spellings ``calcination_h``, ``sintering_h``,
  ``date``, ``a_A``, ``b_A``, ``c_A``, ``ccd_mA_cm2``. One value per column per row.

:data:`COLUMNS` lists them all (an unknown column's error does too). A row fills the
columns of one, two or three records (synthesis, XRD, conductivity) and at least one; a
synthesis needs ``succeeded`` (true/false, 1/0, yes/no) and creates the sample; phases are
``NASICON=0.97;ZrO2=0.03`` or ``NASICON;ZrO2``; dates YYYY-MM-DD; the measurement
temperature defaults to 25 C.

Unknown columns are refused (a misspelt column would silently lose data). Rows are
reported by their line in the file (the header is line 1). Re-running a file whose
rows are already stored identically changes nothing (idempotent ingestion).
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from experiments.batch_csv import BatchTable, read_table
from experiments.labels import DEFAULT_IMPURITY_THRESHOLD
from experiments.records import (
    ConductivityRecord,
    OnWritten,
    OutcomeRecord,
    StoreOptions,
    SynthesisRecord,
    XRDRecord,
    store_records,
)
from experiments.units import BENCH_INPUTS, SIGMA
from loop.errors import NasiconError, ValidationError
from registry import RecordErrors, Registry, WriteReport
from registry.snapshots import OUTCOME_KINDS
from registry.tables import RawFileColumns, column_type, value_columns

log = logging.getLogger(__name__)

REQUIRED = ("sample_id", "formula")
RECORDS: dict[str, Any] = {
    "synthesis": SynthesisRecord,
    "xrd": XRDRecord,
    "conductivity": ConductivityRecord,
}
#: The unit column of the conductivities typed as ``sigma_total``, ... .
SIGMA_UNIT = "sigma_unit"


def typed_columns(kind: str) -> tuple[str, ...]:
    """The value columns of ``kind`` people type: the record's fields, not the raw-file ones."""
    fields = {f.name for f in dataclasses.fields(RECORDS[kind])}
    return tuple(
        c for c in value_columns(kind) if c in fields and c not in RawFileColumns.model_fields
    )


def _csv_columns(kind: str) -> dict[str, str]:
    """CSV column -> record keyword of ``kind``'s columns, derived from the table."""
    shared = {c for k in RECORDS if k != kind for c in typed_columns(k)}
    own = typed_columns(kind)
    out = {(f"{kind}_{c}" if c in shared else c): c for c in own}
    out.update({name: name for name, (column, _) in BENCH_INPUTS.items() if column in own})
    if any(BENCH_INPUTS[name][1] == SIGMA for name in out if name in BENCH_INPUTS):
        out[SIGMA_UNIT] = SIGMA_UNIT
    return out


#: CSV columns of each record kind -> record keyword.
KIND_COLUMNS: dict[str, dict[str, str]] = {kind: _csv_columns(kind) for kind in OUTCOME_KINDS}
COLUMNS = (
    *REQUIRED,
    "campaign",
    "proposal_id",
    *(name for kind in OUTCOME_KINDS for name in KIND_COLUMNS[kind]),
)


class BatchError(ValidationError):
    """A batch file is invalid; ``problems`` holds (line, reason) of every bad row."""

    def __init__(self, path: Path, problems: list[tuple[int, str]], total: int) -> None:
        self.problems = sorted(problems)
        line, reason = self.problems[0]
        rows = len({ln for ln, _ in problems})
        noun = "row is" if rows == 1 else "rows are"
        super().__init__(
            f"{rows} of {total} {noun} invalid in {path}, nothing stored; "
            f"first: line {line}: {reason}"
        )


@dataclass(frozen=True)
class BatchParse:
    """Records of a batch file, each with the line it came from."""

    path: Path
    records: tuple[tuple[int, OutcomeRecord], ...]
    n_rows: int
    format: str = "comma-separated, decimal point"


@dataclass(frozen=True)
class BatchLimits:
    """Largest batch file accepted: bytes and data rows (None: no limit)."""

    max_bytes: int | None = None
    max_rows: int | None = None


def _text(rec: dict[str, str], name: str) -> str | None:
    value = rec.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _number(rec: dict[str, str], name: str) -> float | None:
    text = _text(rec, name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{name} {text!r} is not a number") from None


def _integer(rec: dict[str, str], name: str) -> int | None:
    value = _number(rec, name)
    if value is None:
        return None
    if not value.is_integer():
        raise ValidationError(f"{name} {rec[name]!r} is not a whole number")
    return int(value)


def _flag(rec: dict[str, str], name: str) -> bool | None:
    text = _text(rec, name)
    if text is None:
        return None
    low = text.lower()
    if low in ("1", "true", "yes", "y", "t"):
        return True
    if low in ("0", "false", "no", "n", "f"):
        return False
    raise ValidationError(f"{name} {text!r} is not true/false (or 1/0, yes/no)")


def _date(rec: dict[str, str], name: str) -> date | None:
    text = _text(rec, name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


#: How a cell is read, by the Python type of the column it fills (phases are text).
_READERS: dict[type, Callable[[dict[str, str], str], Any]] = {
    bool: _flag, float: _number, int: _integer, date: _date, str: _text, list: _text,
}  # fmt: skip


def _cells(rec: dict[str, str], kind: str) -> dict[str, Any]:
    """Record keyword -> value of the non-empty cells of ``kind``'s columns."""
    out: dict[str, Any] = {}
    for name, keyword in KIND_COLUMNS[kind].items():
        column = BENCH_INPUTS.get(keyword, (keyword, ""))[0]
        read = _text if keyword == SIGMA_UNIT else _READERS[column_type(kind, column)]
        value = read(rec, name)
        if value is not None:
            out[keyword] = value
    return out


def row_records(
    rec: dict[str, str], impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD
) -> list[OutcomeRecord]:
    """The records of one batch row (synthesis, XRD, conductivity, in that order).

    Raises:
        ValidationError / CompositionError: the first problem of the row.
    """
    sample = _text(rec, "sample_id")
    formula = _text(rec, "formula")
    if sample is None:
        raise ValidationError("sample_id is empty")
    if formula is None:
        raise ValidationError("formula is empty")
    campaign = _text(rec, "campaign")
    out: list[OutcomeRecord] = []
    synthesis = _cells(rec, "synthesis")
    if synthesis:
        succeeded = synthesis.pop("succeeded", None)
        if succeeded is None:
            raise ValidationError("synthesis columns are filled but 'succeeded' is empty")
        proposal = _integer(rec, "proposal_id")
        out.append(
            SynthesisRecord.create(
                sample, formula, succeeded, campaign=campaign, proposal_id=proposal, **synthesis
            )
        )
    elif _text(rec, "proposal_id") is not None:
        raise ValidationError("proposal_id belongs to a synthesis row ('succeeded' is empty)")
    xrd = _cells(rec, "xrd")
    if xrd:
        out.append(
            XRDRecord.create(
                sample, impurity_threshold=impurity_threshold, campaign=campaign,
                formula=formula, **xrd,
            )
        )  # fmt: skip
    conductivity = _cells(rec, "conductivity")
    if conductivity:
        unit = conductivity.pop(SIGMA_UNIT, None)
        if unit is None and any(BENCH_INPUTS.get(k, ("", ""))[1] == SIGMA for k in conductivity):
            raise ValidationError(f"{SIGMA_UNIT} is empty (S/cm or mS/cm)")
        out.append(
            ConductivityRecord.create(
                sample, unit=unit, campaign=campaign, formula=formula, **conductivity
            )
        )
    if not out:
        raise ValidationError("the row holds no outcome (synthesis, XRD or conductivity columns)")
    return out


def read_batch(
    path: str | Path, *, max_bytes: int | None = None, max_rows: int | None = None
) -> BatchTable:
    """The batch file as text cells, with the rows whose field count is wrong as problems.

    Raises:
        DataMissingError: no such file.
        ValidationError: unreadable, too large, empty, missing a required column, or an
            unknown column.
    """
    file = Path(path)
    table = read_table(file, REQUIRED, max_bytes=max_bytes, max_rows=max_rows)
    columns = list(table.columns)
    lacking = [c for c in REQUIRED if c not in columns]
    if lacking:
        raise ValidationError(
            f"{file} lacks the required column(s) {', '.join(lacking)} "
            f"(columns: {', '.join(columns)})"
        )
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValidationError(
            f"{file} has unknown column(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}"
        )
    if len(set(columns)) != len(columns):
        raise ValidationError(f"{file} repeats a column name")
    if not table.n_rows:
        raise ValidationError(f"{file} has no rows")
    return table


def batch_format(path: str | Path) -> str:
    """How a batch file is read, e.g. 'semicolon-separated, decimal comma'."""
    return read_table(Path(path), REQUIRED).format


def _parse(
    path: Path, impurity_threshold: float, limits: BatchLimits | None = None
) -> tuple[BatchParse, list[tuple[int, str]]]:
    limits = limits or BatchLimits()
    table = read_batch(path, max_bytes=limits.max_bytes, max_rows=limits.max_rows)
    problems: list[tuple[int, str]] = list(table.problems)
    records: list[tuple[int, OutcomeRecord]] = []
    synth_lines: dict[tuple[str | None, str], list[int]] = {}
    for line, rec in table.rows:
        try:
            row = row_records(rec, impurity_threshold)
        except NasiconError as exc:
            problems.append((line, str(exc)))
            continue
        for record in row:
            records.append((line, record))
            if isinstance(record, SynthesisRecord):
                synth_lines.setdefault((record.campaign, record.sample_id), []).append(line)
    for (_, sample), lines in synth_lines.items():
        for line in lines[1:]:
            problems.append((line, f"duplicate sample id {sample!r} (also on line {lines[0]})"))
    return BatchParse(path, tuple(records), table.n_rows, table.format), problems


def _registry_problems(
    registry: Registry, records: list[tuple[int, OutcomeRecord]], recorded_by: str
) -> list[tuple[int, str]]:
    """What the registry would refuse among ``records`` (checked, then rolled back)."""
    if not records:
        return []
    try:
        store_records(
            registry,
            [r for _, r in records],
            recorded_by=recorded_by,
            options=StoreOptions(skip_identical=True),
            dry_run=True,
        )
    except RecordErrors as exc:
        return [(records[i][0], why) for i, why in exc.problems]
    return []


def record_batch(
    registry: Registry,
    path: str | Path,
    *,
    recorded_by: str | None = None,
    impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD,
    on_written: OnWritten | None = None,
    limits: BatchLimits | None = None,
) -> WriteReport:
    """Validate and store a batch file in one transaction: every row or none.

    ``on_written(uow, report)`` runs in that transaction after the write.

    Raises:
        BatchError: invalid rows, or rows the registry refused (duplicate or unknown
            sample ids, ...), each with its line; nothing is stored.
    """
    parsed, problems = _parse(Path(path), impurity_threshold, limits)
    who = recorded_by or getpass.getuser()
    if problems:
        # report what the registry would refuse among the valid rows too, so every bad
        # row is named at once (rows that depend on an invalid row's sample are left out)
        bad_lines = {line for line, _ in problems}
        bad_samples = {r.sample_id for line, r in parsed.records if line in bad_lines}
        rest = [
            (ln, r)
            for ln, r in parsed.records
            if ln not in bad_lines and r.sample_id not in bad_samples
        ]
        problems += _registry_problems(registry, rest, who)
        raise BatchError(parsed.path, problems, parsed.n_rows)
    try:
        report = store_records(
            registry,
            [r for _, r in parsed.records],
            recorded_by=who,
            options=StoreOptions(skip_identical=True),
            on_written=on_written,
        )
    except RecordErrors as exc:
        problems = [(parsed.records[i][0], why) for i, why in exc.problems]
        raise BatchError(parsed.path, problems, parsed.n_rows) from None
    kinds = Counter(kind for _, kind, _ in report.added)
    log.info(
        "%s: stored %s; %d unchanged",
        parsed.path,
        ", ".join(f"{n} {k}" for k, n in kinds.items()) or "nothing",
        len(report.unchanged),
    )
    return report
