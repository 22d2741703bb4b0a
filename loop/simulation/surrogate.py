"""The recommender's surrogates (:mod:`loop.recommend.surrogates`) and the feature sets of a
labelled pool (:func:`feature_matrix`)."""

from __future__ import annotations

import numpy as np

from loop.recommend.features import FEATURE_SETS, element_amounts, m_elements, surrogate_features
from loop.recommend.surrogates import (
    SURROGATES,
    CommitteeSurrogate,
    EhullSurrogate,
    GPEhullSurrogate,
    MixtureSurrogate,
    Surrogate,
    make_surrogate,
)
from loop.simulation.pool import LabelledPool

__all__ = [
    "FEATURE_SETS",
    "SURROGATES",
    "CommitteeSurrogate",
    "EhullSurrogate",
    "GPEhullSurrogate",
    "MixtureSurrogate",
    "Surrogate",
    "element_amounts",
    "feature_matrix",
    "make_surrogate",
]


def feature_matrix(pool: LabelledPool, feature_set: str = "engine") -> tuple[np.ndarray, list[str]]:
    """(N, d) surrogate inputs of a pool and their names.

    Raises:
        ValidationError: unknown feature set.
    """
    elements = m_elements(pool.batch)
    x = surrogate_features(pool.batch, pool.descriptors, elements, feature_set)
    names: list[str] = []
    if feature_set in ("engine", "engine+elements"):
        from loop.descriptors import NUMERIC_DESCRIPTORS

        names += list(NUMERIC_DESCRIPTORS)
    if feature_set == "dataset":
        from loop.descriptors import COMPOSITION_DESCRIPTORS

        names += [*COMPOSITION_DESCRIPTORS, "ewald_ev_per_atom"]
    if feature_set in ("elements", "engine+elements"):
        names += [f"amount_{e}" for e in elements] + ["amount_Si", "amount_P", "amount_S"]
        if feature_set == "elements":
            names.append("n_na")
    return x, names
