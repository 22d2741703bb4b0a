"""Sure independence screening: keep the features most correlated with the target.

Every candidate of a :class:`FeatureSpace` is scored by its Pearson correlation with the
target (Ehull(1000 K), meV/atom) on the fit rows only; the ``top`` features of largest |r|
among the valid, distinct ones are kept (ties: generation order). Chunks are screened in
parallel worker processes when ``n_jobs > 1``; each returns only codes, status, duplicate
key and r per candidate (about 30 bytes), and duplicates are resolved afterwards in
generation order, so the result does not depend on ``n_jobs``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from threadpoolctl import threadpool_limits

from loop.discovery.feature_space import (
    CONSTANT,
    INVALID,
    OK,
    Block,
    FeatureSpace,
    FeatureSpaceStats,
    Projection,
)
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: progress(done, total): called as candidate features are screened.
ProgressCallback = Callable[[int, int], None]


@dataclass
class SISResult:
    """The screened features, best |r| first."""

    codes: np.ndarray  # (top, 3) feature codes of the space
    formulas: list[str]
    correlation: np.ndarray  # signed Pearson r with the target on the fit rows
    values: np.ndarray  # (top, rows) feature values on every row
    stats: FeatureSpaceStats

    def frame(self) -> pd.DataFrame:
        """Rows x screened features, columns named by formula."""
        return pd.DataFrame(self.values.T, columns=self.formulas)


def _score_blocks(
    space: FeatureSpace,
    blocks: Sequence[Block],
    proj: Projection,
    nonfit: np.ndarray,
    n_fit: int,
    syy: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(codes, status, affine key, r) of every candidate of ``blocks``."""
    codes, status, keys, corr = [], [], [], []
    with threadpool_limits(1), np.errstate(all="ignore"):
        for block in blocks:
            values = space.block_values(block)
            summary = proj.summarise(values)
            sq_fit = summary.sumsq
            if len(nonfit):
                part = values[:, nonfit]
                sq_fit = sq_fit - np.einsum("ij,ij->i", part, part)
            mean_fit = summary.dots[:, 0]
            var_fit = sq_fit / n_fit - mean_fit * mean_fit
            fragile = (summary.status == OK) & (var_fit < 1e-6 * mean_fit * mean_fit)
            if fragile.any():
                fit_mask = np.ones(values.shape[1], dtype=bool)
                fit_mask[nonfit] = False
                centred = values[fragile][:, fit_mask] - mean_fit[fragile, None]
                var_fit[fragile] = np.einsum("ij,ij->i", centred, centred) / n_fit
            r = summary.dots[:, 1] / np.sqrt(np.maximum(var_fit, 0.0) * n_fit * syy)
            r = np.where(np.isfinite(r) & (summary.status == OK), r, 0.0)
            codes.append(space.block_codes(block).astype(np.int32))
            status.append(summary.status)
            keys.append(summary.affine_key)
            corr.append(np.clip(r, -1.0, 1.0))
    return (np.concatenate(codes), np.concatenate(status), np.concatenate(keys),
            np.concatenate(corr))


def _batches(space: FeatureSpace, blocks: list[Block], n_batches: int) -> list[list[Block]]:
    """Split blocks, in order, into about ``n_batches`` groups of similar candidate counts."""
    sizes = np.array([space.block_size(b) for b in blocks])
    bounds = np.searchsorted(np.cumsum(sizes), np.linspace(0, sizes.sum(), n_batches + 1)[1:-1])
    groups, start = [], 0
    for end in [*bounds.tolist(), len(blocks)]:
        end = max(end, start)
        if end > start:
            groups.append(blocks[start:end])
        start = end
    return groups


def sure_independence_screening(
    space: FeatureSpace,
    target: np.ndarray,
    fit_rows: np.ndarray,
    top: int,
    n_jobs: int = 1,
    progress: ProgressCallback | None = None,
) -> SISResult:
    """Keep the ``top`` distinct valid features of ``space`` with the largest |r| to ``target``.

    Args:
        space: the feature space (its rows are the rows of ``target``).
        target: (rows,) target values, e.g. Ehull(1000 K) in meV/atom.
        fit_rows: boolean (rows,) mask of the rows the correlation is measured on.
        top: how many features to keep (fewer if the space has fewer).
        n_jobs: worker processes for the screen (1 = in this process).
        progress: called with (candidates screened, total candidates).

    Raises:
        ValidationError: ``top`` < 1, shapes that do not match, a non-finite target or
            fewer than three fit rows, a constant target.
    """
    y = np.asarray(target, dtype=float)
    fit = np.asarray(fit_rows, dtype=bool)
    if top < 1:
        raise ValidationError(f"top must be >= 1, got {top}")
    if y.shape != (space.n_rows,) or fit.shape != (space.n_rows,):
        raise ValidationError(
            f"target and fit_rows need {space.n_rows} rows, got {y.shape[0]} and {fit.shape[0]}"
        )
    if not np.isfinite(y[fit]).all():
        raise ValidationError("the target has missing or non-finite values on the fit rows")
    n_fit = int(fit.sum())
    if n_fit < 3:
        raise ValidationError(f"screening needs at least 3 fit rows, got {n_fit}")
    yc = np.where(fit, y - y[fit].mean(), 0.0)
    syy = float((yc * yc).sum())
    if syy == 0:
        raise ValidationError("the target is constant on the fit rows: nothing to correlate")
    proj = Projection(space.n_rows, extra=np.column_stack([fit / n_fit, yc]))
    nonfit = np.flatnonzero(~fit)

    n_jobs = effective_n_jobs(n_jobs)
    blocks = space.blocks()
    total = space.expected_candidates()
    n_batches = max(1, min(len(blocks), 64 if n_jobs == 1 else 16 * n_jobs))
    groups = _batches(space, blocks, n_batches)
    args = (proj, nonfit, n_fit, syy)
    done = 0
    results = []
    if n_jobs == 1:
        for group in groups:
            results.append(_score_blocks(space, group, *args))
            done += len(results[-1][0])
            if progress:
                progress(done, total)
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        for res in parallel(delayed(_score_blocks)(space, g, *args) for g in groups):
            results.append(res)
            done += len(res[0])
            if progress:
                progress(done, total)
    codes = np.concatenate([r[0] for r in results])
    status = np.concatenate([r[1] for r in results])
    keys = np.concatenate([r[2] for r in results])
    corr = np.concatenate([r[3] for r in results])

    ok = np.flatnonzero(status == OK)
    _, first = np.unique(keys[ok], return_index=True)
    emitted = np.sort(ok[first])
    stats = FeatureSpaceStats(
        n_candidates=len(status),
        n_generated=len(emitted),
        n_invalid=int((status == INVALID).sum()),
        n_constant=int((status == CONSTANT).sum()),
        n_duplicate=len(ok) - len(emitted),
    )
    order = np.lexsort((emitted, -np.abs(corr[emitted])))
    chosen = emitted[order[:top]]
    top_codes = codes[chosen].astype(np.int64)
    values = space.values_of(top_codes)
    formulas = [space.formula(c) for c in top_codes]
    log.info(
        "SIS: %d candidates, %d distinct valid features, kept %d (|r| %.3f..%.3f)",
        stats.n_candidates, stats.n_generated, len(chosen),
        abs(corr[chosen[0]]) if len(chosen) else 0.0,
        abs(corr[chosen[-1]]) if len(chosen) else 0.0,
    )
    return SISResult(top_codes, formulas, corr[chosen], values, stats)
