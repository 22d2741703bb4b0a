"""One-pass screening of a chunk of candidate features: validity, constancy and the keys that
find duplicates (equal up to an affine map x -> alpha x + beta, or exactly equal).

Duplicates are found by a sketch of the z-scores (their dot products with four fixed random
vectors, rounded to 1e-6, sign-normalised), so features whose z-scores agree to ~1e-6 count as
one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Status codes of a candidate feature.
OK, INVALID, CONSTANT = 0, 1, 2

_SKETCH = 4  # random projections in the duplicate key
_SKETCH_RESOLUTION = 1e6
_CONSTANT_RTOL = 1e-10
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class ChunkSummary:
    """Per-feature screening results of one block of values (rows = features)."""

    status: np.ndarray  # OK / INVALID / CONSTANT
    affine_key: np.ndarray  # uint64, equal for features equal up to alpha x + beta
    exact_key: np.ndarray  # uint64, equal for equal features
    mean: np.ndarray
    sumsq: np.ndarray  # sum over rows of x^2
    dots: np.ndarray  # (m, k) values @ extra columns of the projection


class Projection:
    """Fixed row weights for the one-pass summary of a chunk: mean, sketch and extras."""

    def __init__(self, n_rows: int, extra: np.ndarray | None = None) -> None:
        rng = np.random.default_rng(0x5EED)
        sketch = rng.standard_normal((n_rows, _SKETCH))
        sketch -= sketch.mean(axis=0)  # centred: x @ r = (x - mean) @ r
        cols = [np.full((n_rows, 1), 1.0 / n_rows), sketch]
        if extra is not None:
            cols.append(np.asarray(extra, dtype=float).reshape(n_rows, -1))
        self.matrix = np.ascontiguousarray(np.hstack(cols))
        self.n_extra = 0 if extra is None else self.matrix.shape[1] - 1 - _SKETCH

    def summarise(self, values: np.ndarray) -> ChunkSummary:
        """Screen ``values`` (m features x rows) in two passes over the data."""
        with np.errstate(all="ignore"):
            proj = values @ self.matrix
            sumsq = np.einsum("ij,ij->i", values, values)
            mean = proj[:, 0]
            n = values.shape[1]
            var = sumsq / n - mean * mean
            finite = np.isfinite(proj).all(axis=1) & np.isfinite(sumsq)
            # the one-pass variance cancels for features of tiny relative spread: redo those
            fragile = finite & (var < 1e-6 * mean * mean)
            if fragile.any():
                centred = values[fragile] - mean[fragile, None]
                var[fragile] = np.einsum("ij,ij->i", centred, centred) / n
                peak = np.abs(values[fragile]).max(axis=1)
                var[fragile] = np.where(
                    np.sqrt(var[fragile]) > _CONSTANT_RTOL * peak, var[fragile], 0.0
                )
            std = np.sqrt(np.maximum(var, 0.0))
            spread = finite & (std > _CONSTANT_RTOL * np.abs(mean)) & (std > 0)
            status = np.where(~finite, INVALID, np.where(spread, OK, CONSTANT)).astype(np.int8)
            affine = np.zeros(len(values), dtype=np.uint64)
            exact = np.zeros(len(values), dtype=np.uint64)
            ok = status == OK
            if ok.any():
                z = proj[ok, 1 : 1 + _SKETCH] / std[ok, None]
                sign = np.where(z[:, 0] >= 0, 1.0, -1.0)
                zi = np.rint(z * (sign[:, None] * _SKETCH_RESOLUTION)).astype(np.int64)
                h = np.zeros(int(ok.sum()), dtype=np.uint64)
                for k in range(_SKETCH):
                    h = (h ^ zi[:, k].astype(np.uint64)) * _MIX
                affine[ok] = h
                loc = np.rint(mean[ok] / std[ok] * 1e7).astype(np.int64).astype(np.uint64)
                lsc = np.rint(np.log2(std[ok]) * 1e7).astype(np.int64).astype(np.uint64)
                exact[ok] = (((h ^ loc) * _MIX ^ lsc) * _MIX) ^ (sign > 0).astype(np.uint64)
        return ChunkSummary(status, affine, exact, mean, sumsq, proj[:, 1 + _SKETCH :])
