"""Any fitted classifier with ``predict_proba`` as a scorer of descriptor arrays.

A model names its inputs by ``feature_names_in_`` (scikit-learn sets it when fitted on a
DataFrame), a ``features``/``feature_names_`` attribute, or an explicit list. Names are the
engine's descriptor names (:data:`loop.descriptors.NUMERIC_DESCRIPTORS`) or the DFT data
set's column names (``NNaLst``, ...), which are mapped onto them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loop.descriptors import DATASET_COLUMNS, NUMERIC_DESCRIPTORS
from loop.errors import ValidationError

#: Published data-set column -> engine descriptor name.
COLUMN_ALIASES: dict[str, str] = {column: name for name, column in DATASET_COLUMNS.items()}
KNOWN_FEATURES: frozenset[str] = frozenset(NUMERIC_DESCRIPTORS) | frozenset(COLUMN_ALIASES)


def model_features(model: Any, features: Sequence[str] | None = None) -> tuple[str, ...]:
    """The input names of ``model``: ``features`` if given, else what the model declares.

    Raises:
        ValidationError: no feature list can be found, or a name is not a known descriptor.
    """
    names = features
    for attr in ("feature_names_in_", "features", "feature_names_"):
        if names is None and getattr(model, attr, None) is not None:
            names = list(getattr(model, attr))
    if names is None:
        raise ValidationError(
            f"{type(model).__name__} declares no feature names (fit it on a DataFrame or pass "
            "the feature list)"
        )
    unknown = [n for n in names if n not in KNOWN_FEATURES]
    if unknown:
        raise ValidationError(
            f"{type(model).__name__} uses unknown feature(s) {', '.join(map(str, unknown))} "
            f"(known: {', '.join(NUMERIC_DESCRIPTORS)})"
        )
    return tuple(str(n) for n in names)


def positive_column(model: Any) -> int:
    """Column of ``predict_proba`` that holds the positive (accessible) class."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return -1
    classes = list(np.asarray(classes).tolist())
    for positive in (1, True, "1", "accessible", "synthesizable"):
        if positive in classes:
            return classes.index(positive)
    return len(classes) - 1


@dataclass(frozen=True)
class ScoringModel:
    """A named fitted classifier plus the descriptor names it reads.

    Attributes:
        name: label of the model's probability column (``p_<name>``).
        estimator: anything with ``predict_proba(X)``.
        features: input descriptor names, in the estimator's order.
    """

    name: str
    estimator: Any
    features: tuple[str, ...]

    @classmethod
    def wrap(
        cls, estimator: Any, name: str | None = None, features: Sequence[str] | None = None
    ) -> ScoringModel:
        """Wrap a fitted estimator, reading its feature list when not given."""
        if not hasattr(estimator, "predict_proba"):
            raise ValidationError(f"{type(estimator).__name__} has no predict_proba")
        return cls(name or type(estimator).__name__, estimator, model_features(estimator, features))

    def matrix(self, descriptors: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N, n_features) input matrix from descriptor arrays."""
        return np.column_stack(
            [np.asarray(descriptors[COLUMN_ALIASES.get(f, f)], dtype=float) for f in self.features]
        )

    def predict_proba(self, descriptors: Mapping[str, np.ndarray]) -> np.ndarray:
        """Probability of the accessible class for each row, (N,)."""
        x = self.matrix(descriptors)
        if len(x) == 0:
            return np.zeros(0)
        if getattr(self.estimator, "feature_names_in_", None) is not None:
            x = pd.DataFrame(x, columns=list(self.estimator.feature_names_in_), copy=False)
        proba = np.asarray(self.estimator.predict_proba(x), dtype=float)
        if proba.ndim == 1:
            return proba
        if proba.shape[1] == 1:  # fitted on one class only
            classes = getattr(self.estimator, "classes_", None)
            only_positive = classes is not None and classes[0] in (1, True, "1")
            return np.full(len(proba), 1.0 if only_positive else 0.0)
        return proba[:, positive_column(self.estimator)]


def as_scoring_models(models: Any) -> list[ScoringModel]:
    """Normalise ``models`` (None, one estimator, a ScoringModel, a list or a name->model dict)."""
    if models is None:
        return []
    if isinstance(models, Mapping):
        return [
            m if isinstance(m, ScoringModel) else ScoringModel.wrap(m, name)
            for name, m in models.items()
        ]
    if isinstance(models, ScoringModel) or hasattr(models, "predict_proba"):
        models = [models]
    out = [m if isinstance(m, ScoringModel) else ScoringModel.wrap(m) for m in models]
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        out = [ScoringModel(f"{m.name}_{i}", m.estimator, m.features) for i, m in enumerate(out)]
    return out
