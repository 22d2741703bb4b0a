"""Machine-learned ranking (MLR) over every pair of screened features.

For each pair (a, b) of the N screened features a 2D linear ranking SVM is fitted to the
same sampled training pairs (standardised features, see :mod:`loop.discovery.ranking`) and
scored by its exact pairwise ranking accuracy on the held-out rows. The N (N - 1) / 2
problems are solved in vectorised batches, in worker processes when ``n_jobs > 1``; the
pair sample is drawn once in the calling process, so results do not depend on ``n_jobs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from threadpoolctl import threadpool_limits

from loop.discovery.ranking import (
    all_active_step,
    distinct_pairs,
    fit_pair_directions,
    pair_differences,
    pairwise_ranking_accuracy,
    sample_pairs,
)
from loop.errors import ValidationError

ProgressCallback = Callable[[int, int], None]
_BATCH = 1000  # feature pairs per vectorised batch (not a power of two: see ranking)


@dataclass(frozen=True)
class PairScores:
    """Accuracy and weights of every feature pair (a < b), in ``np.triu_indices`` order."""

    a: np.ndarray
    b: np.ndarray
    accuracy: np.ndarray  # held-out pairwise ranking accuracy
    weights: np.ndarray  # (pairs, 2) ranking weights on standardised features
    mean: np.ndarray  # (N,) standardisation of the features (training rows)
    scale: np.ndarray
    n_train_pairs: int  # sampled composition pairs the SVMs were trained on
    n_test_pairs: int  # distinct-target held-out pairs each accuracy is counted over

    def best(self, k: int) -> np.ndarray:
        """Indices of the ``k`` most accurate feature pairs, best first (ties: a, then b)."""
        order = np.lexsort((self.b, self.a, -self.accuracy))
        return order[:k]


def _score_batch(
    d: np.ndarray,
    z_test: np.ndarray,
    y_test: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    C: float,
    gram: np.ndarray,
    sums: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    with threadpool_limits(1):
        start = all_active_step(gram, sums, a, b, C)
        w = fit_pair_directions(d[:, a], d[:, b], C=C, start=start)
        scores = z_test[:, a].T * w[:, :1] + z_test[:, b].T * w[:, 1:]
        acc = pairwise_ranking_accuracy(scores, y_test)
    return np.asarray(acc), w


def rank_feature_pairs(
    train: np.ndarray,
    y_train: np.ndarray,
    test: np.ndarray,
    y_test: np.ndarray,
    n_pairs: int = 1000,
    C: float = 1.0,
    seed: int | None = 0,
    n_jobs: int = 1,
    progress: ProgressCallback | None = None,
) -> PairScores:
    """Fit and score a 2D ranking SVM for every pair of the columns of ``train``/``test``.

    Args:
        train, test: (rows, N) feature values of the training and held-out rows.
        y_train, y_test: targets (Ehull, meV/atom; higher = less stable).
        n_pairs: sampled training composition pairs (with different targets).
        C: SVM penalty.
        seed: seed of the pair sample.
        n_jobs: worker processes.
        progress: called with (feature pairs done, total).

    Raises:
        ValidationError: fewer than two features, mismatched shapes, non-finite values, or
            no pair of different targets in either split.
    """
    train = np.asarray(train, dtype=float)
    test = np.asarray(test, dtype=float)
    y_train = np.asarray(y_train, dtype=float)
    y_test = np.asarray(y_test, dtype=float)
    n_feat = train.shape[1]
    if n_feat < 2 or test.shape[1] != n_feat:
        raise ValidationError(f"need at least two features in both splits, got {n_feat}")
    if len(train) != len(y_train) or len(test) != len(y_test):
        raise ValidationError("feature rows and target values differ in number")
    if not (np.isfinite(train).all() and np.isfinite(test).all()):
        raise ValidationError("features have missing or non-finite values")
    if n_pairs < 1:
        raise ValidationError(f"n_pairs must be >= 1, got {n_pairs}")
    if distinct_pairs(y_test) == 0 or distinct_pairs(y_train) == 0:
        raise ValidationError("a split has no two compositions of different Ehull to rank")
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z_train = (train - mean) / scale
    z_test = (test - mean) / scale
    i, j = sample_pairs(y_train, n_pairs, np.random.default_rng(seed))
    d = pair_differences(z_train, y_train, i, j)
    gram, sums = d.T @ d, d.sum(axis=0)

    a, b = np.triu_indices(n_feat, 1)
    total = len(a)
    spans = list(pairwise([*range(0, total, _BATCH), total]))
    accuracy = np.empty(total)
    weights = np.empty((total, 2))
    done = 0
    if effective_n_jobs(n_jobs) == 1:
        results = (_score_batch(d, z_test, y_test, a[s:e], b[s:e], C, gram, sums)
                   for s, e in spans)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_score_batch)(d, z_test, y_test, a[s:e], b[s:e], C, gram, sums)
            for s, e in spans
        )
    for (s, e), (acc, w) in zip(spans, results, strict=True):
        accuracy[s:e] = acc
        weights[s:e] = w
        done += e - s
        if progress:
            progress(done, total)
    return PairScores(a, b, accuracy, weights, mean, scale, len(i), distinct_pairs(y_test))
