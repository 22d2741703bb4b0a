"""One schema: the tables define every outcome column once; the audit trail comes from one
mixin, and the records, the batch CSV and the registry's value lists derive from the tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import NZSP

from experiments.batch import COLUMNS, KIND_COLUMNS, BatchError, record_batch, typed_columns
from experiments.records import ConductivityRecord, SynthesisRecord, XRDRecord
from experiments.units import BENCH_INPUTS
from registry import Registry
from registry.snapshots import OUTCOME_KINDS
from registry.tables import (
    OUTCOME_TABLES,
    AuditColumns,
    OutcomeKey,
    RawFileColumns,
    value_columns,
)

RECORDS = {"synthesis": SynthesisRecord, "xrd": XRDRecord, "conductivity": ConductivityRecord}
#: The batch columns of earlier versions: files written for them must keep working.
LEGACY_BATCH_COLUMNS = (
    "sample_id", "formula", "campaign", "proposal_id", "succeeded", "precursors",
    "calcination_c", "calcination_h", "sintering_c", "sintering_h", "atmosphere", "operator",
    "date", "synthesis_notes", "phase_pure", "phases", "space_group", "a_A", "b_A", "c_A",
    "alpha_deg", "beta_deg", "gamma_deg", "rwp", "xrd_notes", "sigma_total", "sigma_bulk",
    "sigma_gb", "sigma_unit", "temperature_c", "temperature_k", "ea_ev", "relative_density",
    "relative_density_pct", "ccd_mA_cm2", "conductivity_notes",
)  # fmt: skip


@pytest.mark.parametrize("kind", OUTCOME_KINDS)
def test_outcome_tables_are_keys_values_and_the_audit_mixin(kind: str) -> None:
    table = OUTCOME_TABLES[kind].__table__
    names = [c.name for c in table.columns]
    audit = list(AuditColumns.model_fields)
    assert names == [*OutcomeKey.model_fields, *value_columns(kind), *audit]
    assert names[-len(audit) :] == ["supersedes_id", "is_retraction", "reason", "recorded_by",
                                    "recorded_at"]  # fmt: skip
    (fk,) = table.c.supersedes_id.foreign_keys
    assert fk.column is table.c.id  # the correction chain stays inside its own table
    assert table.c.supersedes_id.unique and not table.c.recorded_by.nullable
    checks = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
    assert f"ck_{table.name}_retraction_names_target" in checks


@pytest.mark.parametrize("kind", OUTCOME_KINDS)
def test_records_store_exactly_the_tables_value_columns(kind: str) -> None:
    record = RECORDS[kind]
    fields = {f.name for f in dataclasses.fields(record)}
    for column in value_columns(kind):  # a field, or computed by the record (a property)
        assert column in fields or isinstance(getattr(record, column, None), property), column
    example = {
        "synthesis": SynthesisRecord("S1", NZSP, True),
        "xrd": XRDRecord.create("S1", phases="NASICON"),
        "conductivity": ConductivityRecord.create("S1", sigma_total=1.0, unit="mS/cm"),
    }[kind]
    assert list(example.values()) == list(value_columns(kind))
    assert set(example.to_write().values) == set(value_columns(kind))


@pytest.mark.parametrize("kind", OUTCOME_KINDS)
def test_the_batch_reaches_every_typed_column_of_the_table(kind: str) -> None:
    reached = {BENCH_INPUTS.get(k, (k, ""))[0] for k in KIND_COLUMNS[kind].values()}
    assert reached - {"sigma_unit"} == set(typed_columns(kind))
    raw = set(RawFileColumns.model_fields)
    assert set(value_columns(kind)) - set(typed_columns(kind)) <= raw | {"impurity_fraction"}


def test_batch_columns_are_unique_and_keep_the_old_spellings() -> None:
    assert len(COLUMNS) == len(set(COLUMNS))
    assert set(LEGACY_BATCH_COLUMNS) <= set(COLUMNS)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_batch_may_use_the_stored_names_and_units(registry: Registry, tmp_path: Path) -> None:
    bench = _write(
        tmp_path, "bench.csv",
        "sample_id,formula,succeeded,calcination_c,date,a_A,sigma_total,sigma_unit,"
        "temperature_c,relative_density_pct,xrd_notes,phase_pure\n"
        f"B1,{NZSP},1,900,2026-01-02,8.9,1.3,mS/cm,25,95,fine,1\n",
    )  # fmt: skip
    stored = _write(
        tmp_path, "stored.csv",
        "sample_id,formula,succeeded,calcination_temperature_k,synthesized_on,a_a,"
        "sigma_total_s_cm,temperature_k,relative_density,xrd_notes,phase_pure\n"
        f"C1,{NZSP},1,1173.15,2026-01-02,8.9,0.0013,298.15,0.95,fine,1\n",
    )  # fmt: skip
    record_batch(registry, bench, recorded_by="ann")
    record_batch(registry, stored, recorded_by="ann")
    with registry.unit_of_work(write=False) as uow:
        rows = {(o.sample_id, o.kind): dict(o.values) for o in uow.outcomes.find()}
    for kind in OUTCOME_KINDS:
        assert rows[("B1", kind)] == pytest.approx(rows[("C1", kind)]), kind
    assert rows[("B1", "synthesis")]["calcination_temperature_k"] == pytest.approx(1173.15)
    assert rows[("B1", "conductivity")]["sigma_total_s_cm"] == pytest.approx(1.3e-3)


def test_a_column_typed_twice_in_a_row_is_refused(registry: Registry, tmp_path: Path) -> None:
    both = _write(
        tmp_path, "both.csv",
        f"sample_id,formula,succeeded,sintering_c,sintering_temperature_k\nS1,{NZSP},1,900,1173\n",
    )  # fmt: skip
    with pytest.raises(BatchError, match="not both") as info:
        record_batch(registry, both, recorded_by="ann")
    assert "sintering_c" in str(info.value) and "sintering_temperature_k" in str(info.value)
    with registry.unit_of_work(write=False) as uow:
        assert uow.samples.all() == []
