"""The model zoo: named scikit-learn estimators with their features, scope and search space.

>>> from loop.models import MODELS, get_spec
>>> get_spec("gnb").features
('r_mean_pm', 'x_mean', 'valence_mean', 's_mix_r')
"""

from __future__ import annotations

from loop.models.spec import ModelSpec, TrialLike
from loop.models.tolerance_factor import PublishedToleranceFactor, ToleranceFactorClassifier
from loop.models.zoo import (
    COMPLEXITY_ORDER,
    MODELS,
    PUBLISHED_TOLERANCE_FACTOR,
    TOLERANCE_FACTOR,
    get_spec,
    select_specs,
)

__all__ = [
    "COMPLEXITY_ORDER",
    "MODELS",
    "PUBLISHED_TOLERANCE_FACTOR",
    "TOLERANCE_FACTOR",
    "ModelSpec",
    "PublishedToleranceFactor",
    "ToleranceFactorClassifier",
    "TrialLike",
    "get_spec",
    "select_specs",
]
