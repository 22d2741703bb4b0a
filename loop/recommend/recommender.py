"""One recommender shared by ``nasicon propose``, ``nasicon round`` and ``nasicon simulate``.

A :class:`Recommender` holds the surrogate it retrains on the observed signals, the
acquisition strategy, the batch selection (a minimum distance in the chemist's coordinates)
and the exclusions. The propose service hands it the screened candidates and the registry's
observations; a backtest hands it the unrevealed rows of a lookup table and the revealed
ones (the pattern of BayBE's ``simulate_experiment`` and CAMD's after-the-fact sampler):
same code, same inputs, same batch.

Signals (``signal``):

* ``labels``: formed or not, a classifier (every lab has these); default ``logistic-reg``, a
  logistic regression with a strong L2 penalty, which ranked above the extra-trees committee
  on the mean of 50 label-only backtest campaigns (docs/benchmarks.md, issue 14);
* ``ehull``: the DFT Ehull(1000 K) of computed records (a regressor, logistic link to
  P(accessible)); only for an oracle or a registry whose observations are all computed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from loop.acquisition.strategies import Recommendation, make_strategy
from loop.errors import ValidationError
from loop.recommend.batch import select_batch
from loop.recommend.data import Compositions, Observations
from loop.recommend.features import chemist_coordinates, m_elements, surrogate_features
from loop.recommend.objectives import (
    MULTI_STRATEGIES,
    OBJECTIVES,
    ConductivityPredictor,
    GPConductivity,
    expected_improvement,
    multi_objective_scores,
)
from loop.recommend.surrogates import SURROGATES, make_surrogate
from loop.settings import ProposalConfig

log = logging.getLogger(__name__)

#: Signal -> (default surrogate, what it learns from).
SIGNALS: dict[str, tuple[str, str]] = {
    "labels": (
        "logistic-reg",
        "formed or not (labels of every record), a strongly penalised logistic regression",
    ),
    "ehull": ("et+gp-ehull", "DFT Ehull(1000 K) of computed records, a regressor"),
}


def surrogate_signal(surrogate: str) -> str:
    """The signal a named surrogate learns from (``*-ehull``: ehull, else labels)."""
    return "ehull" if surrogate.endswith("-ehull") else "labels"


@dataclass
class Recommender:
    """Surrogate + acquisition + batch selection + exclusions.

    Attributes:
        strategy: acquisition strategy (``loop.acquisition``), e.g. exploit.
        signal: what the surrogate learns from (:data:`SIGNALS`).
        surrogate: surrogate name (:data:`loop.recommend.surrogates.SURROGATES`).
        feature_set: surrogate inputs (:data:`loop.recommend.features.FEATURE_SETS`).
        min_distance: smallest distance between two picks, atoms per formula unit.
        threshold_mev: Ehull at or below which a composition is accessible, meV/atom.
    """

    strategy: Any
    signal: str = "labels"
    surrogate: str = "logistic-reg"
    feature_set: str = "engine+elements+tf"
    min_distance: float = 0.2
    threshold_mev: float = 0.0
    objective: str = "synthesis"
    multi: str | None = None  # constrained_ei, pareto or desirability (objective both)
    conductivity: Callable[[int], ConductivityPredictor] | None = None  # default GP

    @property
    def name(self) -> str:
        return self.multi or str(self.strategy.name)

    def describe(self) -> dict[str, Any]:
        """What this recommender is (the ``recommender`` entry of every result)."""
        return {
            "strategy": self.name, "signal": self.signal, "surrogate": self.surrogate,
            "features": self.feature_set, "min_distance": self.min_distance,
            "objective": self.objective,
        }  # fmt: skip

    def predict_conductivity(
        self, candidates: Compositions, observed: Observations, *, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(mean, sd) of log10 sigma (S/cm) of ``candidates`` and the best observed value.

        Raises:
            ValidationError: no observation has a conductivity.
        """
        rows = np.flatnonzero(np.isfinite(observed.log10_sigma))
        if len(rows) == 0:
            raise ValidationError(
                f"objective {self.objective!r} needs conductivity records and the registry has "
                "none (record some with nasicon record conductivity, or use objective synthesis)"
            )
        obs = observed.take(rows)
        obs = obs.take(np.argsort(obs.compositions.formulas.astype(str), kind="stable"))
        elements = m_elements(candidates.batch, obs.compositions.batch)
        x_train = surrogate_features(
            obs.compositions.batch, obs.compositions.descriptors, elements, self.feature_set
        )
        x = surrogate_features(candidates.batch, candidates.descriptors, elements, self.feature_set)
        model = (self.conductivity or (lambda s: GPConductivity(seed=s)))(seed)
        model.fit(x_train, obs.log10_sigma)
        mean, sd = model.predict(x)
        return mean, sd, float(np.max(obs.log10_sigma))

    def predict(
        self, candidates: Compositions, observed: Observations, *, seed: int = 0
    ) -> np.ndarray:
        """(N, m) P(accessible) of each committee member for ``candidates``, the surrogate
        retrained on ``observed`` (rows in canonical formula order: order-independent).

        Raises:
            ValidationError: no observations, or none carries the signal.
        """
        if self.name == "random":
            return np.full((len(candidates), 1), 0.5)
        obs = observed.take(np.flatnonzero(observed.labelled))
        if self.signal == "ehull":
            obs = obs.take(np.flatnonzero(np.isfinite(obs.ehull_mev)))
        if len(obs) == 0:
            raise ValidationError(
                f"signal {self.signal!r}: none of the {len(observed)} observations carries it"
                + (" (Ehull exists for computed records only)" if self.signal == "ehull" else "")
            )
        obs = obs.take(np.argsort(obs.compositions.formulas.astype(str), kind="stable"))
        elements = m_elements(candidates.batch, obs.compositions.batch)
        x_train = surrogate_features(
            obs.compositions.batch, obs.compositions.descriptors, elements, self.feature_set
        )
        x = surrogate_features(candidates.batch, candidates.descriptors, elements, self.feature_set)
        model = make_surrogate(self.surrogate, seed, self.threshold_mev)
        model.fit(x_train, obs.labels, obs.ehull_mev if self.signal == "ehull" else None)
        return model.predict_committee(x)

    def recommend(
        self,
        candidates: Compositions,
        observed: Observations,
        batch_size: int,
        *,
        exclude: Collection[str] = (),
        seed: int = 0,
    ) -> Recommendation:
        """The next batch among ``candidates`` not in ``exclude`` (indices into
        ``candidates``); everything random derives from ``seed``.

        Raises:
            ValidationError: batch_size < 1, nothing left to choose, or no signal.
        """
        if batch_size < 1:
            raise ValidationError(f"batch size must be at least 1, got {batch_size}")
        excluded = set(exclude)
        keep = np.array([f not in excluded for f in candidates.formulas], dtype=bool)
        formulas = candidates.formulas.astype(str)
        order = np.lexsort((formulas,))  # canonical order: independent of how rows came
        order = order[keep[order]]
        if len(order) == 0:
            raise ValidationError(
                f"no candidates left ({len(candidates)} given, all measured or queued)"
            )
        pool = candidates.take(order)
        rng = np.random.default_rng(seed)
        sigma = sigma_sd = None
        if self.objective != "synthesis":
            sigma, sigma_sd, best = self.predict_conductivity(pool, observed, seed=seed)
        probs = self.predict(pool, observed, seed=seed)
        if self.objective == "conductivity":
            scores = expected_improvement(sigma, sigma_sd, best)
        elif self.objective == "both":
            scores = multi_objective_scores(
                self.multi or "constrained_ei", probs.mean(1), sigma, sigma_sd, best
            )
        else:
            scores = np.asarray(self.strategy.score(probs, rng), dtype=float)
        elements = m_elements(pool.batch)
        coords = chemist_coordinates(pool.batch, elements)
        picks, dist = select_batch(
            scores, coords, batch_size, min_distance=self.min_distance,
            tie_tolerance=self.strategy.tie_tolerance,
        )  # fmt: skip
        if len(picks) < batch_size:
            log.warning(
                "only %d of %d candidates are %.2g apart: batch of %d",
                len(picks), batch_size, self.min_distance, len(picks),
            )  # fmt: skip
        p = probs[picks]
        mean, spread = p.mean(1), p.std(1)
        reasons = []
        for i, row in enumerate(picks):
            if sigma is not None:
                reasons.append(
                    f"{self.objective} ({self.multi or 'expected improvement'}): P(forms) "
                    f"{mean[i]:.3f} +- {spread[i]:.3f}, log10 sigma {sigma[row]:.2f} +- "
                    f"{sigma_sd[row]:.2f} S/cm, score {scores[row]:.3g} [{self.signal} via "
                    f"{self.surrogate}]"
                    + (f"; {dist[i]:.2f} atoms/f.u. from the rest" if np.isfinite(dist[i]) else "")
                )
                continue
            why = self.strategy._why(
                float(mean[i]), float(spread[i]), float(scores[row]), p.shape[1]
            )
            why += f" [{self.signal} via {self.surrogate}]" if self.name != "random" else ""
            if np.isfinite(dist[i]):
                why += f"; {dist[i]:.2f} atoms/f.u. from the rest of the batch"
            reasons.append(why)
        return Recommendation(
            strategy=self.name,
            indices=order[picks],
            formulas=[str(f) for f in pool.formulas[picks]],
            scores=scores[picks],
            mean_probability=mean,
            spread=spread,
            probabilities={f"m{j}": p[:, j] for j in range(p.shape[1])},
            reasons=reasons,
            min_distance=dist,
            log10_sigma=None if sigma is None else sigma[picks],
            log10_sigma_sd=None if sigma_sd is None else sigma_sd[picks],
        )


def build_recommender(
    proposals: ProposalConfig,
    *,
    strategy: str | None = None,
    signal: str | None = None,
    surrogate: str | None = None,
    min_distance: float | None = None,
    threshold_mev: float = 0.0,
    objective: str | None = None,
    **strategy_options: Any,
) -> Recommender:
    """THE way propose, round and simulate get their recommender: the ``[proposals]``
    settings, each argument given overriding its key.

    Raises:
        ValidationError: unknown strategy, signal or surrogate; a surrogate of another
            signal; a negative minimum distance.
    """
    name = strategy or proposals.strategy
    goal = objective or proposals.objective
    if goal not in OBJECTIVES:
        raise ValidationError(f"unknown objective {goal!r} (one of {', '.join(OBJECTIVES)})")
    multi = name if name in MULTI_STRATEGIES else None
    if multi is not None and goal != "both":
        raise ValidationError(f"strategy {name!r} weighs two objectives: use objective both")
    if multi is None and goal == "both":
        multi = "constrained_ei"  # a single-objective strategy: the default trade-off
    options = {"tie_tolerance": proposals.tie_tolerance, **strategy_options}
    if name == "ucb":
        options.setdefault("kappa", proposals.kappa)
    acquisition = make_strategy("exploit" if name in MULTI_STRATEGIES else name, **options)
    sig = signal or proposals.signal
    if sig not in SIGNALS:
        raise ValidationError(f"unknown signal {sig!r} (one of {', '.join(SIGNALS)})")
    configured = proposals.surrogate
    if configured is not None and configured in SURROGATES and surrogate_signal(configured) != sig:
        configured = None  # the settings' surrogate is for the other signal
    sur = surrogate or configured or SIGNALS[sig][0]
    if sur not in SURROGATES:
        raise ValidationError(f"unknown surrogate {sur!r} (one of {', '.join(SURROGATES)})")
    if surrogate_signal(sur) != sig:
        raise ValidationError(
            f"surrogate {sur!r} learns from {surrogate_signal(sur)}, not from signal {sig!r}"
        )
    dist = proposals.min_distance if min_distance is None else min_distance
    if dist < 0:
        raise ValidationError(f"minimum distance must be >= 0, got {dist:g}")
    return Recommender(acquisition, sig, sur, proposals.features, dist, threshold_mev, goal, multi)
