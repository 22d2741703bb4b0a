"""RBF support vector machine on all engine descriptors (standardised inside the pipeline).

CV scores use the SVC decision function (ROC-AUC needs only a ranking); the deployed model
is wrapped in a sigmoid (Platt) calibration on 5 internal folds so ``nasicon predict`` can
give a probability; that costs five extra fits, so it is not paid in every CV fold.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_svm(
    random_state: int = 0,
    C: float = 1.0,
    gamma: float = 0.05,
    class_weight: str | None = None,
    calibrated: bool = False,
) -> BaseEstimator:
    """Standardise, then RBF SVC (gamma 0.05 ~ scikit-learn's 'scale' on 19 unit features).

    ``calibrated`` wraps the pipeline in ``CalibratedClassifierCV(method="sigmoid",
    ensemble=False)`` (scikit-learn's replacement of ``SVC(probability=True)``).
    """
    svc = SVC(kernel="rbf", C=C, gamma=gamma, class_weight=class_weight, random_state=random_state)
    pipeline = Pipeline([("scale", StandardScaler()), ("svc", svc)])
    if calibrated:
        return CalibratedClassifierCV(pipeline, method="sigmoid", cv=5, ensemble=False)
    return pipeline


def svm_space(trial: TrialLike) -> dict[str, Any]:
    """Regularisation, kernel width and class weighting."""
    return {
        "C": trial.suggest_float("C", 0.1, 300.0, log=True),
        "gamma": trial.suggest_float("gamma", 1e-3, 1.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }


SPEC = ModelSpec(
    name="svm",
    factory=make_svm,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors, standardised; smooth non-linear boundary",
    complexity=6,
    defaults={"C": 1.0, "gamma": 0.05, "class_weight": None},
    search_space=svm_space,
    tune=True,
    deploy_params={"calibrated": True},
    calibration="isotonic",
)
