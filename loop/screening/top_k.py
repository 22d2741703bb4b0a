"""A bounded top-k over a stream: memory O(k + chunk), deterministic on ties."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def top_indices(score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores; ties keep the earlier index; NaN ranks last."""
    n = len(score)
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    s = np.where(np.isnan(score), -np.inf, score)
    if n <= k:
        return np.lexsort((np.arange(n), -s))
    kth = np.partition(s, n - k)[n - k]
    above = np.flatnonzero(s > kth)
    ties = np.flatnonzero(s == kth)[: k - len(above)]
    chosen = np.concatenate([above, ties])
    return chosen[np.lexsort((chosen, -s[chosen]))]


class TopK:
    """Keep the ``k`` best rows (by score) of every chunk pushed, with their columns.

    Rows pushed earlier win ties, so the result does not depend on the chunk size.
    """

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k
        self.score = np.zeros(0)
        self.columns: dict[str, np.ndarray] = {}
        self.seen = 0

    def push(self, score: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        """Offer rows (``score`` (n,), each column (n, ...)) to the buffer."""
        n = len(score)
        self.seen += n
        if n == 0:
            return
        keep = top_indices(np.asarray(score, dtype=float), self.k)
        keep.sort()  # back to stream order so earlier rows stay first among ties
        new_cols = {name: np.asarray(col)[keep] for name, col in columns.items()}
        if not self.columns:
            merged_score, merged = np.asarray(score, dtype=float)[keep], new_cols
        else:
            merged_score = np.concatenate([self.score, np.asarray(score, dtype=float)[keep]])
            merged = {
                name: np.concatenate([self.columns[name], new_cols[name]]) for name in self.columns
            }
        best = top_indices(merged_score, self.k)
        best.sort()
        self.score = merged_score[best]
        self.columns = {name: col[best] for name, col in merged.items()}

    def __len__(self) -> int:
        return len(self.score)

    def result(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(scores, columns) sorted best first."""
        order = top_indices(self.score, len(self.score))
        return self.score[order], {name: col[order] for name, col in self.columns.items()}
