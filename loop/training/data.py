"""The training set of one retrain: labelled formulas turned into engine descriptors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loop.descriptors import NUMERIC_DESCRIPTORS, describe_formulas
from loop.errors import ValidationError
from loop.evaluation.checks import TrainingDataError, check_features, check_training_labels
from loop.models.applicability import batch_elements
from loop.models.spec import ModelSpec

#: ``source`` of a row labelled by an experiment.
EXPERIMENT = "experiment"


def training_data_sha256(
    formulas: Iterable[str], labels: Iterable[int], weights: Iterable[float] | None = None
) -> str:
    """Order-independent hex SHA-256 of the training set (formula, label, weight per row)."""
    formulas = list(formulas)
    labels = [int(v) for v in labels]
    weights_list = [1.0] * len(formulas) if weights is None else [float(w) for w in weights]
    rows = sorted(
        f"{f}\t{lab}\t{w:.12g}" for f, lab, w in zip(formulas, labels, weights_list, strict=True)
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@dataclass(frozen=True)
class TrainingSet:
    """Labelled compositions with every numeric descriptor.

    Attributes:
        formulas: canonical formulas, one per row.
        features: :data:`NUMERIC_DESCRIPTORS` columns, one row per formula.
        y: 0/1 labels (1 = accessible).
        weight: sample weights (experimental labels weigh more than DFT ones).
        source: label source per row (e.g. ``dft``, ``experiment``), if given.
        y_dft: DFT label per row (-1 where none; None: ``y`` of every non-experiment row).
        elements: (element symbols, (n, symbols) bool presence) of the compositions, for
            the applicability domain (:func:`loop.models.applicability.batch_elements`).
    """

    formulas: np.ndarray
    features: pd.DataFrame = field(repr=False)
    y: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    source: np.ndarray | None = field(default=None, repr=False)
    y_dft: np.ndarray | None = field(default=None, repr=False)
    elements: tuple[tuple[str, ...], np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.y.size)

    def X(self, spec: ModelSpec) -> np.ndarray:
        """Feature matrix of ``spec`` (its columns, in its order)."""
        return self.features[list(spec.features)].to_numpy(float)

    @property
    def sha256(self) -> str:
        """Order-independent hash of (formula, label, weight)."""
        return training_data_sha256(self.formulas, self.y, self.weight)

    @property
    def weighted(self) -> bool:
        """True when the weights are not all equal."""
        return bool(self.weight.size and not np.allclose(self.weight, self.weight[0]))

    @property
    def experimental(self) -> np.ndarray:
        """(n,) bool: rows whose label is experimental (source ``experiment``)."""
        if self.source is None:
            return np.zeros(self.y.size, dtype=bool)
        return np.asarray(self.source) == EXPERIMENT

    @property
    def labels_exp(self) -> np.ndarray:
        """Experimental label per row, -1 (no label) for the other rows."""
        return np.where(self.experimental, self.y, -1)

    @property
    def labels_dft(self) -> np.ndarray:
        """DFT label per row, -1 where the composition has none."""
        if self.y_dft is not None:
            return np.asarray(self.y_dft).astype(int)
        return np.where(self.experimental, -1, self.y)

    @property
    def experimental_weight(self) -> float | None:
        """Training weight of the experimental rows (None without any)."""
        exp = self.experimental
        return float(self.weight[exp][0]) if exp.any() else None

    def class_counts(self) -> dict[str, int]:
        """Rows per class."""
        return {"not_accessible": int((self.y == 0).sum()), "accessible": int((self.y == 1).sum())}


def training_set_from_frame(frame: pd.DataFrame, folds: int) -> TrainingSet:
    """Validate labels for ``folds``-fold CV, then describe the formulas.

    Args:
        frame: columns ``formula`` and ``label`` (0/1 or bool), optional ``weight`` and
            ``source`` (the registry's training frame) and ``dft_label`` (the DFT label of
            each row, -1 where none; rows with source ``experiment`` carry the
            experimental label in ``label``).

    Raises:
        ValidationError: a required column is missing or a label is not 0/1.
        TrainingDataError: no labels, one class, too few samples for the folds, a formula
            the engine cannot describe, or a non-finite descriptor.
    """
    missing = [c for c in ("formula", "label") if c not in frame.columns]
    if missing:
        raise ValidationError(f"training frame lacks column(s) {', '.join(missing)}")
    raw = frame["label"].map(lambda v: int(v) if isinstance(v, bool | np.bool_) else v)
    labels = pd.to_numeric(raw, errors="coerce")
    if labels.isna().any() or not labels.isin([0, 1]).all():
        bad = frame.loc[labels.isna() | ~labels.isin([0, 1]), "formula"].iloc[0]
        raise ValidationError(f"label of {bad!r} is not 0/1 (accessible = 1)")
    y = labels.to_numpy(int)
    check_training_labels(y, folds)
    table, parsed = describe_formulas(frame["formula"].astype(str).tolist())
    if parsed.errors:
        row, formula, reason = parsed.errors[0]
        raise TrainingDataError(
            f"{len(parsed.errors)} training formulas cannot be described, e.g. row {row + 1} "
            f"{formula!r}: {reason}"
        )
    features = table[list(NUMERIC_DESCRIPTORS)].reset_index(drop=True)
    check_features(features.to_numpy(float), NUMERIC_DESCRIPTORS)
    weight = (
        frame["weight"].to_numpy(float) if "weight" in frame.columns else np.ones(y.size)
    )
    if not np.all(np.isfinite(weight)) or np.any(weight <= 0):
        raise ValidationError("training weights must be finite and positive")
    source = frame["source"].astype(str).to_numpy() if "source" in frame.columns else None
    y_dft = None
    if "dft_label" in frame.columns:
        y_dft = pd.to_numeric(frame["dft_label"], errors="coerce").fillna(-1).to_numpy(int)
    return TrainingSet(
        formulas=table["formula"].to_numpy(),
        features=features,
        y=y,
        weight=weight,
        source=source,
        y_dft=y_dft,
        elements=batch_elements(parsed.batch),
    )
