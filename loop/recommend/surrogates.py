"""Surrogates the recommender retrains on the observed signals every time it recommends.

A surrogate has ``fit(x, labels, ehull_mev)`` and ``predict_committee(x)``, which gives one
P(accessible) column per committee member:

* :class:`CommitteeSurrogate`: scikit-learn classifiers on the labels (``logistic-reg``, the
  label-only default: a strongly penalised logistic regression); one column per model,
  or per tree when ``expand_ensembles`` is on (what gives UCB a spread from one forest).
  A training set with one class only yields that class's frequency for every row.
* :class:`EhullSurrogate`: a forest regressor on the revealed Ehull(1000 K) (clipped to
  +-``clip_mev`` so that a few compositions thousands of meV above the hull do not dominate);
  each tree's prediction e becomes P = sigmoid((threshold - e) / scale). The regression
  target tells how far inside (or outside) the accessible region a labelled composition is,
  which a binary label does not;
* :class:`GPEhullSurrogate`: a Gaussian process on the same target (smooth, distance-aware);
* :class:`PhaseFractionSurrogate`: the label classifier, and a forest regressor on the
  NASICON weight fractions XRD recorded: a nearly pure sample (a fraction a little below
  ``1 - impurity_threshold``) is a near miss, a sample without NASICON a clear one, which
  the binary label does not tell apart. Each candidate weighs the two by the share of its
  nearest labelled neighbours that carry a fraction (labels only when none was recorded);
* :class:`MixtureSurrogate`: members side by side, one column each (``et+gp-ehull``: the
  forest and the process disagree in different places, and their mean is the best ranking
  measured in ``benchmarks/backtest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loop.acquisition.committee import committee_probabilities
from loop.errors import ValidationError


@dataclass
class CommitteeSurrogate:
    """Clones and fits ``estimators`` each round; predicts one column per member.

    Args:
        estimators: unfitted classifier templates.
        expand_ensembles: one column per tree/member of ensemble estimators.
    """

    estimators: Sequence[Any]
    expand_ensembles: bool = True
    fitted_: list[Any] = field(default_factory=list, init=False, repr=False)
    constant_: float | None = field(default=None, init=False, repr=False)

    def fit(
        self, x: np.ndarray, y: np.ndarray, ehull_mev: np.ndarray | None = None
    ) -> CommitteeSurrogate:
        """Fit a clone of every template on (x, y); ``ehull_mev`` is not used."""
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            self.fitted_, self.constant_ = [], float(y.mean()) if len(y) else 0.0
            return self
        self.constant_ = None
        self.fitted_ = [clone(e).fit(x, y) for e in self.estimators]
        return self

    def predict_committee(self, x: np.ndarray) -> np.ndarray:
        """(N, m) P(accessible) per committee member."""
        if self.constant_ is not None:
            return np.full((len(x), 1), self.constant_)
        if not self.fitted_:
            raise ValidationError("surrogate used before fit")
        return committee_probabilities(self.fitted_, x, expand_ensembles=self.expand_ensembles)


@dataclass
class EhullSurrogate:
    """A forest regressor on Ehull(1000 K); P(accessible) per tree by a logistic link.

    Args:
        estimator: unfitted regressor template (a forest: one column per tree).
        threshold_mev: Ehull at or below which a composition is accessible, meV/atom.
        scale_mev: width of the logistic link, meV/atom.
        clip_mev: training targets are clipped to +-clip_mev, meV/atom.
    """

    estimator: Any
    threshold_mev: float = 0.0
    scale_mev: float = 25.0
    clip_mev: float = 500.0
    fitted_: Any = field(default=None, init=False, repr=False)

    def fit(
        self, x: np.ndarray, y: np.ndarray, ehull_mev: np.ndarray | None = None
    ) -> EhullSurrogate:
        """Fit the regressor on the clipped Ehull of the labelled rows.

        Raises:
            ValidationError: no Ehull values (an oracle that reveals labels only).
        """
        if ehull_mev is None or np.isnan(np.asarray(ehull_mev, dtype=float)).any():
            raise ValidationError(
                "the Ehull surrogate needs the Ehull of every labelled composition; "
                "use a classifier surrogate (rf) for an oracle that reveals labels only"
            )
        target = np.clip(np.asarray(ehull_mev, dtype=float), -self.clip_mev, self.clip_mev)
        self.fitted_ = clone(self.estimator).fit(x, target)
        return self

    def predict_ehull(self, x: np.ndarray) -> np.ndarray:
        """(N, m) predicted Ehull per member (tree), meV/atom."""
        if self.fitted_ is None:
            raise ValidationError("surrogate used before fit")
        members = getattr(self.fitted_, "estimators_", None)
        if members is None:
            return np.asarray(self.fitted_.predict(x), dtype=float)[:, None]
        x = np.asarray(x, dtype=float)
        return np.column_stack([tree.predict(x) for tree in members])

    def predict_committee(self, x: np.ndarray) -> np.ndarray:
        """(N, m) P(accessible) per member: sigmoid((threshold - Ehull) / scale)."""
        z = (self.threshold_mev - self.predict_ehull(x)) / self.scale_mev
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass
class GPEhullSurrogate:
    """Gaussian-process regression on Ehull(1000 K) with standardised inputs.

    Kernel: constant x isotropic RBF + white noise (hyperparameters fitted each round,
    targets normalised). P(accessible) = sigmoid((threshold - mu) / sqrt(scale^2 +
    pi/8 sd^2)), the logistic link averaged over the predictive normal (probit approximation).
    """

    threshold_mev: float = 0.0
    scale_mev: float = 25.0
    clip_mev: float = 500.0
    length_scale: float = 3.0
    seed: int = 0
    fitted_: Any = field(default=None, init=False, repr=False)

    def fit(
        self, x: np.ndarray, y: np.ndarray, ehull_mev: np.ndarray | None = None
    ) -> GPEhullSurrogate:
        """Fit the process on the clipped Ehull of the labelled rows."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        if ehull_mev is None or np.isnan(np.asarray(ehull_mev, dtype=float)).any():
            raise ValidationError(
                "the Ehull surrogate needs the Ehull of every labelled composition; "
                "use a classifier surrogate (rf) for an oracle that reveals labels only"
            )
        kernel = ConstantKernel(1.0) * RBF(self.length_scale) + WhiteKernel(0.1)
        model = make_pipeline(
            StandardScaler(),
            GaussianProcessRegressor(kernel, normalize_y=True, random_state=self.seed),
        )
        target = np.clip(np.asarray(ehull_mev, dtype=float), -self.clip_mev, self.clip_mev)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.fitted_ = model.fit(x, target)
        return self

    def predict_ehull(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and sd of Ehull, meV/atom, each (N,)."""
        if self.fitted_ is None:
            raise ValidationError("surrogate used before fit")
        scaler, gp = self.fitted_[0], self.fitted_[-1]
        mu, sd = gp.predict(scaler.transform(x), return_std=True)
        return np.asarray(mu, dtype=float), np.asarray(sd, dtype=float)

    def predict_committee(self, x: np.ndarray) -> np.ndarray:
        """(N, 1) P(accessible)."""
        mu, sd = self.predict_ehull(x)
        z = (self.threshold_mev - mu) / np.sqrt(self.scale_mev**2 + np.pi / 8 * sd**2)
        return (1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))[:, None]


@dataclass
class MixtureSurrogate:
    """Several surrogates side by side: one column per member (its mean P(accessible)).

    Exploit then ranks by the equal-weight mean of the members, UCB by mean + kappa x the
    spread between them.
    """

    members: list[Any]

    def fit(
        self, x: np.ndarray, y: np.ndarray, ehull_mev: np.ndarray | None = None
    ) -> MixtureSurrogate:
        """Fit every member on the same rows."""
        for member in self.members:
            member.fit(x, y, ehull_mev)
        return self

    def predict_committee(self, x: np.ndarray) -> np.ndarray:
        """(N, n_members) mean P(accessible) of each member."""
        return np.column_stack([m.predict_committee(x).mean(1) for m in self.members])


#: Weight fraction below ``1 - impurity_threshold`` over which P(pure) falls by 1/e.
FRACTION_SCALE = 0.1
#: Nearest labelled neighbours whose share with a recorded fraction weighs the regressor.
FRACTION_NEIGHBOURS = 5


@dataclass
class PhaseFractionSurrogate:
    """The label classifier where no NASICON fraction is recorded, a fraction regressor
    where one is (see the module docstring).

    Per member (tree pair) j and candidate: P_j = w p_frac_j + (1 - w) p_label_j, where
    p_frac_j = 1 when tree j predicts a fraction f >= 1 - ``impurity_threshold`` (the
    label rule: pure), else exp(-(1 - impurity_threshold - f) / :data:`FRACTION_SCALE`),
    and w is the share of the candidate's :data:`FRACTION_NEIGHBOURS` nearest labelled
    rows (standardised inputs) that carry a recorded fraction.

    Args:
        classifier: the label surrogate (a :class:`CommitteeSurrogate`).
        regressor: unfitted forest regressor template (one member per tree).
        impurity_threshold: secondary-phase weight fraction above which not pure.
    """

    classifier: CommitteeSurrogate
    regressor: Any
    impurity_threshold: float = 0.02
    fitted_: Any = field(default=None, init=False, repr=False)
    scaler_: Any = field(default=None, init=False, repr=False)
    x_: np.ndarray | None = field(default=None, init=False, repr=False)
    has_fraction_: np.ndarray | None = field(default=None, init=False, repr=False)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        ehull_mev: np.ndarray | None = None,
        phase_fraction: np.ndarray | None = None,
    ) -> PhaseFractionSurrogate:
        """Fit the classifier on every row, the regressor on the rows with a fraction."""
        x = np.asarray(x, dtype=float)
        self.classifier.fit(x, y)
        frac = (
            np.full(len(x), np.nan)
            if phase_fraction is None
            else np.asarray(phase_fraction, dtype=float)
        )
        self.has_fraction_ = np.isfinite(frac)
        self.fitted_ = None
        if self.has_fraction_.any():
            rows = self.has_fraction_
            self.fitted_ = clone(self.regressor).fit(x[rows], np.clip(frac[rows], 0.0, 1.0))
            self.scaler_ = StandardScaler().fit(x)
            self.x_ = self.scaler_.transform(x)
        return self

    def weights(self, x: np.ndarray) -> np.ndarray:
        """(N,) share of each row's nearest labelled neighbours with a recorded fraction."""
        if self.fitted_ is None or self.x_ is None or self.has_fraction_ is None:
            return np.zeros(len(x))
        from sklearn.neighbors import NearestNeighbors

        k = min(FRACTION_NEIGHBOURS, len(self.x_))
        nn = NearestNeighbors(n_neighbors=k, n_jobs=1).fit(self.x_)
        _, idx = nn.kneighbors(self.scaler_.transform(np.asarray(x, dtype=float)))
        return self.has_fraction_[idx].mean(1)

    def predict_fraction(self, x: np.ndarray) -> np.ndarray:
        """(N, trees) predicted NASICON weight fraction per tree (0..1)."""
        if self.fitted_ is None:
            raise ValidationError("no phase fraction recorded: nothing to predict from")
        x = np.asarray(x, dtype=float)
        return np.column_stack([tree.predict(x) for tree in self.fitted_.estimators_])

    def predict_committee(self, x: np.ndarray) -> np.ndarray:
        """(N, m) P(pure) per member (labels only where no fraction is near)."""
        labels = self.classifier.predict_committee(x)
        if self.fitted_ is None:
            return labels
        pure = 1.0 - self.impurity_threshold
        frac = self.predict_fraction(x)
        p_frac = np.where(frac >= pure, 1.0, np.exp(-(pure - frac) / FRACTION_SCALE))
        m = max(labels.shape[1], p_frac.shape[1])
        labels = np.resize(labels.T, (m, len(x))).T  # one-class classifier: one column
        p_frac = np.resize(p_frac.T, (m, len(x))).T
        w = self.weights(x)[:, None]
        return w * p_frac + (1.0 - w) * labels


def _forest(seed: int, n: int = 300) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=n, random_state=seed, n_jobs=1)


#: Inverse L2 strength of ``logistic-reg`` on standardised inputs: 0.03 ranked best of
#: 0.01-10 in label-only backtests (``benchmarks/backtest.py``, issue 14).
LOGISTIC_REG_C = 0.03

Surrogate = (
    CommitteeSurrogate
    | EhullSurrogate
    | GPEhullSurrogate
    | MixtureSurrogate
    | PhaseFractionSurrogate
)

#: Surrogate name -> (factory(seed, threshold_mev), one-line description).
SURROGATES: dict[str, tuple[Callable[[int, float], Surrogate], str]] = {
    "rf": (
        lambda seed, thr: CommitteeSurrogate([_forest(seed)]),
        "random forest classifier on the labels (300 trees)",
    ),
    "rf-balanced": (
        lambda seed, thr: CommitteeSurrogate(
            [
                RandomForestClassifier(
                    n_estimators=300,
                    class_weight="balanced_subsample",
                    random_state=seed,
                    n_jobs=1,
                )
            ]
        ),
        "random forest classifier, class-balanced weights",
    ),
    "et": (
        lambda seed, thr: CommitteeSurrogate(
            [ExtraTreesClassifier(n_estimators=300, random_state=seed, n_jobs=1)]
        ),
        "extra-trees classifier on the labels",
    ),
    "rf+et": (
        lambda seed, thr: CommitteeSurrogate(
            [
                _forest(seed, 150),
                ExtraTreesClassifier(n_estimators=150, random_state=seed, n_jobs=1),
            ]
        ),
        "random forest and extra trees, 150 trees each",
    ),
    "gnb": (lambda seed, thr: CommitteeSurrogate([GaussianNB()]), "Gaussian naive Bayes"),
    "logistic": (
        lambda seed, thr: CommitteeSurrogate(
            [make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))]
        ),
        "standardised logistic regression",
    ),
    "logistic-reg": (
        lambda seed, thr: CommitteeSurrogate(
            [make_pipeline(StandardScaler(), LogisticRegression(C=LOGISTIC_REG_C, max_iter=3000))]
        ),
        f"standardised logistic regression, strong L2 penalty (C = {LOGISTIC_REG_C:g}): one "
        "model, so no committee spread (ucb ranks as exploit)",
    ),
    "et-ehull": (
        lambda seed, thr: EhullSurrogate(
            ExtraTreesRegressor(n_estimators=200, random_state=seed, n_jobs=1), thr
        ),
        "extra-trees regressor on the revealed Ehull(1000 K), logistic link per tree",
    ),
    "gp-ehull": (
        lambda seed, thr: GPEhullSurrogate(thr, seed=seed),
        "Gaussian-process regressor on the revealed Ehull(1000 K), standardised inputs",
    ),
    "et+gp-ehull": (
        lambda seed, thr: MixtureSurrogate(
            [
                EhullSurrogate(
                    ExtraTreesRegressor(n_estimators=200, random_state=seed, n_jobs=1), thr
                ),
                GPEhullSurrogate(thr, seed=seed),
            ]
        ),
        "extra trees and a Gaussian process on the revealed Ehull, equal-weight mixture",
    ),
    "et-fraction": (
        lambda seed, thr: PhaseFractionSurrogate(
            CommitteeSurrogate(
                [ExtraTreesClassifier(n_estimators=300, random_state=seed, n_jobs=1)]
            ),
            ExtraTreesRegressor(n_estimators=300, random_state=seed, n_jobs=1),
        ),
        "extra-trees classifier on the labels and extra-trees regressor on the recorded "
        "NASICON weight fractions (XRD), weighed by how many neighbours carry a fraction",
    ),
    "rf-ehull": (
        lambda seed, thr: EhullSurrogate(
            RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1), thr
        ),
        "random forest regressor on the revealed Ehull(1000 K), logistic link per tree",
    ),
}


def make_surrogate(name: str = "rf", seed: int = 0, threshold_mev: float = 0.0) -> Surrogate:
    """A named surrogate (see :data:`SURROGATES`).

    Raises:
        ValidationError: unknown name.
    """
    entry = SURROGATES.get(name)
    if entry is None:
        raise ValidationError(f"unknown surrogate {name!r} (one of {', '.join(SURROGATES)})")
    return entry[0](seed, threshold_mev)
