"""A 2D descriptor classifier: class-balanced linear SVC with the tolerance factor's Platt form.

Given two descriptor formulas (text, see :mod:`loop.discovery.formulas`), the classifier
evaluates them on a feature table (for engine formulas, the output of
:func:`loop.descriptors.describe`), standardises them on the training rows and fits
``SVC(kernel="linear", class_weight="balanced")``. Its decision value d is positive on the
accessible side; the probability is the paper's form

    P_stable = 1 - 1 / (1 + exp(-d_u)),   d_u = -d  (positive on the unstable side),

i.e. P(accessible) = 1 / (1 + exp(-d)). It is a scikit-learn classifier (``clone``,
``get_params``, ``predict_proba``), so a rediscovered tolerance factor can be registered
and used like any other model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from loop.discovery.formulas import evaluate_formula
from loop.errors import ValidationError

ENGINE_TOLERANCE_FACTOR = ("cbrt(n_na) + anion_q_std^2", "ewald_ev_per_atom^2 * x_minus_na * r_std")


def accessible_labels(ehull_mev: np.ndarray, threshold_mev: float = 0.0) -> np.ndarray:
    """1 where Ehull(1000 K) <= threshold (synthetically accessible), else 0."""
    return (np.asarray(ehull_mev, dtype=float) <= threshold_mev).astype(int)


class DescriptorClassifier(ClassifierMixin, BaseEstimator):
    """Class-balanced linear SVC in the space of two descriptor formulas.

    Args:
        formulas: the two descriptors (t1, t2) as formula text over the feature columns.
        C: SVC penalty (on standardised descriptors).

    Attributes:
        classes_: ``[0, 1]`` (1 = accessible).
        mean_, scale_: standardisation of (t1, t2) on the training rows.
        svc_: the fitted SVC.
        coef_, intercept_: d = coef_ . (t1, t2) + intercept_ in raw descriptor units.
    """

    def __init__(self, formulas: Sequence[str] = ENGINE_TOLERANCE_FACTOR, C: float = 1.0):
        self.formulas = formulas
        self.C = C

    def descriptors(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """(rows, 2) values of the two formulas on ``X``."""
        if len(self.formulas) != 2:
            raise ValidationError(f"a 2D descriptor needs two formulas, got {len(self.formulas)}")
        values = np.column_stack([evaluate_formula(f, X) for f in self.formulas])
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).any(axis=1).sum())
            raise ValidationError(
                f"descriptors {list(self.formulas)} are not finite for {bad} rows "
                "(log of a non-positive value or division by zero)"
            )
        return values

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> DescriptorClassifier:
        """Fit on a feature table and labels (1 = accessible, 0 = not)."""
        t = self.descriptors(X)
        labels = np.asarray(y).astype(int).ravel()
        if len(labels) != len(t):
            raise ValidationError(f"{len(t)} rows but {len(labels)} labels")
        if not np.isin(labels, (0, 1)).all():
            raise ValidationError("labels must be 0 (not accessible) or 1 (accessible)")
        if len(np.unique(labels)) < 2:
            raise ValidationError("the labels hold one class only: no boundary to fit")
        if self.C <= 0:
            raise ValidationError(f"C must be > 0, got {self.C}")
        self.classes_ = np.array([0, 1])
        self.mean_ = t.mean(axis=0)
        scale = t.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.svc_ = SVC(kernel="linear", C=self.C, class_weight="balanced")
        self.svc_.fit((t - self.mean_) / self.scale_, labels)
        w = self.svc_.coef_[0]
        self.coef_ = w / self.scale_
        self.intercept_ = float(self.svc_.intercept_[0] - (w * self.mean_ / self.scale_).sum())
        self.n_features_in_ = 2
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """d, positive on the accessible side (standardised-space SVC distance units)."""
        check_is_fitted(self, "svc_")
        t = self.descriptors(X)
        return self.svc_.decision_function((t - self.mean_) / self.scale_)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns [P(not accessible), P_stable] with P_stable = 1 - 1/(1 + exp(d))."""
        d = self.decision_function(X)
        p_stable = 1.0 - 1.0 / (1.0 + np.exp(np.clip(d, -700, 700)))
        return np.column_stack([1.0 - p_stable, p_stable])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(int)

    def boundary(self) -> str:
        """The accessible side as ``a*t1 + t2 <= b`` (or ``t1 ... `` when t2 has no weight)."""
        check_is_fitted(self, "svc_")
        c1, c2 = self.coef_
        c0 = self.intercept_
        if c2 != 0:
            rel = "<=" if c2 < 0 else ">="
            return f"{c1 / c2:.4g}*t1 + t2 {rel} {-c0 / c2:.4g}"
        rel = "<=" if c1 < 0 else ">="
        return f"t1 {rel} {-c0 / c1:.4g}"
