"""Greedy batch selection with a minimum distance between picks, in the chemist's coordinates.

Candidates are walked best score first (ties: the one farthest from the picks so far, then
the canonical formula order of the rows given); a candidate joins the batch only when it is
at least ``min_distance`` (atoms per formula unit, Euclidean over
:func:`loop.recommend.features.chemist_coordinates`) from every earlier pick. When fewer than
``batch_size`` candidates are that far apart the batch is smaller: it never holds two
near-identical compositions.
"""

from __future__ import annotations

import numpy as np


def select_batch(
    scores: np.ndarray,
    coordinates: np.ndarray,
    batch_size: int,
    *,
    min_distance: float = 0.0,
    tie_tolerance: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the batch in pick order and each pick's distance to the earlier picks.

    Args:
        scores: (N,) acquisition scores, higher is better (NaN: never picked first).
        coordinates: (N, d) chemist coordinates (amounts per formula unit).
        batch_size: picks wanted.
        min_distance: smallest allowed distance between two picks, atoms per formula unit.
        tie_tolerance: score gap within which candidates count as tied (then the one
            farthest from the batch wins).

    Returns:
        (indices into the N rows, min distance of each pick to the earlier picks; inf first).
    """
    s = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    x = np.asarray(coordinates, dtype=float)
    n = len(s)
    open_ = np.ones(n, dtype=bool)
    dist = np.full(n, np.inf)
    picks: list[int] = []
    dists: list[float] = []
    while len(picks) < batch_size:
        allowed = open_ & (dist >= min_distance)
        if not allowed.any():
            break
        best = s[allowed].max()
        tied = np.flatnonzero(allowed & (s >= best - tie_tolerance))
        far = dist[tied]
        if np.isfinite(far).any():
            tied = tied[far == far.max()]
        pick = int(tied[np.argmax(s[tied])])  # first row among equals
        picks.append(pick)
        dists.append(float(dist[pick]))
        open_[pick] = False
        dist = np.minimum(dist, np.sqrt(((x - x[pick]) ** 2).sum(1)))
    return np.asarray(picks, dtype=np.intp), np.asarray(dists)
