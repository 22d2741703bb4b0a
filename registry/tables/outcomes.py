"""Outcome tables (synthesis, XRD, conductivity): keys + values + audit trail.

Every outcome table is :class:`OutcomeKey` + its values (``SynthesisValues``, ...; XRD and
conductivity add :class:`RawFileColumns`) + :class:`AuditColumns`: these classes are the one
definition of the outcome columns. Records, batch CSV columns and the registry's value lists
derive from them (:func:`value_columns`), so a new column is declared here only. Rows are
never updated or deleted; see :mod:`registry.tables` for corrections and retractions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar, get_args, get_origin

import sqlalchemy as sa
from sqlmodel import Field

from registry.tables.base import RegistryModel, json_field, ts_field


class OutcomeKey(RegistryModel):
    """The keys of an outcome row: its id and the sample it belongs to."""

    id: int | None = Field(default=None, primary_key=True)
    sample_pk: int = Field(foreign_key="samples.id", index=True)


class RawFileColumns(RegistryModel):
    """The raw data file a result was read from (kept by SHA-256) and the analysis version."""

    raw_path: str | None = None
    raw_sha256: str | None = None
    analysis_version: str | None = None


class AuditColumns(RegistryModel):
    """The correction trail of every outcome row (see the module docstring). ``supersedes_id``
    names a row of the same table: :func:`superseding` declares that foreign key per table."""

    supersedes_id: int | None = Field(default=None, unique=True)
    is_retraction: bool = False
    reason: str | None = None
    recorded_by: str
    recorded_at: datetime = ts_field()

    @staticmethod
    def checks(*extra: tuple[str, str]) -> tuple[sa.CheckConstraint, ...]:
        """Check constraints of an outcome table: the shared ones, then ``extra`` (name, SQL)."""
        shared = [("retraction_names_target", "NOT is_retraction OR supersedes_id IS NOT NULL")]
        return tuple(sa.CheckConstraint(sql, name=name) for name, sql in [*shared, *extra])


M = TypeVar("M", bound=type[AuditColumns])


def superseding(cls: M) -> M:
    """Class decorator of an outcome table: ``supersedes_id`` references the table's own ``id``."""
    table: sa.Table = cls.__table__  # type: ignore[attr-defined]
    table.append_constraint(sa.ForeignKeyConstraint(["supersedes_id"], [table.c.id]))
    return cls


def _range(column: str, low: str, high: str | None = None) -> tuple[str, str]:
    cond = f"{column} {low}" + (f" AND {column} {high}" if high else "")
    return (f"{column}_range", f"{column} IS NULL OR ({cond})")


# The columns come in field order, bases last to first: keys, values, audit trail.


class SynthesisValues(RegistryModel):
    """What a synthesis row records (temperatures in K, times in h)."""

    succeeded: bool | None = None
    precursors: str | None = None
    calcination_temperature_k: float | None = None
    calcination_hours: float | None = None
    sintering_temperature_k: float | None = None
    sintering_hours: float | None = None
    atmosphere: str | None = None
    operator: str | None = None
    synthesized_on: date | None = None
    notes: str | None = None


@superseding
class SynthesisRow(AuditColumns, SynthesisValues, OutcomeKey, table=True):
    """A synthesis attempt of a sample."""

    __tablename__ = "synthesis_records"
    __table_args__ = AuditColumns.checks(
        ("outcome_given", "is_retraction OR succeeded IS NOT NULL"),
        _range("calcination_temperature_k", ">= 0"),
        _range("sintering_temperature_k", ">= 0"),
        _range("calcination_hours", ">= 0"),
        _range("sintering_hours", ">= 0"),
    )


class XRDValues(RegistryModel):
    """What a powder XRD row records: phases (weight fractions where known), verdict, cell."""

    phases: list | None = json_field(nullable=True)  # [{"name", "weight_fraction" | null}, ...]
    impurity_fraction: float | None = None  # secondary phases, weight fraction, when known
    phase_pure: bool | None = None
    space_group: str | None = None
    a_a: float | None = None
    b_a: float | None = None
    c_a: float | None = None
    alpha_deg: float | None = None
    beta_deg: float | None = None
    gamma_deg: float | None = None
    rwp: float | None = None
    notes: str | None = None
    verdict: str | None = None  # phase_pure, impure, no_nasicon or inconclusive (analysis)
    verdict_reason: str | None = None  # why the analysis reached its verdict


#: The verdicts of a powder pattern analysis; only the first two make a synthesis label.
XRD_VERDICTS = ("phase_pure", "impure", "no_nasicon", "inconclusive")


@superseding
class XRDRow(AuditColumns, RawFileColumns, XRDValues, OutcomeKey, table=True):
    """A powder XRD result of a sample."""

    __tablename__ = "xrd_results"
    __table_args__ = AuditColumns.checks(
        ("verdict_given", "is_retraction OR phase_pure IS NOT NULL OR verdict IS NOT NULL"),
        (
            "verdict_known",
            "verdict IS NULL OR verdict IN (" + ", ".join(f"'{v}'" for v in XRD_VERDICTS) + ")",
        ),
        _range("impurity_fraction", ">= 0", "<= 1"),
    )


class ConductivityValues(RegistryModel):
    """What a conductivity row records: S/cm at a measurement temperature in K."""

    sigma_total_s_cm: float | None = None
    sigma_bulk_s_cm: float | None = None
    sigma_gb_s_cm: float | None = None
    temperature_k: float | None = None
    ea_ev: float | None = None
    relative_density: float | None = None
    ccd_ma_cm2: float | None = None  # critical current density, mA/cm2
    notes: str | None = None


@superseding
class ConductivityRow(AuditColumns, RawFileColumns, ConductivityValues, OutcomeKey, table=True):
    """An ionic conductivity result of a sample."""

    __tablename__ = "conductivity_results"
    __table_args__ = AuditColumns.checks(
        (
            "value_given",
            "is_retraction OR sigma_total_s_cm IS NOT NULL OR sigma_bulk_s_cm IS NOT NULL "
            "OR sigma_gb_s_cm IS NOT NULL",
        ),
        ("temperature_given", "is_retraction OR temperature_k IS NOT NULL"),
        _range("sigma_total_s_cm", "> 0", "<= 10"),
        _range("sigma_bulk_s_cm", "> 0", "<= 10"),
        _range("sigma_gb_s_cm", "> 0", "<= 10"),
        _range("temperature_k", ">= 0"),
        _range("ea_ev", "> 0"),
        _range("relative_density", "> 0", "<= 1"),
    )


#: Outcome kind -> its table.
OUTCOME_TABLES: dict[str, type[AuditColumns]] = {
    "synthesis": SynthesisRow,
    "xrd": XRDRow,
    "conductivity": ConductivityRow,
}
_NOT_VALUES = frozenset(OutcomeKey.model_fields) | frozenset(AuditColumns.model_fields)


def value_columns(kind: str) -> tuple[str, ...]:
    """The columns of an outcome kind that hold its result (not its keys or audit trail)."""
    return tuple(n for n in OUTCOME_TABLES[kind].model_fields if n not in _NOT_VALUES)


def column_type(kind: str, name: str) -> type:
    """The Python type of a value column (``float`` for ``float | None``, ...)."""
    annotation = OUTCOME_TABLES[kind].model_fields[name].annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    base = args[0] if args else annotation
    return get_origin(base) or base
