"""Champion selection: best mean CV macro-F1; ties go to the simpler model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from loop.models.zoo import COMPLEXITY_ORDER

#: Two mean macro-F1 scores closer than this are a tie (below the fold-to-fold noise,
#: about the last digit the leaderboard prints).
DEFAULT_TIE_TOLERANCE = 1e-3


def select_champion(
    scores: Mapping[str, float],
    *,
    order: Sequence[str] = COMPLEXITY_ORDER,
    tie_tolerance: float = DEFAULT_TIE_TOLERANCE,
) -> str:
    """Name of the model with the best score; among those within ``tie_tolerance`` of the
    best, the one first in ``order`` (simplest first; unknown names rank last).

    Raises:
        ValueError: no finite score.
    """
    finite = {name: float(s) for name, s in scores.items() if np.isfinite(s)}
    if not finite:
        raise ValueError("no model has a finite score to select a champion from")
    best = max(finite.values())
    tied = [name for name, s in finite.items() if s >= best - tie_tolerance]
    rank = {name: i for i, name in enumerate(order)}
    return min(tied, key=lambda name: (rank.get(name, len(rank)), -finite[name], name))
