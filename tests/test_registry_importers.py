"""Importers: the 3881-row DFT data set and the literature outcomes, idempotent, nothing lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import row_counts

from experiments.importers.dft import (
    CITATION,
    PUBLISHED_COLUMNS,
    SOURCE,
    import_dft,
    read_dft_dataset,
)
from experiments.importers.literature import LiteratureError, import_literature
from experiments.labels import experimental_labels
from experiments.training_data import training_frame
from loop.chemistry import parse_nasicon
from loop.errors import DataMissingError, ValidationError
from registry import ConflictError, Registry


def test_dft_import_keeps_every_published_column_split_and_citation(
    registry: Registry, dft_data_dir: Path, dft_frame: pd.DataFrame
) -> None:
    report = import_dft(registry, dft_data_dir)
    assert report.added == {"computed records": len(dft_frame)}
    with registry.unit_of_work(write=False) as uow:
        stored = uow.computed.frame(SOURCE).set_index("dataset_formula")
    assert len(stored) == len(dft_frame)
    expected = dft_frame.set_index("CompName")
    assert stored.loc[expected.index, "split"].tolist() == expected["split"].tolist()
    published = pd.DataFrame(stored["published"].tolist(), index=stored.index)
    for column in PUBLISHED_COLUMNS:  # every published value, exactly
        assert published.loc[expected.index, column].tolist() == expected[column].tolist(), column
    assert (stored["ehull_mev"] == published["NewEhullLst"]).all()
    assert (stored["ewald_ev_per_atom"] == published["EWaldSumLst"]).all()
    assert (stored["formation_energy_ev_per_atom"] == published["EFormLst"]).all()
    assert stored["citation"].eq(CITATION).all() and "arXiv:2102.03627" in CITATION
    assert stored["data_repository"].str.contains("Jeff-oakley/NASICON_Predictor_Data").all()
    assert stored["license"].eq("MIT").all() and stored["source_sha256"].str.len().eq(64).all()
    canonical = {parse_nasicon(f).formula for f in expected.index}
    assert set(stored["formula"]) == canonical
    frame = training_frame(registry)
    assert frame["label"].mean() == pytest.approx((dft_frame["NewEhullLst"] <= 0).mean())


def test_dft_import_twice_changes_nothing_and_says_so(
    sqlite_registry: Registry, sqlite_url: str, dft_data_dir: Path
) -> None:
    import_dft(sqlite_registry, dft_data_dir)
    before = row_counts(sqlite_url)
    again = import_dft(sqlite_registry, dft_data_dir)
    assert not again.changed_anything
    assert again.unchanged == {"computed records": before["computed_records"]}
    assert "nothing changed" in again.summary()
    assert row_counts(sqlite_url) == before


def test_dft_import_never_overwrites_a_stored_record(
    sqlite_registry: Registry, sqlite_url: str, dft_data_dir: Path, tmp_path: Path
) -> None:
    import_dft(sqlite_registry, dft_data_dir)
    before = row_counts(sqlite_url)
    edited = tmp_path / "edited"
    edited.mkdir()
    for name in ("train.csv", "test.csv"):
        shutil.copy(dft_data_dir / name, edited / name)
    test = pd.read_csv(edited / "test.csv")
    test.loc[0, "NewEhullLst"] += 1.0
    test.to_csv(edited / "test.csv", index=False)
    with pytest.raises(ConflictError, match=r"1 computed records .* differ.*never overwritten"):
        import_dft(sqlite_registry, edited)
    assert row_counts(sqlite_url) == before


def test_dft_import_reports_missing_data_and_columns(
    sqlite_registry: Registry, dft_data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(DataMissingError, match=r"nowhere.*Jeff-oakley.*NASICON_DFT_DATA"):
        import_dft(sqlite_registry, tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    pd.read_csv(dft_data_dir / "train.csv").drop(columns=["EWaldSumLst"]).to_csv(
        broken / "train.csv", index=False
    )
    shutil.copy(dft_data_dir / "test.csv", broken / "test.csv")
    with pytest.raises(ValidationError, match=r"lacks the published column.*EWaldSumLst"):
        import_dft(sqlite_registry, broken)
    assert sqlite_registry.run(lambda uow: uow.computed.frame(), write=False).empty


def _not_a_number(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"EFormLst": object})
    frame.loc[0, "EFormLst"] = "about -1.9"
    return frame


def _no_ehull(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[4, "NewEhullLst"] = None
    return frame


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda f: f.rename(columns={"CompName": "Formula"}), r"lacks the published column.*Comp"),
        (_not_a_number, r"train\.csv line 2: EFormLst 'about -1.9' is not a number"),
        (_no_ehull, r"train\.csv line 6: NewEhullLst \(Ehull\) is empty or not finite"),
        (None, r"train\.csv is not a readable CSV file"),
    ],
)
def test_dft_reader_refuses_a_bad_file_in_one_line(
    dft_data_dir: Path, tmp_path: Path, spoil, message: str
) -> None:
    shutil.copy(dft_data_dir / "test.csv", tmp_path / "test.csv")
    if spoil is None:
        (tmp_path / "train.csv").write_text("")
    else:
        spoil(pd.read_csv(dft_data_dir / "train.csv")).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(ValidationError, match=message) as info:
        read_dft_dataset(tmp_path)
    assert "\n" not in str(info.value)


def test_dft_reader_keeps_the_split_and_the_source_hash(
    dft_data_dir: Path, dft_frame: pd.DataFrame
) -> None:
    frame = read_dft_dataset(dft_data_dir)
    assert frame["CompName"].tolist() == dft_frame["CompName"].tolist()
    assert frame["split"].tolist() == dft_frame["split"].tolist()
    assert frame["source_sha256"].str.len().eq(64).all()
    assert frame.groupby("split")["source_sha256"].nunique().to_dict() == {"test": 1, "train": 1}


def test_literature_import_records_synthesis_xrd_and_conductivity(
    registry: Registry, literature_csv: Path
) -> None:
    report = import_literature(registry, literature_csv)
    source = pd.read_csv(literature_csv)
    n = len(source)
    with_sigma = (
        source[["sigma_total_mS_cm", "sigma_bulk_mS_cm", "sigma_gb_mS_cm"]].notna().any(axis=1)
    )
    assert report.added == {"synthesis": n, "xrd": n, "conductivity": int(with_sigma.sum())}
    labels = experimental_labels(registry).set_index("formula")["label"]
    expected = {
        parse_nasicon(f).formula: int(p)
        for f, p in zip(source.formula, source.phase_pure, strict=True)
    }
    assert labels.to_dict() == expected
    with registry.unit_of_work(write=False) as uow:
        sigma = {o.sample_id: o.values for o in uow.outcomes.find(kinds=("conductivity",))}
        nzsp = uow.samples.history("NZSP")
    for row in source[with_sigma].itertuples():
        assert sigma[row.label]["sigma_total_s_cm"] == pytest.approx(row.sigma_total_mS_cm / 1000)
        assert sigma[row.label]["temperature_k"] == pytest.approx(298.15)
    assert (
        nzsp.sample.source == "literature" and "Energy Environ. Sci. 2026" in nzsp.sample.citation
    )
    xrd = next(r for r in nzsp.records if r.kind == "xrd").values
    assert [p["name"] for p in xrd["phases"]] == ["NASICON", "Na3PO4", "ZrO2"]
    again = import_literature(registry, literature_csv)
    assert not again.changed_anything and "nothing changed" in again.summary()


def test_a_bad_literature_row_stores_nothing(
    sqlite_registry: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "label,formula,phase_pure,sigma_total_mS_cm\n"
        "A,Na3Zr2Si2PO12,1,0.5\n"
        "B,Na4Zr2Si2PO12,1,0.5\n"
        "C,Na3Zr2Si2PO12,maybe,\n"
        "D,Na3Zr2Si2PO12,0,20000\n"
    )
    before = row_counts(sqlite_url)
    with pytest.raises(LiteratureError) as info:
        import_literature(sqlite_registry, bad)
    assert [line for line, _ in info.value.problems] == [3, 4, 5]
    assert "charge balanced" in info.value.problems[0][1]
    assert row_counts(sqlite_url) == before
