"""What the recommender sees of a composition: surrogate inputs and the chemist's coordinates.

* :func:`surrogate_features`: the inputs its surrogates learn from (a feature set of
  :data:`loop.simulation.surrogate.FEATURE_SETS`, over an explicit element list so that the
  training rows and the candidates share their columns);
* :func:`chemist_coordinates`: amounts per formula unit of Na, of each M-site element with
  near-identical ions merged (:data:`NEAR_IDENTICAL`), and of Si, P, S. Batch diversity is
  measured here, where a chemist sees it: a batch of 8 should not hold two compositions that
  differ only by 0.1 Hf swapped for Zr.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loop.descriptors import COMPOSITION_DESCRIPTORS, NUMERIC_DESCRIPTORS
from loop.descriptors.occupancy import OccupancyBatch
from loop.descriptors.tolerance_factor import PUBLISHED_INTERCEPT, PUBLISHED_SLOPE
from loop.errors import ValidationError

#: Element -> the group it is merged into for batch diversity. Same charge and Shannon radius
#: (CN VI) within 0.01 A, so the lattice cannot tell them apart: Zr4+ 0.72 / Hf4+ 0.71
#: (lanthanide contraction, the classic twin pair); Nb5+ 0.64 / Ta5+ 0.64; Mo6+ 0.59 /
#: W6+ 0.60; Y3+ 0.900 / Ho3+ 0.901 (Y behaves as a heavy lanthanide of Ho's size).
NEAR_IDENTICAL: dict[str, str] = {"Hf": "Zr", "Ta": "Nb", "W": "Mo", "Ho": "Y"}

#: Feature set name -> what it holds.
FEATURE_SETS: dict[str, str] = {
    "engine": "the 19 numeric engine descriptors",
    "dataset": "the 12 data-set composition descriptors plus the mean-field Ewald energy",
    "elements": "amount of each M-site element and of Si, P, S, plus Na",
    "engine+elements": "the engine descriptors plus the element amounts",
    "engine+elements+tf": "the engine descriptors, the element amounts and the published "
    "tolerance-factor margin 0.322 - (0.203 t1 + t2) (the physics as one feature)",
}


def m_elements(*batches: OccupancyBatch) -> list[str]:
    """Sorted M-site elements present in any of ``batches`` (the shared amount columns)."""
    return sorted({ion.element for b in batches for ion in b.m_ions.ions})


def element_amounts(batch: OccupancyBatch, elements: Sequence[str]) -> np.ndarray:
    """(N, len(elements) + 3) amount per formula unit of each M-site element, then Si, P, S.

    An element of the batch missing from ``elements`` is dropped (its amount is not counted).
    """
    col = {el: j for j, el in enumerate(elements)}
    ion_col = np.array([col.get(ion.element, -1) for ion in batch.m_ions.ions], dtype=np.intp)
    out = np.zeros((len(batch), len(elements)))
    if len(batch) and batch.m_index.size:
        target = ion_col[batch.m_index]
        rows = np.broadcast_to(np.arange(len(batch))[:, None], target.shape)
        keep = (target >= 0) & (batch.m_amount > 0)
        np.add.at(out, (rows[keep], target[keep]), batch.m_amount[keep])
    return np.column_stack([out, batch.a_amount])


def surrogate_features(
    batch: OccupancyBatch,
    descriptors: pd.DataFrame,
    elements: Sequence[str],
    feature_set: str = "engine+elements",
) -> np.ndarray:
    """(N, d) surrogate inputs of ``batch`` (``descriptors``: its engine descriptor table).

    Raises:
        ValidationError: unknown feature set.
    """
    if feature_set not in FEATURE_SETS:
        raise ValidationError(
            f"unknown feature set {feature_set!r} (one of {', '.join(FEATURE_SETS)})"
        )
    parts: list[np.ndarray] = []
    if feature_set.startswith("engine"):
        parts.append(descriptors[list(NUMERIC_DESCRIPTORS)].to_numpy(dtype=float))
    if feature_set == "dataset":
        cols = [*COMPOSITION_DESCRIPTORS, "ewald_ev_per_atom"]
        parts.append(descriptors[cols].to_numpy(dtype=float))
    if feature_set in ("elements", "engine+elements", "engine+elements+tf"):
        parts.append(element_amounts(batch, elements))
        if feature_set == "elements":
            parts.append(np.asarray(batch.na, dtype=float)[:, None])
    if feature_set.endswith("+tf"):
        parts.append(tolerance_margin(descriptors)[:, None])
    return np.column_stack(parts)


def tolerance_margin(descriptors: pd.DataFrame) -> np.ndarray:
    """(N,) 0.322 - (0.203 t1 + t2): positive inside the published accessible region."""
    t1 = descriptors["t1"].to_numpy(dtype=float)
    t2 = descriptors["t2"].to_numpy(dtype=float)
    return PUBLISHED_INTERCEPT - (PUBLISHED_SLOPE * t1 + t2)


def chemist_coordinates(batch: OccupancyBatch, elements: Sequence[str]) -> np.ndarray:
    """(N, g + 4) amounts per formula unit: Na, each group of M-site elements (near-identical
    ions of :data:`NEAR_IDENTICAL` merged), Si, P, S. Euclidean distance here is in atoms per
    formula unit."""
    groups = sorted({NEAR_IDENTICAL.get(e, e) for e in elements})
    gcol = {g: j for j, g in enumerate(groups)}
    amounts = element_amounts(batch, elements)
    merge = np.zeros((len(elements), len(groups)))
    merge[np.arange(len(elements)), [gcol[NEAR_IDENTICAL.get(e, e)] for e in elements]] = 1.0
    grouped = amounts[:, : len(elements)] @ merge
    return np.column_stack(
        [np.asarray(batch.na, dtype=float), grouped, amounts[:, len(elements) :]]
    )
