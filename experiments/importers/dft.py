"""Import the NASICON DFT data set (Ouyang et al. 2021; 3881 compositions) as computed records.

:func:`read_dft_dataset` is the one reader of the data set (the importer, the retrain's
published check, the backtest pool, design-space coverage and ``nasicon discover`` all take
its frame): ``train.csv`` and ``test.csv`` of the data folder (default
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

import numpy as np
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


def dft_dataset_files(path: str | Path) -> tuple[Path, ...]:
    """``train.csv`` and ``test.csv`` of the data-set folder ``path``, both checked to exist.

    Raises:
        DataMissingError: a file (or the folder) is missing; one line naming the first missing
            file and where the data set comes from.
    """
    folder = Path(path)
    files = tuple(folder / f"{split}.csv" for split in SPLITS)
    for file in files:
        if not file.is_file():
            raise DataMissingError(
                f"DFT data set file {file} not found: the NASICON DFT data set (train.csv, "
                f"test.csv) of Ouyang et al. 2021 comes from the repository {DATA_REPOSITORY}; "
                "point data.dft_path, NASICON_DFT_DATA or --data at its folder"
            )
    return files


def read_dft_dataset(path: str | Path) -> pd.DataFrame:
    """All rows of the data set, train.csv then test.csv, checked; the one reader of it.

    Every published column (:data:`PUBLISHED_COLUMNS`, numeric) and ``CompName`` are kept,
    plus ``split`` (train/test, the paper's), ``source_file`` and ``source_sha256``.

    Raises:
        DataMissingError: the folder or one of its CSV files is missing.
        ValidationError: a file is not readable CSV, lacks a published column, holds a
            non-numeric value or an empty / non-finite Ehull (NewEhullLst).
    """
    frames = []
    for split, file in zip(SPLITS, dft_dataset_files(path), strict=True):
        try:
            frame = pd.read_csv(file)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{file} is not a readable CSV file: {exc}") from None
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
        ehull = frame["NewEhullLst"].to_numpy(dtype=float)
        if not np.isfinite(ehull).all():
            row = int((~np.isfinite(ehull)).argmax())
            raise ValidationError(
                f"{file} line {row + 2}: NewEhullLst (Ehull) is empty or not finite"
            )
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
    """(parsed compositions, computed-record dicts) of a :func:`read_dft_dataset` frame.

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
        DataMissingError, ValidationError, CompositionError: see :func:`read_dft_dataset`.
        registry.ConflictError: a stored record differs from the file's (never overwritten).
    """
    frame = read_dft_dataset(path)
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
