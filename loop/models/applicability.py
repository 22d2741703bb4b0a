"""Domain of applicability: is a composition like the ones a model was trained on?

:class:`ApplicabilityDomain` is fitted on the training compositions (their elements and
descriptors) and says, per candidate, whether it lies inside the training domain:

1. every element (M-site cations, polyanion centres) occurs in the training data;
2. every descriptor lies within the training range (widened by ``range_margin`` times the
   range on each side);
3. the Euclidean distance, in descriptors standardised by the training mean and sd, to the
   nearest training composition is at most the ``quantile`` of the training compositions'
   own nearest-neighbour distances (each to its nearest *other* training composition).

The first failed check is the reason, e.g. ``"element Nb not in the training data"``,
``"n_na 1 below the training range 1.2-4"``, ``"2.3 from the nearest training composition
(threshold 0.9)"``. Nearest-neighbour distances are computed as blocked matrix products
(BLAS, ``chunk`` candidates at a time, memory ``chunk x n_train``), so millions of
candidates are checked without a Python loop over rows; only the reason strings of
out-of-domain rows are formatted one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.descriptors.occupancy import OccupancyBatch
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: Default quantile of the training nearest-neighbour distances used as the threshold.
DEFAULT_QUANTILE = 0.99
#: Candidates per block of the distance computation.
DEFAULT_CHUNK = 4096


def batch_elements(batch: OccupancyBatch) -> tuple[tuple[str, ...], np.ndarray]:
    """(element symbols, (N, n_symbols) bool presence) of a batch's M and A sites."""
    from loop.chemistry import A_SITE_IONS

    m_symbols = [ion.element for ion in batch.m_ions.ions]
    symbols = tuple(dict.fromkeys([*m_symbols, *(ion.element for ion in A_SITE_IONS)]))
    col = {s: j for j, s in enumerate(symbols)}
    presence = np.zeros((len(batch), len(symbols)), dtype=bool)
    m_col = np.array([col[s] for s in m_symbols], dtype=np.intp)
    rows = np.repeat(np.arange(len(batch)), batch.m_index.shape[1])
    present = (batch.m_amount > 0).ravel()
    presence[rows[present], m_col[batch.m_index.ravel()[present]]] = True
    for j, ion in enumerate(A_SITE_IONS):
        presence[:, col[ion.element]] |= batch.a_amount[:, j] > 0
    return symbols, presence


def nearest_distances(
    Z: np.ndarray, reference: np.ndarray, *, chunk: int = DEFAULT_CHUNK, exclude_self: bool = False
) -> np.ndarray:
    """Euclidean distance of each row of ``Z`` to its nearest row of ``reference``.

    ``exclude_self`` (``Z`` is ``reference``) skips each row's distance to itself.
    """
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    minus_two_ref_t = -2.0 * reference.T
    out = np.empty(Z.shape[0])
    for start in range(0, Z.shape[0], chunk):
        block = Z[start : start + chunk]
        d2 = block @ minus_two_ref_t  # |z|^2 is added after the min (constant per row)
        d2 += ref_sq
        if exclude_self:
            idx = np.arange(block.shape[0])
            d2[idx, start + idx] = np.inf
        d2_min = d2.min(axis=1) + np.einsum("ij,ij->i", block, block)
        out[start : start + chunk] = np.sqrt(np.maximum(d2_min, 0.0))
    return out


@dataclass(frozen=True)
class DomainVerdict:
    """Per candidate: inside the training domain or not, and why not.

    Attributes:
        in_domain: (N,) bool.
        reason: (N,) str, empty for in-domain rows.
        distance: (N,) standardised distance to the nearest training composition.
        threshold: the distance threshold used.
    """

    in_domain: np.ndarray
    reason: np.ndarray = field(repr=False)
    distance: np.ndarray = field(repr=False)
    threshold: float


class ApplicabilityDomain:
    """Training-domain check of candidate compositions (see the module docstring).

    Args:
        features: descriptor names, the columns of the matrices passed to fit / check.
        quantile: quantile of the training nearest-neighbour distances used as threshold.
        range_margin: widening of each descriptor range, as a fraction of the range.
        chunk: candidates per block of the distance computation.
    """

    def __init__(
        self,
        features: Sequence[str] = NUMERIC_DESCRIPTORS,
        quantile: float = DEFAULT_QUANTILE,
        range_margin: float = 0.0,
        chunk: int = DEFAULT_CHUNK,
    ) -> None:
        self.features = tuple(features)
        self.quantile = quantile
        self.range_margin = range_margin
        self.chunk = chunk

    def fit(
        self, X: np.ndarray, elements: tuple[Sequence[str], np.ndarray]
    ) -> ApplicabilityDomain:
        """Learn the elements, ranges, scaling and distance threshold of the training set.

        Args:
            X: (n, p) training descriptors, columns ``features``.
            elements: (symbols, (n, len(symbols)) presence) of the training compositions
                (:func:`batch_elements`).

        Raises:
            ValidationError: bad shapes, fewer than two rows, non-finite descriptors or a
                quantile outside (0, 1].
        """
        X = self._check(X)
        if X.shape[0] < 2:
            raise ValidationError("the applicability domain needs at least two compositions")
        if not 0 < self.quantile <= 1:
            raise ValidationError(f"quantile must be in (0, 1], got {self.quantile}")
        if not np.all(np.isfinite(X)):
            raise ValidationError("training descriptors must be finite")
        symbols, presence = elements
        if presence.shape != (X.shape[0], len(symbols)):
            raise ValidationError("element presence must have one row per composition")
        self.elements_ = frozenset(s for s, seen in zip(symbols, presence.any(0), strict=True)
                                   if seen)
        lo, hi = X.min(0), X.max(0)
        pad = self.range_margin * (hi - lo)
        self.low_, self.high_ = lo - pad, hi + pad
        self.mean_ = X.mean(0)
        sd = X.std(0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.train_z_ = (X - self.mean_) / self.scale_
        nn = nearest_distances(self.train_z_, self.train_z_, chunk=self.chunk, exclude_self=True)
        self.train_nn_ = nn
        self.threshold_ = float(np.quantile(nn, self.quantile))
        log.info("applicability domain: %d compositions, %d elements, distance threshold %.3g",
                 X.shape[0], len(self.elements_), self.threshold_)
        return self

    def check(self, X: np.ndarray, elements: tuple[Sequence[str], np.ndarray]) -> DomainVerdict:
        """Verdict per candidate (same ``features`` columns and element form as ``fit``)."""
        if not hasattr(self, "threshold_"):
            raise ValidationError("the applicability domain is not fitted")
        X = self._check(X)
        symbols, presence = elements
        if presence.shape != (X.shape[0], len(symbols)):
            raise ValidationError("element presence must have one row per composition")
        n = X.shape[0]
        reason = np.full(n, "", dtype=object)
        unseen_cols = np.array([s not in self.elements_ for s in symbols], dtype=bool)
        unseen = presence & unseen_cols[None, :]
        bad_element = unseen.any(1)
        if bad_element.any():
            first = np.argmax(unseen[bad_element], axis=1)
            names = np.array([f"element {s} not in the training data" for s in symbols],
                             dtype=object)
            reason[bad_element] = names[first]
        finite = np.isfinite(X)
        below = (X < self.low_) | ~finite
        above = X > self.high_
        out_of_range = (below | above).any(1) & (reason == "")
        for i in np.flatnonzero(out_of_range):  # only rows already out of domain
            j = int(np.argmax(below[i] | above[i]))
            reason[i] = self._range_reason(j, X[i, j], bool(below[i, j]))
        distance = np.full(n, np.inf)
        ok = finite.all(1)
        if ok.any():
            Z = (X[ok] - self.mean_) / self.scale_
            distance[ok] = nearest_distances(Z, self.train_z_, chunk=self.chunk)
        far = (distance > self.threshold_) & (reason == "")
        for i in np.flatnonzero(far):
            reason[i] = (f"{distance[i]:.2g} from the nearest training composition "
                         f"(threshold {self.threshold_:.2g})")
        return DomainVerdict(reason == "", reason, distance, self.threshold_)

    def _range_reason(self, j: int, value: float, is_below: bool) -> str:
        name = self.features[j]
        if not np.isfinite(value):
            return f"{name} is not finite"
        side = "below" if is_below else "above"
        return (f"{name} {value:.3g} {side} the training range "
                f"{self.low_[j]:.3g}-{self.high_[j]:.3g}")

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValidationError(
                f"expected a matrix with the {len(self.features)} columns "
                f"{', '.join(self.features)}; got shape {X.shape}"
            )
        return X
