"""Batch diversity: greedy max-min distance in standardised descriptor space.

A batch is built one pick at a time. The first pick is the best-scoring candidate; each
next pick is, among the candidates whose score is within ``tie_tolerance`` of the best
remaining score (the near-ties), the one farthest from everything already picked (largest
minimum Euclidean distance in z-scored descriptors). ``tie_tolerance = 0`` still separates
exact ties (common when a forest gives many candidates probability 1); ``inf`` is pure
max-min diversity over the shortlist.
"""

from __future__ import annotations

import numpy as np


def standardise(features: np.ndarray) -> np.ndarray:
    """Z-scores per column (columns with no spread become 0)."""
    x = np.asarray(features, dtype=float)
    if x.size == 0:
        return x.reshape(len(x), -1)
    sd = x.std(0)
    return (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)


def select_diverse(
    scores: np.ndarray,
    features: np.ndarray,
    batch_size: int,
    *,
    tie_tolerance: float = 0.0,
    shortlist: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``batch_size`` rows: best score first, then max-min distance among near-ties.

    Args:
        scores: (N,) acquisition scores, higher is better.
        features: (N, d) descriptors (standardised here over the shortlist).
        batch_size: rows to pick (at most N).
        tie_tolerance: score gap within which candidates count as tied.
        shortlist: consider only this many best-scoring rows (default all).

    Returns:
        (indices into the N rows in pick order, min distance of each pick to the earlier
        picks in standardised units; inf for the first).
    """
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    batch_size = min(batch_size, n)
    if batch_size <= 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    order = np.lexsort((np.arange(n), -np.nan_to_num(scores, nan=-np.inf)))
    if shortlist is not None:
        order = order[: max(shortlist, batch_size)]
    s = scores[order]
    z = standardise(np.asarray(features, dtype=float)[order])
    m = len(order)
    chosen = np.zeros(m, dtype=bool)
    min_dist = np.full(m, np.inf)
    picks: list[int] = []
    dists: list[float] = []
    for _ in range(batch_size):
        best = np.max(np.where(chosen, -np.inf, s))
        eligible = ~chosen & (s >= best - tie_tolerance)
        # farthest from the batch; among equals the better score, then the earlier row
        cand = np.flatnonzero(eligible)
        far = min_dist[cand]
        top = cand[far == far.max()] if np.isfinite(far).any() else cand
        pick = int(top[np.argmax(s[top])])
        picks.append(pick)
        dists.append(float(min_dist[pick]))
        chosen[pick] = True
        d = np.sqrt(((z - z[pick]) ** 2).sum(1))
        min_dist = np.minimum(min_dist, d)
    return order[np.asarray(picks, dtype=np.intp)], np.asarray(dists)
