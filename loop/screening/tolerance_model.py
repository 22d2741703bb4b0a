"""The published tolerance factor as a cheap probabilistic classifier (stage one of screening).

The verdict is ``0.203 t1 + t2 <= 0.322`` (Ouyang et al.). As a probability, the margin
``m = 0.322 - 0.203 t1 - t2`` goes through a logistic curve: ``fit`` learns its slope and
offset by Platt scaling on labelled rows; without labels (``fit(X)``) a fixed ``temperature``
gives ``p = 1 / (1 + exp(-m / temperature))``, which is 0.5 exactly on the published boundary.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from loop.descriptors.tolerance_factor import PUBLISHED_INTERCEPT, PUBLISHED_SLOPE


class ToleranceFactorClassifier(ClassifierMixin, BaseEstimator):
    """P(accessible) from the tolerance-factor margin; inputs are the columns (t1, t2).

    Args:
        slope: weight of t1 in the boundary (published 0.203).
        intercept: boundary offset (published 0.322).
        temperature: margin scale of the logistic curve when fitted without labels.
    """

    features = ("t1", "t2")

    def __init__(
        self,
        slope: float = PUBLISHED_SLOPE,
        intercept: float = PUBLISHED_INTERCEPT,
        temperature: float = 0.05,
    ) -> None:
        self.slope = slope
        self.intercept = intercept
        self.temperature = temperature

    def _margin(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError("ToleranceFactorClassifier expects two columns: t1, t2")
        return self.intercept - self.slope * X[:, 0] - X[:, 1]

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> ToleranceFactorClassifier:
        """Platt-scale the margin on labels ``y`` (or keep the fixed temperature)."""
        if self.temperature <= 0:
            raise ValueError("temperature must be positive")
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 2
        if y is None:
            self.coef_, self.offset_ = 1.0 / self.temperature, 0.0
            return self
        y = np.asarray(y).astype(int)
        platt = LogisticRegression(C=1e4).fit(self._margin(X)[:, None], y)
        self.coef_, self.offset_ = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(N, 2) probabilities of (not accessible, accessible)."""
        check_is_fitted(self, "coef_")
        z = np.clip(self.coef_ * self._margin(X) + self.offset_, -50, 50)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The published verdict (1 = accessible)."""
        return (self._margin(X) >= 0).astype(int)
