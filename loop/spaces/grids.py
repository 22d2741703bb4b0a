"""Amount grids: positive integer compositions, amount vectors on n/d steps, multiset picks.

The combinatorics a design space is enumerated and counted with (no chemistry here).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from loop.spaces.spec import SpaceError

#: Refuse grids whose amount vectors alone exceed this many rows (a typo such as d = 60).
MAX_AMOUNT_VECTORS = 2_000_000


def positive_compositions(total: int, parts: int) -> np.ndarray:
    """All vectors of ``parts`` positive integers summing to ``total`` (one per row)."""
    if parts < 1 or total < parts:
        return np.zeros((0, max(parts, 0)), dtype=np.int64)
    if parts == 1:
        return np.array([[total]], dtype=np.int64)
    cuts = np.array(list(itertools.combinations(range(1, total), parts - 1)), dtype=np.int64)
    edges = np.concatenate(
        [np.zeros((len(cuts), 1), np.int64), cuts, np.full((len(cuts), 1), total)], axis=1
    )
    return np.diff(edges, axis=1)


def amount_vectors(total: float, parts: int, denominators: Sequence[int]) -> np.ndarray:
    """Distinct amount vectors of ``parts`` positive amounts n/d summing to ``total``.

    Each vector uses one denominator d of ``denominators`` (union over d, duplicates removed).
    """
    n_rows = sum(
        math.comb(round(total * d) - 1, parts - 1) for d in denominators if total * d >= parts
    )
    if n_rows > MAX_AMOUNT_VECTORS:
        raise SpaceError(
            f"{parts} cations on denominators {list(denominators)} give {n_rows:,} amount "
            f"vectors (limit {MAX_AMOUNT_VECTORS:,}); use coarser amount_denominators"
        )
    pieces = [positive_compositions(round(total * d), parts) / d for d in denominators]
    vectors = np.concatenate(pieces) if pieces else np.zeros((0, parts))
    if len(vectors) == 0:
        return vectors.reshape(0, parts)
    return np.unique(np.round(vectors, 12), axis=0)


def multiset_picks(capacity: list[int], total: int) -> Iterator[tuple[int, ...]]:
    """All (n_1..n_m) with 0 <= n_i <= capacity_i summing to ``total``."""
    if total < 0:
        return
    if not capacity:
        if total == 0:
            yield ()
        return
    first, rest = capacity[0], capacity[1:]
    for n in range(min(first, total) + 1):
        for tail in multiset_picks(rest, total - n):
            yield (n, *tail)
