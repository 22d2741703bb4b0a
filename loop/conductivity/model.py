"""A regressor of log10 sigma (S/cm) at 25 C with calibrated uncertainty and a domain check.

An ensemble of trees (extra trees by default) gives the mean and the spread of its trees'
predictions; the spread plus the median held-out spread is scaled by cross-conformal
calibration on leave-papers-out, composition-purged folds
(:func:`loop.conductivity.features.purged_splits`) so that mean +- sd covers 68 % and
mean +- ``scale_95 / scale_68`` sd covers 95 % of held-out papers' values. Coverage is
*measured* on folds whose scale came from the other folds.

A mobile ion with fewer than ``min_rows_per_ion`` training rows (sodium: the literature
holds a handful of Na rows against hundreds of Li rows) is out of domain: its sd is
widened by the spread of all training targets and ``in_domain`` is False with the reason.
:class:`ConductivityModel` satisfies the recommender's ``ConductivityPredictor``
protocol: ``predict(X) -> (mean_log10_sigma, sd)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loop.conductivity.features import batch_features, purged_splits
from loop.descriptors.occupancy import OccupancyBatch
from loop.errors import ValidationError

ALGORITHMS = ("extra_trees", "random_forest")
MIN_ROWS_PER_ION = 20
SD_FLOOR = 1e-3  # decades: a tree spread of 0 would give an empty interval


@dataclass(frozen=True)
class ForestSettings:
    """How the forest is built and cross-validated (shared by CV and the final fit).

    Attributes:
        algorithm: one of :data:`ALGORITHMS`.
        n_splits: leave-papers-out folds of the calibration CV.
        seed: random seed of the trees.
        n_estimators: trees per forest.
    """

    algorithm: str = "extra_trees"
    n_splits: int = 5
    seed: int = 0
    n_estimators: int = 300

    def build(self) -> Any:
        """An unfitted forest regressor.

        Raises:
            ValidationError: unknown algorithm.
        """
        from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

        if self.algorithm not in ALGORITHMS:
            raise ValidationError(
                f"algorithm {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}"
            )
        cls = ExtraTreesRegressor if self.algorithm == "extra_trees" else RandomForestRegressor
        return cls(
            n_estimators=self.n_estimators, min_samples_leaf=2, random_state=self.seed, n_jobs=1
        )


def tree_mean_sd(forest: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread (std over trees) of a fitted forest's predictions (decades)."""
    per_tree = np.stack([t.predict(X) for t in forest.estimators_])
    return per_tree.mean(0), np.maximum(per_tree.std(0), SD_FLOOR)


def _quantile(z: np.ndarray, level: float) -> float:
    """Conformal quantile with the finite-sample correction ceil((n+1) level) / n."""
    n = z.size
    q = min(1.0, np.ceil((n + 1) * level) / n)
    return float(np.quantile(z, q, method="higher"))


@dataclass
class ConductivityModel:
    """A fitted conductivity regressor (see the module docstring)."""

    feature_names: list[str]
    forest: Any
    scale_68: float
    scale_95: float
    ion_counts: dict[str, int]
    target_sd: float  # std of the training targets, decades
    spread_offset: float = 0.0  # decades added to the tree spread (median held-out spread)
    min_rows_per_ion: int = MIN_ROWS_PER_ION
    metrics: dict[str, Any] = field(default_factory=dict)

    def _matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return X.reindex(columns=self.feature_names, fill_value=0.0).to_numpy(float)
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValidationError(f"X must have {len(self.feature_names)} feature columns")
        return X

    def _is_li(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self._matrix(X)[:, self.feature_names.index("is_li")] > 0.5

    def predict(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean log10 sigma at 25 C in S/cm, calibrated sd in decades) of each row."""
        mean, spread = tree_mean_sd(self.forest, self._matrix(X))
        sd = self.scale_68 * (spread + self.spread_offset)
        ions = np.where(self._is_li(X), "Li", "Na")
        few = np.array([self.ion_counts.get(i, 0) < self.min_rows_per_ion for i in ions])
        sd = np.where(few, np.sqrt(sd**2 + self.target_sd**2), sd)
        return mean, sd

    def predict_batch(self, batch: OccupancyBatch) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` of occupancy arrays (a recommender's candidates), vectorised."""
        return self.predict(batch_features(batch))

    def interval(
        self, X: pd.DataFrame | np.ndarray, level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) log10 sigma bounds of the 68 % or 95 % prediction interval."""
        if level not in (0.68, 0.95):
            raise ValidationError("prediction intervals are calibrated at 0.68 and 0.95 only")
        mean, sd = self.predict(X)
        half = sd * (1.0 if level == 0.68 else self.scale_95 / self.scale_68)
        return mean - half, mean + half

    def domain(self, X: pd.DataFrame) -> tuple[np.ndarray, list[str | None]]:
        """(in_domain, reason or None) of each row of a feature table."""
        ions = np.where(self._is_li(X), "Li", "Na")
        unknown = [c for c in X.columns if c.startswith("amt_") and c not in self.feature_names]
        ok = np.ones(len(X), dtype=bool)
        reasons: list[str | None] = [None] * len(X)
        for i, ion in enumerate(ions):
            why = []
            n = self.ion_counts.get(str(ion), 0)
            if n < self.min_rows_per_ion:
                why.append(f"only {n} {ion} training rows (< {self.min_rows_per_ion})")
            new = [c[4:] for c in unknown if X[c].iloc[i] > 0]
            if new:
                why.append(f"element(s) {', '.join(new)} absent from the training data")
            if why:
                ok[i], reasons[i] = False, "; ".join(why)
        return ok, reasons


def _metrics(y: np.ndarray, mean: np.ndarray, ok68: np.ndarray, ok95: np.ndarray) -> dict:
    from scipy.stats import spearmanr

    rho = float(spearmanr(y, mean).statistic) if y.size > 2 and np.ptp(y) > 0 else None
    return {
        "n": int(y.size),
        "mae": float(np.abs(y - mean).mean()) if y.size else None,
        "spearman": rho,
        "coverage_68": float(ok68.mean()) if y.size else None,
        "coverage_95": float(ok95.mean()) if y.size else None,
    }


def cross_validate(
    X: pd.DataFrame,
    y: np.ndarray,
    ions: Sequence[str],
    compositions: Sequence[str],
    references: Sequence[str],
    settings: ForestSettings = ForestSettings(),
) -> dict[str, Any]:
    """Leave-papers-out, composition-purged CV with cross-conformal coverage.

    Returns: ``oof_mean``, ``oof_spread`` (arrays), ``fold`` of each row, ``scale_68``,
    ``scale_95`` (from all folds), and ``metrics``: overall and per ion MAE (decades),
    Spearman rho and measured coverage of the 68/95 % intervals, plus the coverage of the
    raw tree spread (``raw_coverage_68``: mean +- spread) to show why calibration is needed.
    """
    Xm, y = X.to_numpy(float), np.asarray(y, dtype=float)
    ions = np.asarray(ions, dtype=object)
    mean, spread = np.full(y.size, np.nan), np.full(y.size, np.nan)
    fold = np.full(y.size, -1)
    for k, (train, test) in enumerate(purged_splits(compositions, references, settings.n_splits)):
        forest = settings.build().fit(Xm[train], y[train])
        mean[test], spread[test] = tree_mean_sd(forest, Xm[test])
        fold[test] = k
    # the spread of trees at a training point is tiny, so the scale is applied to the spread
    # plus the median held-out spread (a floor for compositions already measured)
    offset = float(np.median(spread))
    z = np.abs(y - mean) / (spread + offset)
    ok68, ok95 = np.zeros(y.size, bool), np.zeros(y.size, bool)
    for k in np.unique(fold):
        other = z[fold != k]
        ok68[fold == k] = z[fold == k] <= _quantile(other, 0.68)
        ok95[fold == k] = z[fold == k] <= _quantile(other, 0.95)
    metrics = {"all": _metrics(y, mean, ok68, ok95), "per_ion": {}}
    for ion in sorted(set(ions)):
        m = ions == ion
        metrics["per_ion"][str(ion)] = _metrics(y[m], mean[m], ok68[m], ok95[m])
    metrics["raw_coverage_68"] = float((np.abs(y - mean) <= spread).mean())
    metrics.update(
        algorithm=settings.algorithm, folds=int(fold.max() + 1), n_estimators=settings.n_estimators
    )
    return {
        "oof_mean": mean,
        "oof_spread": spread,
        "fold": fold,
        "metrics": metrics,
        "scale_68": _quantile(z, 0.68),
        "scale_95": _quantile(z, 0.95),
        "offset": offset,
    }


def fit_conductivity_model(
    X: pd.DataFrame,
    y: np.ndarray,
    ions: Sequence[str],
    compositions: Sequence[str],
    references: Sequence[str],
    settings: ForestSettings = ForestSettings(),
    *,
    min_rows_per_ion: int = MIN_ROWS_PER_ION,
) -> ConductivityModel:
    """Cross-validate (metrics, calibration), then fit on every row.

    Raises:
        ValidationError: fewer than 10 rows or fewer than 2 papers.
    """
    y = np.asarray(y, dtype=float)
    if y.size < 10 or len(set(references)) < 2:
        raise ValidationError(
            f"a conductivity model needs >= 10 rows from >= 2 papers (have {y.size} rows, "
            f"{len(set(references))} papers); run nasicon import conductivity"
        )
    cv = cross_validate(X, y, ions, compositions, references, settings)
    forest = settings.build().fit(X.to_numpy(float), y)
    counts = pd.Series(list(ions)).value_counts()
    return ConductivityModel(
        feature_names=list(X.columns),
        forest=forest,
        scale_68=cv["scale_68"],
        scale_95=cv["scale_95"],
        ion_counts={str(k): int(v) for k, v in counts.items()},
        target_sd=float(np.std(y)),
        spread_offset=cv["offset"],
        min_rows_per_ion=min_rows_per_ion,
        metrics=cv["metrics"],
    )
