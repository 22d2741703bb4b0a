"""Acquisition strategies behind one :class:`AcquisitionStrategy` protocol.

* ``exploit``: highest mean probability of being accessible;
* ``uncertainty``: highest binary entropy of the mean probability (closest to 0.5);
* ``ucb``: mean + kappa x spread (standard deviation) across a committee of models, or the
  members of one ensemble (the trees of a forest, a bootstrap ensemble);
* ``random``: uniform random order (the baseline).

A strategy exposes ``score(probabilities, rng)``, the vectorised acquisition over an
(N, n_models) matrix: streamed screening uses it to keep a shortlist and
:class:`loop.recommend.Recommender` to rank the candidates it picks a batch from (exclusions
and diversity live there, in :func:`loop.recommend.select_batch`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from loop.errors import ValidationError


@dataclass
class Recommendation:
    """A chosen batch, in pick order."""

    strategy: str
    indices: np.ndarray  # rows of the candidates passed in
    formulas: list[str]
    scores: np.ndarray
    mean_probability: np.ndarray
    spread: np.ndarray
    probabilities: dict[str, np.ndarray]
    reasons: list[str]
    min_distance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    log10_sigma: np.ndarray | None = None  # predicted log10 S/cm of each pick (objectives)
    log10_sigma_sd: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.formulas)

    def to_frame(self) -> pd.DataFrame:
        """One row per pick: formula, score, mean/spread of P, each model's P, reason."""
        frame = pd.DataFrame(
            {
                "formula": self.formulas,
                "strategy": self.strategy,
                "acquisition_score": self.scores,
                "p_mean": self.mean_probability,
                "p_spread": self.spread,
            }
        )
        for name, p in self.probabilities.items():
            frame[f"p_{name}"] = p
        frame["reason"] = self.reasons
        return frame


@runtime_checkable
class AcquisitionStrategy(Protocol):
    """Scores candidates from their committee probabilities (the recommender picks the batch)."""

    name: str
    tie_tolerance: float

    def score(
        self, probabilities: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Acquisition score of each row of an (N, m) probability matrix."""
        ...

    def reason(self, mean: float, spread: float, score: float, m: int) -> str:
        """One line on why a pick with this mean P, spread and score over m members won."""
        ...


def _entropy(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return -(q * np.log(q) + (1 - q) * np.log(1 - q))


@dataclass
class _Strategy:
    """Shared options, JSON form and the one-line reason of each pick."""

    tie_tolerance: float = 0.0
    name: ClassVar[str] = "base"

    def score(
        self, probabilities: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        raise NotImplementedError

    def to_json(self) -> str:
        """JSON with a ``type`` field (the strategy name) and the options."""
        return json.dumps({"type": self.name, **dataclasses.asdict(self)})

    def reason(self, mean: float, spread: float, score: float, m: int) -> str:
        raise NotImplementedError


@dataclass
class ExploitStrategy(_Strategy):
    """Highest mean P(accessible)."""

    name: ClassVar[str] = "exploit"

    def score(
        self, probabilities: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        return np.asarray(probabilities, dtype=float).reshape(len(probabilities), -1).mean(1)

    def reason(self, mean: float, spread: float, score: float, m: int) -> str:
        of = f" (mean of {m} models, sd {spread:.2f})" if m > 1 else ""
        return f"exploit: highest P(accessible) = {mean:.3f}{of}"


@dataclass
class UncertaintyStrategy(_Strategy):
    """Most uncertain: highest binary entropy of the mean probability (closest to 0.5)."""

    name: ClassVar[str] = "uncertainty"

    def score(
        self, probabilities: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        p = np.asarray(probabilities, dtype=float).reshape(len(probabilities), -1).mean(1)
        return _entropy(p)

    def reason(self, mean: float, spread: float, score: float, m: int) -> str:
        return f"uncertainty: P(accessible) = {mean:.3f} is near 0.5 (entropy {score:.3f} nats)"


@dataclass
class UCBStrategy(_Strategy):
    """Upper confidence bound: mean + kappa x sd across the committee."""

    kappa: float = 1.0
    name: ClassVar[str] = "ucb"

    def score(
        self, probabilities: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        p = np.asarray(probabilities, dtype=float).reshape(len(probabilities), -1)
        return p.mean(1) + self.kappa * p.std(1)

    def reason(self, mean: float, spread: float, score: float, m: int) -> str:
        return (
            f"ucb: mean P {mean:.3f} + {self.kappa:g} x sd {spread:.3f} over {m} members "
            f"= {score:.3f}"
        )


@dataclass
class RandomStrategy(_Strategy):
    """Uniformly random (the baseline every strategy is compared with)."""

    name: ClassVar[str] = "random"

    def score(
        self, probabilities: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        rng = rng if rng is not None else np.random.default_rng()
        return rng.random(len(probabilities))

    def reason(self, mean: float, spread: float, score: float, m: int) -> str:
        return f"random: baseline pick (P(accessible) = {mean:.3f})"


STRATEGIES: dict[str, type[_Strategy]] = {
    cls.name: cls for cls in (ExploitStrategy, UncertaintyStrategy, UCBStrategy, RandomStrategy)
}


def make_strategy(name: str, **options: Any) -> _Strategy:
    """A strategy by name (``exploit``, ``uncertainty``, ``ucb``, ``random``).

    Raises:
        ValidationError: unknown name or option.
    """
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ValidationError(f"unknown strategy {name!r} (one of {', '.join(STRATEGIES)})")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValidationError(f"strategy {name!r}: {exc}") from exc


def strategy_names() -> Sequence[str]:
    """Names accepted by :func:`make_strategy`."""
    return tuple(STRATEGIES)


def strategy_from_json(text: str) -> _Strategy:
    """A strategy from JSON ``{"type": name, ...options}``.

    Raises:
        ValidationError: not JSON, no type, unknown type or option.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"strategy JSON is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "type" not in data:
        raise ValidationError("strategy JSON must be an object with a 'type' field")
    name = data.pop("type")
    return make_strategy(name, **data)
