"""Batch CSV of bench outcomes: parse, validate every row, store all rows in one transaction.

Required columns: ``sample_id``, ``formula``. Optional columns, by record (a row may
fill any of the three groups; a row must fill at least one):

* campaign: ``campaign`` (default: the sample's campaign, or 'default' for a new one),
  ``proposal_id`` (the queue entry the sample answers; found automatically otherwise).
* synthesis (creates the sample): ``succeeded`` (true/false, 1/0, yes/no; required for
  the group), ``precursors``, ``calcination_c``, ``calcination_h``, ``sintering_c``,
  ``sintering_h``, ``atmosphere``, ``operator``, ``date`` (YYYY-MM-DD),
  ``synthesis_notes``.
* XRD: ``phase_pure`` and/or ``phases`` (``NASICON=0.97;ZrO2=0.03`` or
  ``NASICON;ZrO2``), ``space_group``, ``a_A``, ``b_A``, ``c_A``, ``alpha_deg``,
  ``beta_deg``, ``gamma_deg``, ``rwp``, ``xrd_notes``.
* conductivity: ``sigma_total``, ``sigma_bulk``, ``sigma_gb``, ``sigma_unit`` (S/cm or
  mS/cm, required with any sigma), ``temperature_c`` or ``temperature_k`` (default
  25 C), ``ea_ev``, ``relative_density`` (fraction) or ``relative_density_pct``,
  ``ccd_mA_cm2``, ``conductivity_notes``.

Unknown columns are refused (a misspelt column would silently lose data). Rows are
reported by their line in the file (the header is line 1). Re-running a file whose
rows are already stored identically changes nothing (idempotent ingestion).
"""

from __future__ import annotations

import getpass
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from experiments.labels import DEFAULT_IMPURITY_THRESHOLD
from experiments.records import (
    ConductivityRecord,
    OutcomeRecord,
    StoreOptions,
    SynthesisRecord,
    XRDRecord,
    store_records,
)
from loop.errors import DataMissingError, NasiconError, ValidationError
from registry import RecordErrors, Registry, WriteReport

log = logging.getLogger(__name__)

REQUIRED = ("sample_id", "formula")
SYNTHESIS_COLUMNS = (
    "succeeded", "precursors", "calcination_c", "calcination_h", "sintering_c", "sintering_h",
    "atmosphere", "operator", "date", "synthesis_notes",
)  # fmt: skip
XRD_COLUMNS = (
    "phase_pure", "phases", "space_group", "a_A", "b_A", "c_A", "alpha_deg", "beta_deg",
    "gamma_deg", "rwp", "xrd_notes",
)  # fmt: skip
CONDUCTIVITY_COLUMNS = (
    "sigma_total", "sigma_bulk", "sigma_gb", "sigma_unit", "temperature_c", "temperature_k",
    "ea_ev", "relative_density", "relative_density_pct", "ccd_mA_cm2", "conductivity_notes",
)  # fmt: skip
COLUMNS = (
    *REQUIRED,
    "campaign",
    "proposal_id",
    *SYNTHESIS_COLUMNS,
    *XRD_COLUMNS,
    *CONDUCTIVITY_COLUMNS,
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


def _any(rec: dict[str, str], columns: tuple[str, ...]) -> bool:
    return any(_text(rec, c) is not None for c in columns)


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
    if _any(rec, SYNTHESIS_COLUMNS):
        succeeded = _flag(rec, "succeeded")
        if succeeded is None:
            raise ValidationError("synthesis columns are filled but 'succeeded' is empty")
        out.append(
            SynthesisRecord.create(
                sample,
                formula,
                succeeded,
                campaign=campaign,
                proposal_id=_integer(rec, "proposal_id"),
                precursors=_text(rec, "precursors"),
                calcination_c=_number(rec, "calcination_c"),
                calcination_hours=_number(rec, "calcination_h"),
                sintering_c=_number(rec, "sintering_c"),
                sintering_hours=_number(rec, "sintering_h"),
                atmosphere=_text(rec, "atmosphere"),
                operator=_text(rec, "operator"),
                synthesized_on=_date(rec, "date"),
                notes=_text(rec, "synthesis_notes"),
            )
        )
    elif _text(rec, "proposal_id") is not None:
        raise ValidationError("proposal_id belongs to a synthesis row ('succeeded' is empty)")
    if _any(rec, XRD_COLUMNS):
        out.append(
            XRDRecord.create(
                sample,
                phases=_text(rec, "phases"),
                phase_pure=_flag(rec, "phase_pure"),
                impurity_threshold=impurity_threshold,
                campaign=campaign,
                formula=formula,
                space_group=_text(rec, "space_group"),
                a_a=_number(rec, "a_A"),
                b_a=_number(rec, "b_A"),
                c_a=_number(rec, "c_A"),
                alpha_deg=_number(rec, "alpha_deg"),
                beta_deg=_number(rec, "beta_deg"),
                gamma_deg=_number(rec, "gamma_deg"),
                rwp=_number(rec, "rwp"),
                notes=_text(rec, "xrd_notes"),
            )
        )
    if _any(rec, CONDUCTIVITY_COLUMNS):
        unit = _text(rec, "sigma_unit")
        if unit is None:
            raise ValidationError("sigma_unit is empty (S/cm or mS/cm)")
        out.append(
            ConductivityRecord.create(
                sample,
                sigma_total=_number(rec, "sigma_total"),
                sigma_bulk=_number(rec, "sigma_bulk"),
                sigma_gb=_number(rec, "sigma_gb"),
                unit=unit,
                temperature_c=_number(rec, "temperature_c"),
                temperature_k=_number(rec, "temperature_k"),
                relative_density=_number(rec, "relative_density"),
                relative_density_pct=_number(rec, "relative_density_pct"),
                ea_ev=_number(rec, "ea_ev"),
                ccd_ma_cm2=_number(rec, "ccd_mA_cm2"),
                campaign=campaign,
                formula=formula,
                notes=_text(rec, "conductivity_notes"),
            )
        )
    if not out:
        raise ValidationError("the row holds no outcome (synthesis, XRD or conductivity columns)")
    return out


def read_batch(path: str | Path) -> pd.DataFrame:
    """The batch file as text cells.

    Raises:
        DataMissingError: no such file.
        ValidationError: unreadable, empty, missing a required column, or an unknown column.
    """
    file = Path(path)
    if not file.is_file():
        raise DataMissingError(f"batch file {file} does not exist")
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{file} is not a readable CSV file ({first})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    lacking = [c for c in REQUIRED if c not in frame.columns]
    if lacking:
        raise ValidationError(
            f"{file} lacks the required column(s) {', '.join(lacking)} "
            f"(columns: {', '.join(frame.columns)})"
        )
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if unknown:
        raise ValidationError(
            f"{file} has unknown column(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}"
        )
    if frame.columns.duplicated().any():
        raise ValidationError(f"{file} repeats a column name")
    if frame.empty:
        raise ValidationError(f"{file} has no rows")
    return frame


def _parse(path: Path, impurity_threshold: float) -> tuple[BatchParse, list[tuple[int, str]]]:
    frame = read_batch(path)
    problems: list[tuple[int, str]] = []
    records: list[tuple[int, OutcomeRecord]] = []
    synth_lines: dict[tuple[str | None, str], list[int]] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        line = i + 2
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
    return BatchParse(path, tuple(records), len(frame)), problems


def parse_batch(
    path: str | Path, impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD
) -> BatchParse:
    """Validate every row of a batch file (without the database).

    Raises:
        BatchError: any invalid row (all of them are listed).
    """
    parsed, problems = _parse(Path(path), impurity_threshold)
    if problems:
        raise BatchError(parsed.path, problems, parsed.n_rows)
    return parsed


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
) -> WriteReport:
    """Validate and store a batch file in one transaction: every row or none.

    Raises:
        BatchError: invalid rows, or rows the registry refused (duplicate or unknown
            sample ids, ...), each with its line; nothing is stored.
    """
    parsed, problems = _parse(Path(path), impurity_threshold)
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
