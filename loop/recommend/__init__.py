"""The recommender shared by propose, round and simulate (surrogate + acquisition + batch)."""

from loop.recommend.batch import select_batch
from loop.recommend.data import Compositions, Observations
from loop.recommend.features import (
    FEATURE_SETS,
    NEAR_IDENTICAL,
    chemist_coordinates,
    element_amounts,
    m_elements,
    surrogate_features,
)
from loop.recommend.recommender import (
    SIGNALS,
    Recommender,
    build_recommender,
    surrogate_signal,
)

__all__ = [
    "FEATURE_SETS",
    "NEAR_IDENTICAL",
    "SIGNALS",
    "Compositions",
    "Observations",
    "Recommender",
    "build_recommender",
    "chemist_coordinates",
    "element_amounts",
    "m_elements",
    "select_batch",
    "surrogate_features",
    "surrogate_signal",
]
