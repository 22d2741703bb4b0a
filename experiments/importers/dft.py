"""Import the NASICON DFT data set (Ouyang et al. 2021; 3881 compositions) as computed records.

Reads ``train.csv`` and ``test.csv`` of the data folder (default
``../shared/data/nasicon_dft``, config ``data.dft_path``, env ``NASICON_DFT_DATA``).
Every published column is kept (in ``published``, by its published name) besides the
typed Ehull(1000 K) (meV/atom), Ewald and formation energies (eV/atom), the paper's
train/test split, the source files' SHA-256 and the citation.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.importers import ImportReport
from loop.descriptors import parse_formulas
from loop.errors import CompositionError, DataMissingError, ValidationError
from registry import Registry
from registry.raw_files import sha256_file

log = logging.getLogger(__name__)

SOURCE = "ouyang2021-nasicon-dft"
CITATION = (
    "B. Ouyang, J. Wang, T. He, C. J. Bartel, H. Huo, Y. Wang, V. Lacivita, H. Kim, G. Ceder, "
    "Synthetic accessibility and stability rules of NASICONs, Nat. Commun. 2021 "
    "(arXiv:2102.03627)"
)
DATA_REPOSITORY = "https://github.com/Jeff-oakley/NASICON_Predictor_Data (RawData, commit efaf045b)"
LICENSE = "MIT"
SPLITS = ("train", "test")
FORMULA_COLUMN = "CompName"
#: The published numeric columns (KeyFeatureNames.txt).
PUBLISHED_COLUMNS = (
    "NewEhullLst",
    "EWaldSumLst",
    "EFormLst",
    "RDiffLst",
    "RDiffStdLst",
    "RDiffNaLst",
    "EleNegStdLst",
    "XDiffLst",
    "AnionXStdLst",
    "XWithNaLst",
    "ChgDiffLst",
    "ChgStdLst",
    "AnionChgStdLst",
    "NNaLst",
    "RRatioNaLst",
)


def _missing(path: Path, what: str) -> DataMissingError:
    return DataMissingError(
        f"{what} {path} not found: the NASICON DFT data set (train.csv, test.csv) comes from "
        f"{DATA_REPOSITORY}; give its folder as PATH or set NASICON_DFT_DATA"
    )


def read_dft(path: str | Path) -> pd.DataFrame:
    """Both splits of the data set with ``split``, ``source_file`` and ``source_sha256``.

    Raises:
        DataMissingError: the folder or one of its CSV files is missing.
        ValidationError: a file lacks a published column or holds a non-numeric value.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise _missing(folder, "data folder")
    frames = []
    for split in SPLITS:
        file = folder / f"{split}.csv"
        if not file.is_file():
            raise _missing(file, "data file")
        frame = pd.read_csv(file)
        lacking = [c for c in (FORMULA_COLUMN, *PUBLISHED_COLUMNS) if c not in frame.columns]
        if lacking:
            raise ValidationError(f"{file} lacks the published column(s) {', '.join(lacking)}")
        for col in PUBLISHED_COLUMNS:
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = values.isna() & frame[col].notna()
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise ValidationError(
                    f"{file} line {row + 2}: {col} {frame[col].iloc[row]!r} is not a number"
                )
            frame[col] = values
        if frame["NewEhullLst"].isna().any():
            row = int(frame["NewEhullLst"].isna().to_numpy().argmax())
            raise ValidationError(f"{file} line {row + 2}: NewEhullLst (Ehull) is empty")
        frames.append(
            frame.assign(
                split=split, source_file=str(file.resolve()), source_sha256=sha256_file(file)
            )
        )
    return pd.concat(frames, ignore_index=True)


def _number(value: Any) -> float | None:
    x = float(value)
    return x if math.isfinite(x) else None


def dft_records(frame: pd.DataFrame) -> tuple[list, list[dict[str, Any]]]:
    """(parsed compositions, computed-record dicts) of a :func:`read_dft` frame.

    Raises:
        CompositionError: formulas the chemistry engine cannot read (the first few named).
    """
    parsed = parse_formulas(frame[FORMULA_COLUMN].astype(str))
    if parsed.errors:
        shown = "; ".join(f"{f!r}: {why}" for _, f, why in parsed.errors[:3])
        raise CompositionError(f"{len(parsed.errors)} data-set formulas cannot be read ({shown})")
    comps = [parsed.batch.composition(i) for i in range(len(parsed.batch))]
    records = []
    for rec in frame.to_dict("records"):
        records.append(
            {
                "formula": None,  # filled below from the parsed composition
                "dataset_formula": rec[FORMULA_COLUMN],
                "split": rec["split"],
                "ehull_mev": float(rec["NewEhullLst"]),
                "ewald_ev_per_atom": _number(rec["EWaldSumLst"]),
                "formation_energy_ev_per_atom": _number(rec["EFormLst"]),
                "published": {
                    FORMULA_COLUMN: rec[FORMULA_COLUMN],
                    **{c: _number(rec[c]) for c in PUBLISHED_COLUMNS},
                },
                "citation": CITATION,
                "data_repository": DATA_REPOSITORY,
                "license": LICENSE,
                "source_file": rec["source_file"],
                "source_sha256": rec["source_sha256"],
            }
        )
    for comp, rec in zip(comps, records, strict=True):
        rec["formula"] = comp.formula
    return comps, records


def import_dft(registry: Registry, path: str | Path) -> ImportReport:
    """Store the data set as computed records, in one transaction; idempotent.

    Raises:
        DataMissingError, ValidationError, CompositionError: see :func:`read_dft`.
        registry.ConflictError: a stored record differs from the file's (never overwritten).
    """
    frame = read_dft(path)
    _, records = dft_records(frame)
    added, unchanged = registry.run(lambda uow: uow.computed.add(SOURCE, records))
    report = ImportReport(
        SOURCE,
        str(path),
        added={"computed records": added},
        unchanged={"computed records": unchanged},
    )
    log.info("%s", report.summary())
    return report
