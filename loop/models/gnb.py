"""Gaussian naive Bayes: ``gnb`` as published (Zuo et al.) and ``gnb_full`` on everything.

``gnb`` sees only the four M-site descriptors of the entropy paper (mean radius, mean
electronegativity, mean valence, configurational entropy); it cannot see Na content or the
polyanion, so on the full DFT space it is weak (the paper's domain is NZSP-like spaces
where those are fixed). ``gnb_full`` is the same model on all engine descriptors.
"""

from __future__ import annotations

from typing import Any

from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from loop.descriptors import ENTROPY_DESCRIPTORS, NUMERIC_DESCRIPTORS
from loop.models.spec import ModelSpec, TrialLike


def make_gnb(random_state: int = 0, var_smoothing: float = 1e-9) -> GaussianNB:
    """GaussianNB as published (deterministic: ``random_state`` unused)."""
    return GaussianNB(var_smoothing=var_smoothing)


def make_gnb_full(random_state: int = 0, var_smoothing: float = 1e-9) -> Pipeline:
    """Standardise, then GaussianNB (var_smoothing is relative to the largest variance)."""
    return Pipeline(
        [("scale", StandardScaler()), ("gnb", GaussianNB(var_smoothing=var_smoothing))]
    )


def gnb_space(trial: TrialLike) -> dict[str, Any]:
    """Variance smoothing is GaussianNB's only knob."""
    return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1.0, log=True)}


GNB_SPEC = ModelSpec(
    name="gnb",
    factory=make_gnb,
    features=ENTROPY_DESCRIPTORS,
    scope=(
        "entropy paper's 4 M-site descriptors, as published; blind to Na content and "
        "polyanion, so meant for NZSP-family spaces where those are fixed"
    ),
    complexity=2,
    defaults={"var_smoothing": 1e-9},
    search_space=gnb_space,
    tune=False,
    calibration="isotonic",
)

GNB_FULL_SPEC = ModelSpec(
    name="gnb_full",
    factory=make_gnb_full,
    features=NUMERIC_DESCRIPTORS,
    scope="all engine descriptors, Gaussian naive Bayes (independent features assumed)",
    complexity=3,
    defaults={"var_smoothing": 1e-9},
    search_space=gnb_space,
    tune=False,
    calibration="isotonic",
)
