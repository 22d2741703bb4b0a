"""Two objectives: P(forms) and the predicted conductivity, and how a batch trades them off.

* :class:`ConductivityPredictor`: the protocol a conductivity surrogate follows
  (``fit(x, log10_sigma)``, ``predict(x) -> (mean, sd)``, log10 of S/cm at 25 C); one that
  also has ``predict_compositions(compositions)`` (:class:`CompositionPredictor`) is handed
  the candidates' compositions instead of the recommender's inputs x;
* :class:`TrainedConductivity`: the conductivity regressor of ``loop/conductivity/``
  (``nasicon conductivity train``) behind that protocol (``[proposals] conductivity_model
  = "trained"``; :data:`CONDUCTIVITY_MODELS`);
* :class:`GPConductivity`: the default, a Gaussian process on standardised descriptors. With
  fewer than :data:`MIN_ROWS` records it predicts their mean (or -6) with the prior sd
  :data:`PRIOR_SD_DECADES`: it says it does not know rather than pretend;
* strategies over (P(forms), mean, sd): ``constrained_ei`` (expected improvement of log10
  sigma over the best observed, times P(forms)), ``pareto`` (non-dominated fronts of
  (P(forms), mean), front by front; the batch's minimum distance keeps it diverse) and
  ``desirability`` (P(forms) x a linear desirability of the mean from 1e-6 S/cm (0) to
  1e-2 S/cm (1)).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.stats import norm

OBJECTIVES = ("synthesis", "conductivity", "both")
CONDUCTIVITY_MODELS = ("gp", "trained")
MULTI_STRATEGIES = ("constrained_ei", "pareto", "desirability")
MIN_ROWS = 3
PRIOR_SD_DECADES = 2.0
DESIRABLE_LOG10 = (-6.0, -2.0)  # log10 S/cm: desirability 0 at the first, 1 at the second


@runtime_checkable
class ConductivityPredictor(Protocol):
    """Predicts log10 of the conductivity at 25 C (S/cm) with an sd."""

    def fit(self, x: np.ndarray, log10_sigma: np.ndarray) -> Any: ...

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class CompositionPredictor(Protocol):
    """A conductivity predictor that reads compositions (``loop.recommend.Compositions``)."""

    def predict_compositions(self, compositions: Any) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class TrainedConductivity:
    """The trained conductivity regressor (:class:`loop.conductivity.model.ConductivityModel`)
    as a :class:`ConductivityPredictor`.

    It was trained offline (``nasicon conductivity train``, on the registry's conductivity
    records as they were then), so :meth:`fit` keeps it as it is; it reads occupancies, not
    the recommender's inputs: the recommender calls :meth:`predict_compositions`.

    Attributes:
        model: the fitted model (``predict`` of its own feature table, ``predict_batch``).
        name: what it is, for reasons and results (e.g. its artifact's SHA-256 prefix).
    """

    model: Any
    name: str = "trained conductivity model"

    def fit(self, x: np.ndarray, log10_sigma: np.ndarray) -> TrainedConductivity:
        """Nothing to fit: the model was trained on the conductivity tables."""
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) of log10 sigma, S/cm, of rows of the model's own feature table."""
        mean, sd = self.model.predict(x)
        return np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)

    def predict_compositions(self, compositions: Any) -> tuple[np.ndarray, np.ndarray]:
        """(mean, calibrated sd) of log10 sigma at 25 C, S/cm, of each composition."""
        mean, sd = self.model.predict_batch(compositions.batch)
        return np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)


@dataclass
class GPConductivity:
    """Gaussian process on standardised inputs (constant x RBF + white noise)."""

    seed: int = 0
    fitted_: Any = field(default=None, init=False, repr=False)
    prior_: tuple[float, float] = field(default=(-6.0, PRIOR_SD_DECADES), init=False)

    def fit(self, x: np.ndarray, log10_sigma: np.ndarray) -> GPConductivity:
        """Fit on the finite rows (fewer than :data:`MIN_ROWS`: keep only the prior)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(log10_sigma, dtype=float)
        keep = np.isfinite(y)
        x, y = np.asarray(x, dtype=float)[keep], y[keep]
        self.fitted_ = None
        self.prior_ = (float(y.mean()) if len(y) else -6.0, PRIOR_SD_DECADES)
        if len(y) < MIN_ROWS:
            return self
        kernel = ConstantKernel(1.0) * RBF(3.0) + WhiteKernel(0.1)
        model = make_pipeline(
            StandardScaler(), GaussianProcessRegressor(kernel, normalize_y=True,
                                                       random_state=self.seed),
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.fitted_ = model.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) of log10 sigma, S/cm, each (N,)."""
        n = len(x)
        if self.fitted_ is None:
            mean, sd = self.prior_
            return np.full(n, mean), np.full(n, sd)
        scaler, gp = self.fitted_[0], self.fitted_[-1]
        mu, sd = gp.predict(scaler.transform(np.asarray(x, dtype=float)), return_std=True)
        return np.asarray(mu, dtype=float), np.asarray(sd, dtype=float)


def expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """EI of a maximised quantity over ``best`` (same units as the mean)."""
    sd = np.maximum(np.asarray(sd, dtype=float), 1e-9)
    z = (np.asarray(mean, dtype=float) - best) / sd
    return sd * (z * norm.cdf(z) + norm.pdf(z))


def desirability(mean: np.ndarray) -> np.ndarray:
    """Linear desirability of log10 sigma: 0 at 1e-6 S/cm, 1 at 1e-2 S/cm, clipped."""
    lo, hi = DESIRABLE_LOG10
    return np.clip((np.asarray(mean, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


def pareto_fronts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) front index (0 = non-dominated) of two maximised objectives."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rank = np.full(len(a), -1)
    left = np.arange(len(a))
    front = 0
    while len(left):
        aa, bb = a[left], b[left]
        dominated = (
            (aa[None, :] >= aa[:, None]) & (bb[None, :] >= bb[:, None])
            & ((aa[None, :] > aa[:, None]) | (bb[None, :] > bb[:, None]))
        ).any(1)  # fmt: skip
        rank[left[~dominated]] = front
        left = left[dominated]
        front += 1
    return rank


def multi_objective_scores(
    strategy: str, p_forms: np.ndarray, mean: np.ndarray, sd: np.ndarray, best: float
) -> np.ndarray:
    """Acquisition score (higher is better) of a multi-objective strategy.

    ``pareto``: minus the front index, ties within a front by P(forms) x desirability.
    """
    p = np.asarray(p_forms, dtype=float)
    if strategy == "constrained_ei":
        return expected_improvement(mean, sd, best) * p
    if strategy == "desirability":
        return p * desirability(mean)
    if strategy == "pareto":
        return -pareto_fronts(p, mean) + 0.5 * p * desirability(mean)
    raise ValueError(f"unknown multi-objective strategy {strategy!r}")
