"""What the model zoo knows about each model: factory, features, scope, search space.

A :class:`ModelSpec` is the single place a model is declared. Everything else (CV comparison,
tuning, champion selection, artifacts, ``nasicon predict``) works from specs, so adding a
model means adding one module with one spec and listing it in :mod:`loop.models.zoo`.

Labels everywhere are binary: 1 = synthetically accessible (GS/LS, Ehull(1000 K) <= 0),
0 = not (US). Feature matrices hold the columns named by ``features``, in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sklearn.base import BaseEstimator


class TrialLike(Protocol):
    """The part of :class:`optuna.trial.Trial` a search space uses."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


#: ``factory(random_state=..., **params) -> estimator``.
Factory = Callable[..., BaseEstimator]
#: ``search_space(trial) -> params`` (factory keyword arguments, JSON-serialisable).
SearchSpace = Callable[[TrialLike], dict[str, Any]]


@dataclass(frozen=True)
class ModelSpec:
    """Declaration of one model of the zoo.

    Attributes:
        name: registry key, also the ``algorithm`` of its model runs.
        factory: builds an unfitted estimator from ``random_state`` and keyword params.
        features: descriptor columns (from :data:`loop.descriptors.NUMERIC_DESCRIPTORS`).
        scope: one sentence for the leaderboard: what the model can and cannot see.
        complexity: rank in the declared simplicity order (lower = simpler; breaks ties).
        defaults: the untuned parameters (the factory's defaults, spelled out); these are
            also enqueued as the first trial of a study that has nothing to warm-start from.
        search_space: optuna search space, or None for a model that is never tuned.
        tune: whether ``retrain`` tunes it by default (budget choice, see benchmarks).
        deploy_params: extra factory params for the model that is saved and used for
            prediction only (e.g. SVC Platt probabilities), never for CV scores.
        calibration: probability calibration chosen by measurement (``none``, ``sigmoid``
            or ``isotonic``; :mod:`loop.models.calibration`), applied by
            ``build(calibrate=True)``, fitted inside every CV fold.
    """

    name: str
    factory: Factory
    features: tuple[str, ...]
    scope: str
    complexity: int
    defaults: Mapping[str, Any] = field(default_factory=dict)
    search_space: SearchSpace | None = None
    tune: bool = False
    deploy_params: Mapping[str, Any] = field(default_factory=dict)
    calibration: str = "none"

    def build(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        random_state: int = 0,
        deploy: bool = False,
        calibrate: bool = False,
    ) -> BaseEstimator:
        """An unfitted estimator with ``defaults`` updated by ``params``; wrapped in the
        spec's ``calibration`` when ``calibrate``. ``deploy_params`` exist to give a model
        probabilities for prediction; when a calibration does that (``calibrate`` and a
        calibration other than ``none``) they are not applied."""
        kwargs = {**self.defaults, **(params or {})}
        if deploy and not (calibrate and self.calibration != "none"):
            kwargs.update(self.deploy_params)
        estimator = self.factory(random_state=random_state, **kwargs)
        if calibrate:
            from loop.models.calibration import calibrated

            return calibrated(estimator, self.calibration, seed=random_state)
        return estimator

    @property
    def tunable(self) -> bool:
        """True when the model has a search space."""
        return self.search_space is not None
