"""How much of a reference set of formulas (the DFT data set, literature records) a space holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from loop.descriptors.occupancy import parse_formulas
from loop.errors import DataMissingError
from loop.spaces.design_space import DesignSpace


@dataclass(frozen=True)
class Coverage:
    """Which of ``n_total`` reference formulas the space contains."""

    n_total: int
    n_contained: int
    missing: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.n_contained / self.n_total if self.n_total else 0.0


def coverage(space: DesignSpace, formulas: Sequence[str]) -> Coverage:
    """Which ``formulas`` are compositions of ``space`` (unparsable ones count as out)."""
    parsed = parse_formulas(formulas)
    inside = space.contains(parsed.batch)
    in_rows = set(parsed.rows[inside].tolist())
    missing = [str(f) for i, f in enumerate(formulas) if i not in in_rows]
    return Coverage(len(formulas), len(in_rows), missing)


def dft_formulas(data_dir: Path) -> list[str]:
    """The 3881 formulas of the DFT data set (train.csv then test.csv).

    Raises:
        DataMissingError: a file is missing (the data set comes with ../shared/data/nasicon_dft).
    """
    out: list[str] = []
    for name in ("train.csv", "test.csv"):
        path = Path(data_dir) / name
        if not path.is_file():
            raise DataMissingError(
                f"DFT data set file {path} not found (it is the Ouyang et al. data set of "
                "../shared/data/nasicon_dft; set data.dft_path or NASICON_DFT_DATA)"
            )
        out += pd.read_csv(path, usecols=["CompName"])["CompName"].astype(str).tolist()
    return out


def literature_formulas(path: Path) -> dict[str, str]:
    """label -> formula of the literature records CSV.

    Raises:
        DataMissingError: the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(
            f"literature records {path} not found (../shared/data/literature/"
            "zuo2026_entropy_nzsp.csv; set data.literature_path or NASICON_LITERATURE_DATA)"
        )
    frame = pd.read_csv(path, usecols=["label", "formula"])
    return dict(zip(frame["label"].astype(str), frame["formula"].astype(str), strict=True))
