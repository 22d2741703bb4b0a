"""Checks a training set must pass before any model is fitted (or any run is stored)."""

from __future__ import annotations

import numpy as np

from loop.errors import ValidationError

#: Display names of the two labels.
CLASS_NAMES: dict[int, str] = {0: "not accessible", 1: "accessible"}


class TrainingDataError(ValidationError):
    """The labelled data cannot support the requested training or cross-validation."""


def check_training_labels(y: np.ndarray, folds: int) -> None:
    """Refuse empty, single-class or too-small label sets for ``folds``-fold stratified CV.

    Raises:
        TrainingDataError: with one sentence saying what is missing and what to do.
    """
    y = np.asarray(y)
    if folds < 2:
        raise TrainingDataError(f"--folds must be at least 2 (got {folds})")
    if y.size == 0:
        raise TrainingDataError(
            "no labelled data: there are no DFT or experimental labels to train on "
            "(import the DFT data set or record synthesis outcomes first)"
        )
    values, counts = np.unique(y, return_counts=True)
    if not set(values.tolist()) <= {0, 1}:
        raise TrainingDataError(f"labels must be 0/1 (not accessible/accessible), got {values}")
    if values.size < 2:
        only = CLASS_NAMES[int(values[0])]
        raise TrainingDataError(
            f"only one class in the labels (all {y.size} are {only!r}); a classifier needs "
            "both accessible and not-accessible examples"
        )
    if y.size < folds:
        raise TrainingDataError(
            f"{y.size} labelled samples are fewer than the {folds} folds; "
            "lower --folds or add labels"
        )
    minority = int(values[np.argmin(counts)])
    if counts.min() < folds:
        raise TrainingDataError(
            f"the {CLASS_NAMES[minority]!r} class has {counts.min()} samples, fewer than the "
            f"{folds} folds of stratified CV; lower --folds to at most {counts.min()} "
            "or add labels"
        )


def check_features(X: np.ndarray, names: tuple[str, ...] | list[str]) -> None:
    """Refuse non-finite descriptor values (a broken descriptor shows here, by name).

    Raises:
        TrainingDataError: naming the first bad column and how many rows are affected.
    """
    X = np.asarray(X, dtype=float)
    bad = ~np.isfinite(X)
    if bad.any():
        col = int(np.argmax(bad.any(axis=0)))
        raise TrainingDataError(
            f"descriptor {names[col]!r} is not finite for {int(bad[:, col].sum())} rows"
        )
