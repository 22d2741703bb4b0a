"""What a recommender reads: compositions (candidates) and the signals observed on some.

Plain arrays, built the same way by the propose service (from the registry) and by a
backtest (from a lookup table), so both hand the recommender identical inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loop.descriptors import NUMERIC_DESCRIPTORS, describe
from loop.descriptors.occupancy import OccupancyBatch, parse_formulas
from loop.errors import ValidationError


@dataclass(frozen=True)
class Compositions:
    """Compositions with their occupancies and engine descriptors.

    Attributes:
        formulas: (N,) canonical formulas.
        batch: their occupancies.
        descriptors: (N, 19) :data:`NUMERIC_DESCRIPTORS` table.
    """

    formulas: np.ndarray
    batch: OccupancyBatch
    descriptors: pd.DataFrame

    def __len__(self) -> int:
        return len(self.formulas)

    def take(self, rows: np.ndarray) -> Compositions:
        """The sub-set of ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.intp)
        return Compositions(
            self.formulas[rows], self.batch.take(rows),
            self.descriptors.iloc[rows].reset_index(drop=True),
        )  # fmt: skip

    @classmethod
    def of_batch(
        cls, batch: OccupancyBatch, descriptors: pd.DataFrame | None = None
    ) -> Compositions:
        """From occupancies (descriptors computed when not given)."""
        desc = describe(batch) if descriptors is None else descriptors
        return cls(
            np.array(batch.formulas(), dtype=object), batch,
            desc[list(NUMERIC_DESCRIPTORS)].reset_index(drop=True),
        )  # fmt: skip

    @classmethod
    def of_formulas(cls, formulas: Sequence[str]) -> Compositions:
        """Parsed from formula text.

        Raises:
            ValidationError: a formula the engine refuses (the first one is named).
        """
        parsed = parse_formulas(list(formulas))
        if parsed.errors:
            row, formula, reason = parsed.errors[0]
            raise ValidationError(f"formula {row + 1} {formula!r}: {reason}")
        return cls.of_batch(parsed.batch)


@dataclass(frozen=True)
class Observations:
    """Signals observed on some compositions (NaN where a signal was not recorded).

    Attributes:
        compositions: the observed compositions.
        labels: (N,) True = formed (accessible / synthesizable).
        ehull_mev: (N,) DFT Ehull(1000 K), meV/atom: computed records only.
        phase_fraction: (N,) NASICON weight fraction from XRD, 0..1.
        log10_sigma: (N,) log10 of the conductivity at 25 C, S/cm.
        labelled: (N,) False where no label exists (a conductivity without a synthesis
            verdict): the label surrogate leaves those rows out.
    """

    compositions: Compositions
    labels: np.ndarray
    ehull_mev: np.ndarray
    phase_fraction: np.ndarray
    log10_sigma: np.ndarray
    labelled: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.compositions)
        for name in ("labels", "ehull_mev", "phase_fraction", "log10_sigma", "labelled"):
            if len(getattr(self, name)) != n:
                raise ValidationError(f"observations: {name} has not one value per composition")

    def __len__(self) -> int:
        return len(self.compositions)

    @classmethod
    def of(
        cls,
        compositions: Compositions,
        labels: np.ndarray,
        *,
        ehull_mev: np.ndarray | None = None,
        phase_fraction: np.ndarray | None = None,
        log10_sigma: np.ndarray | None = None,
        labelled: np.ndarray | None = None,
    ) -> Observations:
        """Observations with NaN for every signal not given."""
        nan = np.full(len(compositions), np.nan)

        def arr(v: np.ndarray | None) -> np.ndarray:
            return nan.copy() if v is None else np.asarray(v, dtype=float)

        known = np.ones(len(compositions), bool) if labelled is None else labelled
        return cls(
            compositions, np.asarray(labels, dtype=bool), arr(ehull_mev), arr(phase_fraction),
            arr(log10_sigma), np.asarray(known, dtype=bool),
        )  # fmt: skip

    def take(self, rows: np.ndarray) -> Observations:
        """The sub-set of ``rows``."""
        rows = np.asarray(rows, dtype=np.intp)
        return Observations(
            self.compositions.take(rows), self.labels[rows], self.ehull_mev[rows],
            self.phase_fraction[rows], self.log10_sigma[rows], self.labelled[rows],
        )  # fmt: skip
