"""The tolerance factor of Ouyang et al. (Nat. Commun. 2021) as two estimators on (t1, t2).

* :class:`ToleranceFactorClassifier` refits the paper's class-balanced linear SVC on
  (t1, t2) each round; its boundary is reported as ``a * t1 + t2 <= b`` (``a_``, ``b_``).
* :class:`PublishedToleranceFactor` is the fixed published line 0.203 t1 + t2 <= 0.322,
  a zero-parameter reference (``fit`` learns nothing but the class labels).

Both give the paper's Platt form ``P_stable = 1 - 1 / (1 + exp(-d))`` with ``d`` the signed
distance-like SVC score on the unstable side, i.e. ``P(accessible) = sigmoid(s)`` with
``s = decision_function(X)`` (scikit-learn convention: positive = class 1 = accessible).
t2 is in the published normalisation (Ewald^2 X R / (E_NZSP^2 * 1.02 A), dimensionless).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from loop.descriptors.tolerance_factor import PUBLISHED_INTERCEPT, PUBLISHED_SLOPE
from loop.models.spec import ModelSpec, TrialLike

FEATURES: tuple[str, ...] = ("t1", "t2")
#: Default margin scale of the published line: |w_t2| of the class-balanced linear SVC
#: (C = 10) refitted on the data set's own (t1, t2) (16.81), so the published line's
#: P_stable is about as steep as the refit's; the paper gives the line, not the SVC weights.
PUBLISHED_MARGIN_SCALE = 16.8


def _check_two_columns(X: Any, estimator: BaseEstimator) -> np.ndarray:
    X = check_array(X, dtype=float)
    if X.shape[1] != 2:
        raise ValueError(
            f"{type(estimator).__name__} takes the two columns (t1, t2); got {X.shape[1]}"
        )
    return X


def _binary_classes(y: np.ndarray) -> np.ndarray:
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.size != 2:
        raise ValueError(f"the tolerance factor needs two classes in y, got {classes.size}")
    return classes


class _PlattProba:
    """predict / predict_proba from ``decision_function`` with the paper's Platt form."""

    classes_: np.ndarray

    def decision_function(self, X: Any) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        """Columns (P(not accessible), P_stable) with P_stable = 1 - 1/(1 + exp(-d))."""
        d = -self.decision_function(X)  # the paper's d: positive on the unstable side
        p_stable = 1.0 - expit(d)
        return np.column_stack([1.0 - p_stable, p_stable])

    def predict(self, X: Any) -> np.ndarray:
        """Class labels; accessible (``classes_[1]``) on or below the line."""
        accessible = self.decision_function(X) >= 0  # checks fitted first
        return self.classes_[accessible.astype(int)]


class ToleranceFactorClassifier(_PlattProba, ClassifierMixin, BaseEstimator):
    """Class-balanced linear SVC on (t1, t2), the paper's model, refitted on new labels.

    Args:
        C: SVC regularisation (the issue's figures: C = 10 reproduces the published line).
        class_weight: ``"balanced"`` as published, or None / a dict.

    Attributes:
        coef_, intercept_: SVC score ``s = coef_ @ (t1, t2) + intercept_`` (> 0: accessible).
        a_, b_: the boundary as ``a_ * t1 + t2 <= b_`` (accessible side), NaN if the SVC
            puts no weight on t2.
    """

    #: Input descriptor names, in order (read by :func:`loop.screening.model_features`).
    features: tuple[str, ...] = FEATURES

    def __init__(self, C: float = 10.0, class_weight: str | dict | None = "balanced") -> None:
        self.C = C
        self.class_weight = class_weight

    def fit(
        self, X: Any, y: Any, sample_weight: np.ndarray | None = None
    ) -> ToleranceFactorClassifier:
        """Fit the linear SVC; ``y`` binary with the accessible class sorting last (1/True)."""
        X, y = check_X_y(X, y, dtype=float)
        _check_two_columns(X, self)
        self.classes_ = _binary_classes(y)
        svc = SVC(kernel="linear", C=self.C, class_weight=self.class_weight)
        svc.fit(X, y, sample_weight=sample_weight)
        self.coef_ = svc.coef_[0].copy()
        self.intercept_ = float(svc.intercept_[0])
        self.n_features_in_ = 2
        w1 = self.coef_[1]
        self.a_ = float(self.coef_[0] / w1) if w1 != 0 else float("nan")
        self.b_ = float(-self.intercept_ / w1) if w1 != 0 else float("nan")
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """SVC score s (positive = accessible side), in units of the SVC margin."""
        check_is_fitted(self, "coef_")
        X = _check_two_columns(X, self)
        return X @ self.coef_ + self.intercept_


class PublishedToleranceFactor(_PlattProba, ClassifierMixin, BaseEstimator):
    """The fixed published boundary ``slope * t1 + t2 <= intercept``: a reference estimator.

    Args:
        slope, intercept: the line (published: 0.203, 0.322).
        margin_scale: SVC weight on t2 that turns the distance below the line into a score
            (only the Platt probability depends on it; predictions and ROC do not).
    """

    #: Input descriptor names, in order (read by :func:`loop.screening.model_features`).
    features: tuple[str, ...] = FEATURES

    def __init__(
        self,
        slope: float = PUBLISHED_SLOPE,
        intercept: float = PUBLISHED_INTERCEPT,
        margin_scale: float = PUBLISHED_MARGIN_SCALE,
    ) -> None:
        self.slope = slope
        self.intercept = intercept
        self.margin_scale = margin_scale

    def fit(
        self, X: Any, y: Any, sample_weight: np.ndarray | None = None
    ) -> PublishedToleranceFactor:
        """Learn nothing but the labels (so it can sit in the same CV loop as the others)."""
        X, y = check_X_y(X, y, dtype=float)
        _check_two_columns(X, self)
        self.classes_ = _binary_classes(y)
        self.n_features_in_ = 2
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """margin_scale * (intercept - slope * t1 - t2): positive below the line."""
        check_is_fitted(self, "classes_")
        X = _check_two_columns(X, self)
        return self.margin_scale * (self.intercept - self.slope * X[:, 0] - X[:, 1])


def make_tolerance_factor(random_state: int = 0, C: float = 10.0) -> ToleranceFactorClassifier:
    """The refitted tolerance factor (``random_state`` unused: the SVC is deterministic)."""
    return ToleranceFactorClassifier(C=C, class_weight="balanced")


def make_published(random_state: int = 0) -> PublishedToleranceFactor:
    """The published line, nothing to set."""
    return PublishedToleranceFactor()


def tolerance_factor_space(trial: TrialLike) -> dict[str, Any]:
    """Only C moves the line."""
    return {"C": trial.suggest_float("C", 0.01, 100.0, log=True)}


SPEC = ModelSpec(
    name="tolerance_factor",
    factory=make_tolerance_factor,
    features=FEATURES,
    scope=(
        "paper's 2-D descriptor (t1, t2), class-balanced linear SVC refitted each round; "
        "a straight line, blind to everything t1 and t2 leave out"
    ),
    complexity=1,
    defaults={"C": 10.0},
    search_space=tolerance_factor_space,
    tune=False,
    calibration="sigmoid",
)

PUBLISHED_SPEC = ModelSpec(
    name="tolerance_factor_published",
    factory=make_published,
    features=FEATURES,
    scope="fixed published line 0.203 t1 + t2 <= 0.322 (reference, never refitted)",
    complexity=0,
)
