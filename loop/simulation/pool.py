"""The DFT data set as a lookup oracle: formulas, occupancies, descriptors and labels.

A composition is accessible when its Ehull(1000 K) (``NewEhullLst``) is at or below the
threshold (0 meV/atom by default, the paper's GS/LS class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loop.descriptors import NUMERIC_DESCRIPTORS, describe
from loop.descriptors.occupancy import OccupancyBatch, parse_formulas
from loop.errors import ValidationError
from loop.recommend.data import Compositions, Observations


@dataclass(frozen=True)
class LabelledPool:
    """Compositions whose labels a backtest reveals one batch at a time.

    Attributes:
        formulas: (N,) canonical formulas.
        batch: their occupancies.
        descriptors: (N, len(NUMERIC_DESCRIPTORS)) engine descriptors.
        labels: (N,) True = accessible.
        ehull_mev: (N,) Ehull(1000 K), meV/atom (NaN when the source has none).
    """

    formulas: np.ndarray
    batch: OccupancyBatch
    descriptors: pd.DataFrame
    labels: np.ndarray
    ehull_mev: np.ndarray
    threshold_mev: float = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def compositions(self) -> Compositions:
        """Every row as the recommender's :class:`~loop.recommend.Compositions`."""
        return Compositions(self.formulas, self.batch, self.descriptors.reset_index(drop=True))

    def observations(self, rows: np.ndarray) -> Observations:
        """What a lab would have observed on ``rows``: labels, and Ehull (computed)."""
        rows = np.asarray(rows, dtype=np.intp)
        return Observations.of(
            self.compositions.take(rows), self.labels[rows], ehull_mev=self.ehull_mev[rows]
        )

    @property
    def accessible_fraction(self) -> float:
        """Share of accessible compositions in the pool."""
        return float(np.mean(self.labels)) if len(self.labels) else 0.0


def dft_pool(frame: pd.DataFrame, ehull_threshold_mev: float = 0.0) -> LabelledPool:
    """The DFT data set as a :class:`LabelledPool` (label: Ehull(1000 K) <= threshold, meV/atom).

    Args:
        frame: rows of the data set with ``CompName`` and ``NewEhullLst`` (meV/atom), as
            :func:`experiments.importers.dft.read_dft_dataset` returns them.

    Raises:
        ValidationError: a formula of the data set cannot be parsed.
    """
    parsed = parse_formulas(frame["CompName"].astype(str))
    if parsed.errors:
        row, formula, reason = parsed.errors[0]
        raise ValidationError(f"DFT data set row {row + 2}: {formula!r}: {reason}")
    ehull = frame["NewEhullLst"].to_numpy(dtype=float)
    desc = describe(parsed.batch)[list(NUMERIC_DESCRIPTORS)]
    return LabelledPool(
        formulas=np.array(parsed.batch.formulas(), dtype=object),
        batch=parsed.batch,
        descriptors=desc,
        labels=ehull <= ehull_threshold_mev,
        ehull_mev=ehull,
        threshold_mev=ehull_threshold_mev,
    )
