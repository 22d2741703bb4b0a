"""Drop-column feature importance (the entropy paper's method).

For each descriptor the model is cross-validated without it; the importance is the rise in
CV error (1 - accuracy) and the fall in macro-F1 against the model on all its descriptors,
with the same folds, so the differences are paired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from loop.evaluation.cv import cross_validate
from loop.models.spec import ModelSpec


def drop_column_importance(
    spec: ModelSpec,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    params: Mapping[str, Any] | None = None,
    folds: int = 10,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    on_feature: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Importance of each of ``spec.features`` by refitting without it.

    Args:
        X: a frame holding at least ``spec.features``.
        on_feature: progress hook, called after each dropped column.

    Returns:
        One row per feature, most important first: ``feature``, ``error_rise``
        (CV error without it minus with it), ``f1_macro_drop``, ``f1_macro_without``.

    Raises:
        ValueError: the model needs a fixed pair of columns (the tolerance factor) or has
            fewer than two features.
    """
    features = list(spec.features)
    if spec.name.startswith("tolerance_factor") or len(features) < 2:
        raise ValueError(f"drop-column importance is undefined for {spec.name!r}")
    y = np.asarray(y).astype(int)

    def run(columns: list[str]) -> dict[str, Any]:
        estimator = spec.build(params, random_state=seed)
        return cross_validate(
            estimator,
            X[columns].to_numpy(float),
            y,
            folds=folds,
            seed=seed,
            sample_weight=sample_weight,
        ).summary

    base = run(features)
    rows = []
    for feature in features:
        without = run([f for f in features if f != feature])
        rows.append(
            {
                "feature": feature,
                "error_rise": (1 - without["accuracy"]) - (1 - base["accuracy"]),
                "f1_macro_drop": base["f1_macro"] - without["f1_macro"],
                "f1_macro_without": without["f1_macro"],
            }
        )
        if on_feature is not None:
            on_feature(feature)
    table = pd.DataFrame(rows).sort_values("error_rise", ascending=False, kind="stable")
    return table.reset_index(drop=True)
