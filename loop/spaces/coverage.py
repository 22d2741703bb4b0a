"""How much of a reference set of formulas (the DFT data set, literature records) a space holds.

The frames come from their readers in :mod:`experiments.importers` (``read_dft_dataset``,
``read_literature``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from loop.descriptors.occupancy import parse_formulas
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


def dft_formulas(frame: pd.DataFrame) -> list[str]:
    """The formulas (``CompName``) of the DFT data set's rows, in order."""
    return frame["CompName"].astype(str).tolist()


def literature_formulas(frame: pd.DataFrame) -> dict[str, str]:
    """label -> formula of the literature records (``label`` and ``formula`` columns)."""
    return dict(zip(frame["label"].astype(str), frame["formula"].astype(str), strict=True))
