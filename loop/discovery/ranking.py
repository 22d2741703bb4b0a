"""Pairwise ranking: the accuracy measure and a linear ranking SVM on pair differences.

Ranking accuracy (the issue's definition, counted exactly): over all unordered pairs
{i, j} of held-out compositions with different target (Ehull) values, the fraction whose
order by the score matches their order by the target. A pair whose scores are equal counts
as *not* matching; pairs of equal target are left out of numerator and denominator. On the
paper's test split (777 compositions, all Ehull distinct) the denominator is
777 * 776 / 2 = 301,476. A higher score means a higher (less stable) Ehull.

The counts are exact and vectorised over many score vectors at once: sort each score
vector (score ties broken by descending target, so tied scores never count), then count
strictly increasing pairs of target ranks block by block with a running histogram.

The ranking SVM is the linear L2-loss SVM without intercept on pair differences
``d = sign(y_i - y_j) (x_i - x_j)`` of standardised features: it minimises
``0.5 |w|^2 + C sum_k max(0, 1 - w . d_k)^2`` over sampled pairs, the problem
scikit-learn's ``LinearSVC(loss="squared_hinge", fit_intercept=False)`` solves (each pair
once, in a random orientation). It is solved by Newton's method on the active set, which
ends exactly once the active set repeats; :func:`fit_pair_directions` does that for
thousands of 2D problems at once.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from loop.errors import ValidationError

_BLOCK = 32  # positions per block of the concordance count


def _check_target(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != n:
        raise ValidationError(f"scores have {n} entries but the target has {y.shape[0]}")
    if not np.isfinite(y).all():
        raise ValidationError("the target has missing or non-finite values")
    return y


def distinct_pairs(y: np.ndarray) -> int:
    """Number of unordered pairs with different ``y``."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    n = int(counts.sum())
    return n * (n - 1) // 2 - int((counts * (counts - 1) // 2).sum())


def _score_order(s: np.ndarray, pre_ranks: np.ndarray) -> np.ndarray:
    """Per-row order by ascending score, tied scores by descending target rank.

    ``s`` is already arranged by descending target; rows without score ties take the
    fast unstable sort, the others a stable one (which keeps that arrangement in ties).
    """
    order = np.argsort(s, axis=1)
    ordered = np.take_along_axis(s, order, axis=1)
    tied = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(s[tied], axis=1, kind="stable")
    return order


def concordant_pairs(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each row of ``scores`` (B, n): pairs with y_i < y_j and score_i < score_j.

    Ties in score or in y never count. Exact; O(n^2 / block + n * block) per row.
    """
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    n_rows, n = s.shape
    y = _check_target(y, n)
    if n < 2:
        return np.zeros(n_rows, dtype=np.int64)
    ranks = np.unique(y, return_inverse=True)[1].astype(np.int64)
    n_ranks = int(ranks.max()) + 1
    pre = np.argsort(-ranks, kind="stable")
    order = _score_order(s[:, pre], ranks[pre])
    count_type = np.int16 if n < 2**15 else np.int32
    # positions x rows layout: every step below works on contiguous rows of n_rows values
    v = np.ascontiguousarray(ranks[pre].astype(np.intp)[order].T)  # target ranks, score order
    # rows padded off a multiple of 256: a 4 KiB row stride makes the column-wise running
    # sums below alias in cache and run several times slower
    width = n_rows + (8 if n_rows % 256 == 0 else 0)
    below_buf = np.zeros((n_ranks + 1, width), dtype=count_type)
    below = below_buf[:, :n_rows]  # below[t, b]: values < t seen so far in row b
    total = np.zeros(n_rows, dtype=np.int64)
    cols = np.arange(n_rows)[None, :]
    distinct = n_ranks == n
    upper = np.triu(np.ones((_BLOCK, _BLOCK), dtype=bool), 1)[:, :, None]
    within_type = np.int16 if _BLOCK * _BLOCK < 2**15 else np.int32
    for start in range(0, n, _BLOCK):
        blk = v[start : start + _BLOCK]
        k = blk.shape[0]
        total += below[blk, cols].sum(axis=0, dtype=np.int64)
        pairs = blk[:, None, :] < blk[None, :, :]
        pairs &= upper[:k, :k]
        total += pairs.reshape(k * k, n_rows).view(np.uint8).sum(axis=0, dtype=within_type)
        if start + k < n:
            hist = np.zeros((n_ranks, width), dtype=count_type)[:, :n_rows]
            if distinct:
                hist[blk, cols] = 1
            else:
                np.add.at(hist, (blk, np.broadcast_to(cols, blk.shape)), 1)
            np.add.accumulate(hist, axis=0, dtype=count_type, out=hist)
            below[1:] += hist
    return total


def pairwise_ranking_accuracy(scores: np.ndarray, y: np.ndarray) -> np.ndarray | float:
    """Fraction of distinct-y pairs ordered the same way by score and by y.

    ``scores`` is (n,) or (B, n); returns a float or (B,) array. Score ties count as wrong.
    """
    scores = np.asarray(scores, dtype=float)
    total = distinct_pairs(y)
    if total == 0:
        raise ValidationError("all target values are equal: no pair to rank")
    acc = concordant_pairs(scores, y) / total
    return float(acc[0]) if scores.ndim == 1 else acc


def sample_pairs(
    y: np.ndarray, n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` index pairs (i, j) with y_i != y_j, drawn uniformly with replacement.

    When the data hold no more distinct-y pairs than ``n_pairs``, all of them are returned.
    """
    y = np.asarray(y)
    n = len(y)
    total = distinct_pairs(y)
    if total == 0:
        raise ValidationError("all target values are equal: no pair to rank")
    if total <= n_pairs:
        i, j = np.triu_indices(n, 1)
        keep = y[i] != y[j]
        return i[keep], j[keep]
    out_i, out_j, have = [], [], 0
    while have < n_pairs:
        need = int((n_pairs - have) * 1.2) + 16
        i = rng.integers(0, n, need)
        j = rng.integers(0, n, need)
        keep = y[i] != y[j]
        out_i.append(i[keep])
        out_j.append(j[keep])
        have += int(keep.sum())
    return np.concatenate(out_i)[:n_pairs], np.concatenate(out_j)[:n_pairs]


def pair_differences(
    x: np.ndarray, y: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Oriented differences sign(y_i - y_j) (x_i - x_j): a good score has w . d > 0."""
    return (x[i] - x[j]) * np.sign(y[i] - y[j])[:, None]


def all_active_step(
    gram: np.ndarray, sums: np.ndarray, a: np.ndarray, b: np.ndarray, C: float = 1.0
) -> np.ndarray:
    """First Newton iterate from w = 0 (every pair active) of the 2D problems (a, b).

    ``gram`` = D^T D (N, N) and ``sums`` = D^T 1 (N,) of the oriented differences D, so
    one matrix product serves every feature pair: w = (I + 2C G_ab)^-1 2C s_ab.
    """
    c2 = 2.0 * C
    h11 = 1.0 + c2 * gram[a, a]
    h12 = c2 * gram[a, b]
    h22 = 1.0 + c2 * gram[b, b]
    g1, g2 = c2 * sums[a], c2 * sums[b]
    det = h11 * h22 - h12 * h12
    return np.column_stack([(h22 * g1 - h12 * g2) / det, (h11 * g2 - h12 * g1) / det])


def fit_pair_directions(
    u: np.ndarray,
    v: np.ndarray,
    C: float = 1.0,
    max_iter: int = 100,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Ranking-SVM weights of many 2D problems at once.

    Args:
        u, v: (P, B) oriented pair differences of the first and second feature of B
            feature pairs (P sampled composition pairs each).
        C: SVM penalty.
        max_iter: Newton iterations at most (typically 2-5 are needed).
        start: (B, 2) the all-active first iterate (:func:`all_active_step`), if known.

    Returns:
        (B, 2) weights w minimising 0.5 |w|^2 + C sum_k max(0, 1 - w1 u_k - w2 v_k)^2.
    """
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    n_prob = u.shape[1]
    w = np.zeros((n_prob, 2)) if start is None else np.array(start, dtype=float)
    todo = np.arange(n_prob)
    active_prev: np.ndarray | None = None
    if start is not None:
        active_prev = np.ones(u.shape, dtype=bool)
    c2 = 2.0 * C
    for _ in range(max_iter):
        uu, vv = u[:, todo], v[:, todo]
        margin = 1.0 - uu * w[todo, 0] - vv * w[todo, 1]
        active = margin > 0
        if active_prev is not None:
            same = (active == active_prev).all(axis=0)
            if same.any():
                todo, uu, vv = todo[~same], uu[:, ~same], vv[:, ~same]
                margin, active = margin[:, ~same], active[:, ~same]
            if len(todo) == 0:
                break
        ua = np.where(active, uu, 0.0)
        va = np.where(active, vv, 0.0)
        g1 = w[todo, 0] - c2 * np.einsum("pb,pb->b", ua, margin)
        g2 = w[todo, 1] - c2 * np.einsum("pb,pb->b", va, margin)
        h11 = 1.0 + c2 * np.einsum("pb,pb->b", ua, uu)
        h12 = c2 * np.einsum("pb,pb->b", ua, vv)
        h22 = 1.0 + c2 * np.einsum("pb,pb->b", va, vv)
        det = h11 * h22 - h12 * h12
        w[todo, 0] -= (h22 * g1 - h12 * g2) / det
        w[todo, 1] -= (h11 * g2 - h12 * g1) / det
        active_prev = active
    return w


def fit_ranking_svm(d: np.ndarray, C: float = 1.0, max_iter: int = 100) -> np.ndarray:
    """Weights (k,) of the ranking SVM on oriented differences ``d`` (P, k) (Newton)."""
    d = np.asarray(d, dtype=float)
    w = np.zeros(d.shape[1])
    active_prev = None
    for _ in range(max_iter):
        margin = 1.0 - d @ w
        active = margin > 0
        if active_prev is not None and np.array_equal(active, active_prev):
            break
        da = d[active]
        grad = w - 2.0 * C * da.T @ margin[active]
        hess = np.eye(len(w)) + 2.0 * C * da.T @ da
        w = w - np.linalg.solve(hess, grad)
        active_prev = active
    return w


class RankingSVM(RegressorMixin, BaseEstimator):
    """Linear ranking SVM: a score whose order follows the target's (higher y, higher score).

    Features are standardised on the training rows; ``n_pairs`` composition pairs with
    different targets are sampled (seeded by ``random_state``) and the L2-loss linear SVM
    of the module docstring is fitted to their differences.

    Args:
        n_pairs: sampled training pairs.
        C: SVM penalty.
        random_state: seed of the pair sample.

    Attributes:
        mean_, scale_: standardisation of the training features.
        coef_: weights on standardised features; ``coef_raw_`` on the raw features.
        n_pairs_: pairs actually used.
    """

    def __init__(self, n_pairs: int = 1000, C: float = 1.0, random_state: int | None = 0):
        self.n_pairs = n_pairs
        self.C = C
        self.random_state = random_state

    def fit(self, X, y) -> RankingSVM:
        X, y = validate_data(self, X, y, dtype=float, y_numeric=True)
        if self.n_pairs < 1:
            raise ValidationError(f"n_pairs must be >= 1, got {self.n_pairs}")
        if self.C <= 0:
            raise ValidationError(f"C must be > 0, got {self.C}")
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        z = (X - self.mean_) / self.scale_
        rng = np.random.default_rng(self.random_state)
        i, j = sample_pairs(y, self.n_pairs, rng)
        self.n_pairs_ = len(i)
        self.coef_ = fit_ranking_svm(pair_differences(z, y, i, j), C=self.C)
        self.coef_raw_ = self.coef_ / self.scale_
        return self

    def predict(self, X) -> np.ndarray:
        """Ranking score (arbitrary units, increasing with the target)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=float, reset=False)
        return ((X - self.mean_) / self.scale_) @ self.coef_

    def score(self, X, y, sample_weight=None) -> float:
        """Pairwise ranking accuracy (module docstring) of the score on (X, y)."""
        return float(pairwise_ranking_accuracy(self.predict(X), y))
