"""The published tolerance-factor check on the DFT data set's own columns.

Every retrain runs it, so a broken data path or descriptor shows at once: the published line
0.203 t1 + t2 <= 0.322 must score accuracy 0.823 / macro-F1 0.750 on all 3881 rows, and a
class-balanced linear SVC (C = 10) refitted on all rows must draw nearly the same line.

Columns (``../shared/data/nasicon_dft/SOURCE.md``): t1 = cbrt(NNaLst) + AnionChgStdLst^2,
t2 = EWaldSumLst^2 * XWithNaLst * RDiffStdLst / (EWald(Na3Zr2Si2PO12)^2 * 1.02). The frame
comes from the data set's one reader, :func:`experiments.importers.dft.read_dft_dataset`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from loop.chemistry.ions import R_NA
from loop.descriptors.tolerance_factor import NZSP_FORMULA, published_accessible
from loop.errors import ValidationError
from loop.evaluation.cv import cross_validate
from loop.models.tolerance_factor import ToleranceFactorClassifier


def dataset_t1_t2(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(t1, t2) from the data set's columns, t2 normalised by the data set's NZSP row.

    Raises:
        ValidationError: the frame has no Na3Zr2Si2PO12 row to normalise by.
    """
    nzsp = frame.loc[frame["CompName"] == NZSP_FORMULA, "EWaldSumLst"]
    if nzsp.empty:
        raise ValidationError(f"the data set has no {NZSP_FORMULA} row to normalise t2 by")
    e_nzsp = float(nzsp.iloc[0])
    t1 = np.cbrt(frame["NNaLst"].to_numpy(float)) + frame["AnionChgStdLst"].to_numpy(float) ** 2
    t2 = (
        frame["EWaldSumLst"].to_numpy(float) ** 2
        * frame["XWithNaLst"].to_numpy(float)
        * frame["RDiffStdLst"].to_numpy(float)
        / (e_nzsp**2 * R_NA)
    )
    return t1, t2


@dataclass(frozen=True)
class ReproductionResult:
    """The published line and its refit on the data set's own (t1, t2).

    Attributes:
        a, b: refitted line ``a * t1 + t2 <= b`` (class-balanced linear SVC at ``C``).
        agreement: fraction of rows the refitted line classifies as the published one does.
        accuracy, f1_macro: the published line's scores on all rows.
        cv_accuracy, cv_f1_macro: k-fold CV of the refit (None when not computed).
        n_rows: rows scored.
    """

    a: float
    b: float
    agreement: float
    accuracy: float
    f1_macro: float
    n_rows: int
    cv_accuracy: float | None = None
    cv_f1_macro: float | None = None

    def to_json(self) -> dict[str, float]:
        """The five keys of ``retrain --json``'s ``published_reproduction``."""
        d = asdict(self)
        return {k: round(float(d[k]), 4) for k in ("a", "b", "agreement", "accuracy", "f1_macro")}


def published_reproduction(
    frame: pd.DataFrame,
    *,
    C: float = 10.0,
    ehull_threshold_mev: float = 0.0,
    folds: int | None = None,
    seed: int = 0,
) -> ReproductionResult:
    """Score the published line and refit it on ``frame`` (rows of train/test.csv).

    Args:
        C: SVC regularisation of the refit.
        ehull_threshold_mev: accessible when NewEhullLst <= this, meV/atom.
        folds: also run stratified k-fold CV of the refit when given.
    """
    t1, t2 = dataset_t1_t2(frame)
    y = (frame["NewEhullLst"].to_numpy(float) <= ehull_threshold_mev).astype(int)
    X = np.column_stack([t1, t2])
    published = published_accessible(t1, t2).astype(int)
    refit = ToleranceFactorClassifier(C=C).fit(X, y)
    cv_acc = cv_f1 = None
    if folds:
        cv = cross_validate(ToleranceFactorClassifier(C=C), X, y, folds=folds, seed=seed)
        cv_acc, cv_f1 = cv.summary["accuracy"], cv.summary["f1_macro"]
    return ReproductionResult(
        a=refit.a_,
        b=refit.b_,
        agreement=float(np.mean(refit.predict(X) == published)),
        accuracy=float(accuracy_score(y, published)),
        f1_macro=float(f1_score(y, published, average="macro")),
        n_rows=int(y.size),
        cv_accuracy=cv_acc,
        cv_f1_macro=cv_f1,
    )
