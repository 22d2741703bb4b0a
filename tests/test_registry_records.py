"""Outcome records (validation, units), the label rule and the training data."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import LU_NZSP, NZSP, SC_NZSP

from experiments.labels import Label, composition_label, experimental_labels, sample_label
from experiments.records import (
    ConductivityRecord,
    Phase,
    StoreOptions,
    SynthesisRecord,
    XRDRecord,
    celsius_to_kelvin,
    parse_phases,
    store_records,
    to_s_per_cm,
    with_raw_file,
)
from experiments.training_data import frame_sha256, training_frame
from loop.errors import CompositionError, DataMissingError, ValidationError
from registry import Registry
from registry.raw_files import sha256_file, store_raw_file, verify_raw_file

# -- units and ranges --


def test_conductivity_units_convert_to_s_per_cm() -> None:
    assert to_s_per_cm(1.3, "mS/cm") == pytest.approx(1.3e-3)
    assert to_s_per_cm(0.0013, "S/cm") == 0.0013
    rec = ConductivityRecord.create("S1", sigma_total=1.3, sigma_gb=2.16, unit="mS/cm")
    assert rec.sigma_total_s_cm == pytest.approx(1.3e-3) and rec.sigma_gb_s_cm == pytest.approx(
        2.16e-3
    )
    assert rec.temperature_k == pytest.approx(298.15)  # 25 C when not given


@pytest.mark.parametrize("unit", ["S/m", "MS/cm", "mS cm-1", "ohm", ""])
def test_a_conductivity_unit_other_than_s_or_ms_per_cm_is_refused(unit: str) -> None:
    with pytest.raises(ValidationError, match="is not S/cm or mS/cm"):
        ConductivityRecord.create("S1", sigma_total=1.0, unit=unit)


@pytest.mark.parametrize(
    ("value", "unit"), [(0.0, "S/cm"), (-1e-3, "S/cm"), (1.0, "S/cm"), (1_001, "mS/cm")]
)
def test_conductivity_outside_0_to_1_s_per_cm_is_refused(value: float, unit: str) -> None:
    with pytest.raises(ValidationError, match=r"outside \(0, 1\) S/cm"):
        ConductivityRecord.create("S1", sigma_total=value, unit=unit)


def test_conductivity_just_below_1_s_per_cm_is_accepted() -> None:
    record = ConductivityRecord.create("S1", sigma_bulk=0.99, unit="S/cm")
    assert record.sigma_bulk_s_cm == 0.99


def test_temperature_below_0_k_is_refused() -> None:
    with pytest.raises(ValidationError, match="below absolute zero"):
        ConductivityRecord.create("S1", sigma_total=1e-3, unit="S/cm", temperature_k=-0.1)
    with pytest.raises(ValidationError, match="below absolute zero"):
        ConductivityRecord.create("S1", sigma_total=1e-3, unit="S/cm", temperature_c=-273.2)
    with pytest.raises(ValidationError, match="below absolute zero"):
        SynthesisRecord.create("S1", NZSP, True, sintering_c=-300)
    zero = ConductivityRecord.create("S1", sigma_total=1e-3, unit="S/cm", temperature_k=0.0)
    assert zero.temperature_k == 0.0


def test_synthesis_temperatures_are_stored_in_kelvin() -> None:
    rec = SynthesisRecord.create(
        "S1", "Na3Zr2(SiO4)2PO4", True, calcination_c=900, sintering_c=1100
    )
    assert rec.calcination_temperature_k == pytest.approx(1173.15)
    assert rec.sintering_temperature_k == pytest.approx(celsius_to_kelvin(1100))
    assert rec.formula == NZSP


@pytest.mark.parametrize(
    ("formula", "error"),
    [
        ("Na3Zr2Si2PX12", "unknown element"),
        ("Na4Zr2Si2PO12", "not charge balanced"),
        ("", "empty formula"),
    ],
)
def test_unparseable_or_unbalanced_formulas_are_refused(formula: str, error: str) -> None:
    with pytest.raises(CompositionError, match=error):
        SynthesisRecord("S1", formula, True)


def test_weight_fractions_must_sum_to_one_within_two_percent() -> None:
    ok = XRDRecord.create("S1", phases="NASICON=0.97;ZrO2=0.015")  # 0.985
    assert ok.phase_pure and ok.impurity_fraction == pytest.approx(0.015)
    with pytest.raises(ValidationError, match=r"sum to 0\.950"):
        XRDRecord.create("S1", phases="NASICON=0.90;ZrO2=0.05")
    with pytest.raises(ValidationError, match=r"sum to 1\.030"):
        XRDRecord.create("S1", phases=[Phase("NASICON", 0.98), Phase("ZrO2", 0.05)])
    with pytest.raises(ValidationError, match="every phase or for none"):
        XRDRecord.create("S1", phases="NASICON=0.97;ZrO2")
    with pytest.raises(ValidationError, match="not a number"):
        parse_phases("NASICON=abc")


def test_phase_pure_is_derived_from_the_phases_with_the_threshold() -> None:
    assert not XRDRecord.create("S1", phases="NASICON=0.96;ZrO2=0.04").phase_pure
    assert XRDRecord.create(
        "S1", phases="NASICON=0.96;ZrO2=0.04", impurity_threshold=0.05
    ).phase_pure
    assert XRDRecord.create("S1", phases="NASICON").phase_pure
    assert not XRDRecord.create("S1", phases="NASICON;ZrO2").phase_pure
    with pytest.raises(ValidationError, match="contradicts"):
        XRDRecord.create("S1", phases="NASICON=0.9;ZrO2=0.1", phase_pure=True)
    with pytest.raises(ValidationError, match="phases seen"):
        XRDRecord.create("S1")


def test_records_are_frozen_and_corrections_need_a_reason() -> None:
    rec = SynthesisRecord("S1", NZSP, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.succeeded = False  # type: ignore[misc]
    with pytest.raises(ValidationError, match="needs a --reason"):
        SynthesisRecord("S1", NZSP, True, supersedes_id=3)
    with pytest.raises(ValidationError, match="not in"):
        XRDRecord("S1", True, a_a=-1.0)
    with pytest.raises(ValidationError, match="finite"):
        ConductivityRecord("S1", 298.15, sigma_total_s_cm=math.nan)


# -- the label rule --


def test_the_label_rule() -> None:
    pure = {"phase_pure": True, "impurity_fraction": None}
    assert sample_label({"succeeded": False}, [pure]).value == 0  # failed synthesis: negative
    assert sample_label({"succeeded": True}, [pure]).value == 1
    assert sample_label({"succeeded": True}, []) == Label(None, "no XRD result yet")
    quantified = {"phase_pure": False, "impurity_fraction": 0.015}
    assert sample_label(None, [quantified], 0.02).value == 1  # below threshold: synthesizable
    assert sample_label(None, [quantified], 0.01).value == 0
    impure = {"phase_pure": False, "impurity_fraction": None, "phases": [{"name": "ZrO2"}]}
    assert sample_label(None, [pure, impure]) == Label(0, "secondary phases: ZrO2")  # latest wins
    assert composition_label([0, 1, None]) == 1 and composition_label([0, 0]) == 0
    assert composition_label([None]) is None


# -- raw files --


def test_raw_files_are_stored_once_by_content_hash(tmp_path: Path) -> None:
    src = tmp_path / "pattern.xy"
    src.write_text("10 100\n10.02 103\n")
    store = tmp_path / "store"
    first = store_raw_file(src, store)
    again = store_raw_file(src, store)
    assert first == again and first.sha256 == sha256_file(src)
    assert first.path == store / first.sha256[:2] / f"{first.sha256}.xy"
    assert verify_raw_file(first.path, first.sha256)
    rec = with_raw_file(XRDRecord.create("S1", phases="NASICON"), src, store, "xrd-0.1")
    assert rec.raw_sha256 == first.sha256 and rec.analysis_version == "xrd-0.1"
    with pytest.raises(DataMissingError, match="does not exist"):
        store_raw_file(tmp_path / "missing.xy", store)


# -- training data --


def _store(reg: Registry, *records, by: str = "ann") -> None:
    store_records(reg, list(records), recorded_by=by)


def test_training_frame_combines_dft_and_experimental_labels(registry: Registry) -> None:
    computed = [
        {"formula": f, "dataset_formula": f, "ehull_mev": e, "published": {"e": e},
         "citation": "test", "source_file": "x.csv", "source_sha256": "0" * 64}
        for f, e in ((NZSP, -6.0), (SC_NZSP, 12.0), (LU_NZSP, 30.0))
    ]  # fmt: skip
    registry.run(lambda uow: uow.computed.add("test-dft", computed))
    _store(
        registry,
        SynthesisRecord("A", SC_NZSP, True),
        XRDRecord.create("A", phases="NASICON"),  # experiment says 1 where DFT says 0
        SynthesisRecord("B", "Na3.4Zr1.6Sc0.4Si2PO12", False),  # experiment only
    )
    frame = training_frame(registry, experimental_weight=4.0)
    assert list(frame.columns) == ["formula", "label", "source", "weight", "ehull_mev"]
    rows = frame.set_index("formula")
    assert len(frame) == 4 and frame["formula"].is_unique
    assert rows.loc[NZSP, ["label", "source", "weight"]].tolist() == [1, "dft", 1.0]
    assert rows.loc[LU_NZSP, "label"] == 0
    assert rows.loc[SC_NZSP, ["label", "source", "weight"]].tolist() == [1, "experiment", 4.0]
    assert rows.loc[SC_NZSP, "ehull_mev"] == 12.0
    assert rows.loc["Na3.4Zr1.6Sc0.4Si2PO12", "label"] == 0
    assert np.isnan(rows.loc["Na3.4Zr1.6Sc0.4Si2PO12", "ehull_mev"])
    assert training_frame(registry, ehull_threshold_mev=15.0).set_index("formula").loc[
        LU_NZSP, "label"
    ] == 0  # fmt: skip
    assert frame_sha256(frame) == frame_sha256(training_frame(registry, experimental_weight=4.0))


def current_xrd_id(reg: Registry) -> int:
    (snap,) = reg.run(lambda uow: uow.outcomes.find(kinds=("xrd",)), write=False)
    return snap.id


def test_training_data_follows_corrections_and_retractions(registry: Registry) -> None:
    _store(registry, SynthesisRecord("A", NZSP, True), XRDRecord.create("A", phases="NASICON;ZrO2"))
    assert experimental_labels(registry)["label"].tolist() == [0]
    xrd_id = current_xrd_id(registry)
    fix = XRDRecord.create("A", phases="NASICON", supersedes_id=xrd_id, reason="ZrO2 peak was Kb")
    _store(registry, fix, by="bob")
    assert experimental_labels(registry)["label"].tolist() == [1]
    with registry.unit_of_work() as uow:
        (current,) = uow.outcomes.find(kinds=("xrd",))
        uow.outcomes.retract("xrd", current.id, reason="wrong pellet", recorded_by="c")
    assert experimental_labels(registry).empty
    assert training_frame(registry).empty


def test_a_repeat_that_worked_makes_the_composition_synthesizable(registry: Registry) -> None:
    _store(
        registry,
        SynthesisRecord("A", NZSP, False),
        SynthesisRecord("B", NZSP, True),
        XRDRecord.create("B", phases="NASICON=0.99;ZrO2=0.01"),
    )
    labels = experimental_labels(registry)
    assert labels[["formula", "label", "n_samples"]].values.tolist() == [[NZSP, 1, 2]]


def test_store_records_is_all_or_nothing(registry: Registry) -> None:
    good = SynthesisRecord("A", NZSP, True)
    orphan = XRDRecord.create("GHOST", phases="NASICON")
    with pytest.raises(Exception, match="unknown sample id 'GHOST'"):
        store_records(registry, [good, orphan], recorded_by="ann")
    assert registry.run(lambda uow: uow.samples.all(), write=False) == []
    report = store_records(registry, [good], recorded_by="ann", options=StoreOptions(source="lab"))
    assert report.samples_created == ("A",)
    assert registry.run(lambda uow: uow.samples.get("A"), write=False).source == "lab"
