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
  P(accessible)); only for an oracle or a registry whose observations are all computed;
* ``phase_fraction``: the NASICON weight fraction XRD recorded (a regressor, P(pure) from
  fraction >= 1 - impurity threshold) near the compositions that carry one, the label
  classifier elsewhere; labels only when no fraction is recorded.

The conductivity objectives predict log10 sigma at 25 C (S/cm) with ``conductivity_model``
``gp`` (a Gaussian process on the registry's 25 C records, :class:`GPConductivity`) or
``trained`` (the regressor of ``nasicon conductivity train``, which the service loads and
hands over as ``conductivity``: :class:`loop.recommend.objectives.TrainedConductivity`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from loop.acquisition.strategies import AcquisitionStrategy, Recommendation, make_strategy
from loop.errors import ValidationError
from loop.recommend.batch import select_batch
from loop.recommend.data import Compositions, Observations
from loop.recommend.features import chemist_coordinates, m_elements, surrogate_features
from loop.recommend.objectives import (
    CONDUCTIVITY_MODELS,
    MULTI_STRATEGIES,
    OBJECTIVES,
    CompositionPredictor,
    ConductivityPredictor,
    GPConductivity,
    expected_improvement,
    multi_objective_scores,
)
from loop.recommend.surrogates import SURROGATES, PhaseFractionSurrogate, make_surrogate
from loop.settings import ProposalConfig

log = logging.getLogger(__name__)

#: Signal -> (default surrogate, what it learns from).
SIGNALS: dict[str, tuple[str, str]] = {
    "labels": (
        "logistic-reg",
        "formed or not (labels of every record), a strongly penalised logistic regression",
    ),
    "ehull": ("et+gp-ehull", "DFT Ehull(1000 K) of computed records, a regressor"),
    "phase_fraction": (
        "et-fraction",
        "NASICON weight fraction from XRD where recorded (a regressor, P(pure) from fraction "
        ">= 1 - impurity threshold), the label classifier elsewhere; labels only when no "
        "fraction is recorded",
    ),
}


def surrogate_signal(surrogate: str) -> str:
    """The signal a named surrogate learns from (``*-ehull``: ehull, ``*-fraction``:
    phase_fraction, else labels)."""
    if surrogate.endswith("-ehull"):
        return "ehull"
    return "phase_fraction" if surrogate.endswith("-fraction") else "labels"


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
        objective: synthesis, conductivity or both (:data:`OBJECTIVES`).
        conductivity_model: gp or trained (:data:`CONDUCTIVITY_MODELS`).
        conductivity: factory(seed) of the conductivity predictor (None: the GP); the
            service sets it for ``trained``.
        conductivity_note: what the trained model is (artifact), named in reasons.
        impurity_threshold: secondary-phase weight fraction above which a sample is not
            pure (signal phase_fraction).
    """

    strategy: AcquisitionStrategy
    signal: str = "labels"
    surrogate: str = "logistic-reg"
    feature_set: str = "engine+elements+tf"
    min_distance: float = 0.2
    threshold_mev: float = 0.0
    objective: str = "synthesis"
    multi: str | None = None  # constrained_ei, pareto or desirability (objective both)
    conductivity: Callable[[int], ConductivityPredictor] | None = None  # default GP
    conductivity_model: str = "gp"
    conductivity_note: str = ""
    impurity_threshold: float = 0.02

    @property
    def name(self) -> str:
        return self.multi or str(self.strategy.name)

    @property
    def conductivity_label(self) -> str:
        """Which conductivity model predicts log10 sigma (for reasons and results)."""
        if self.conductivity_model == "trained":
            note = f" ({self.conductivity_note})" if self.conductivity_note else ""
            return f"trained conductivity model{note}"
        return "Gaussian process on the registry's 25 C conductivity records"

    def describe(self) -> dict[str, Any]:
        """What this recommender is (the ``recommender`` entry of every result)."""
        out = {
            "strategy": self.name, "signal": self.signal, "surrogate": self.surrogate,
            "features": self.feature_set, "min_distance": self.min_distance,
            "objective": self.objective, "learns_from": SIGNALS[self.signal][1],
        }  # fmt: skip
        if self.objective != "synthesis":
            out["conductivity_model"] = self.conductivity_model
            out["conductivity"] = self.conductivity_label
        return out

    def predict_conductivity(
        self, candidates: Compositions, observed: Observations, *, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(mean, sd) of log10 sigma (S/cm) of ``candidates`` and the best observed value.

        A predictor with ``predict_compositions`` (the trained model) reads ``candidates``
        as they are; the GP is fitted on the observations' 25 C values.

        Raises:
            ValidationError: no observation has a conductivity; conductivity_model trained
                and no trained model handed over.
        """
        if self.conductivity_model == "trained" and self.conductivity is None:
            raise ValidationError(
                "conductivity_model 'trained' needs a trained conductivity model: run "
                'nasicon conductivity train (or set [proposals] conductivity_model = "gp")'
            )
        rows = np.flatnonzero(np.isfinite(observed.log10_sigma))
        if len(rows) == 0:
            raise ValidationError(
                f"objective {self.objective!r} needs conductivity records and the registry has "
                "none (record some with nasicon record conductivity, or use objective synthesis)"
            )
        obs = observed.take(rows)
        best = float(np.max(obs.log10_sigma))
        model = (self.conductivity or (lambda s: GPConductivity(seed=s)))(seed)
        if isinstance(model, CompositionPredictor):
            mean, sd = model.predict_compositions(candidates)
            return np.asarray(mean, dtype=float), np.asarray(sd, dtype=float), best
        obs = obs.take(np.argsort(obs.compositions.formulas.astype(str), kind="stable"))
        elements = m_elements(candidates.batch, obs.compositions.batch)
        x_train = surrogate_features(
            obs.compositions.batch, obs.compositions.descriptors, elements, self.feature_set
        )
        x = surrogate_features(candidates.batch, candidates.descriptors, elements, self.feature_set)
        model.fit(x_train, obs.log10_sigma)
        mean, sd = model.predict(x)
        return mean, sd, best

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
        if isinstance(model, PhaseFractionSurrogate):
            model.impurity_threshold = self.impurity_threshold
            model.fit(x_train, obs.labels, None, obs.phase_fraction)
        else:
            model.fit(x_train, obs.labels, obs.ehull_mev if self.signal == "ehull" else None)
        return model.predict_committee(x)

    def signal_tag(self, observed: Observations) -> str:
        """``[signal via surrogate]`` of reasons; phase_fraction says how many labelled
        observations carry a fraction (none: labels only)."""
        if self.signal != "phase_fraction":
            return f"[{self.signal} via {self.surrogate}]"
        n = int(np.isfinite(observed.phase_fraction[observed.labelled]).sum())
        if n == 0:
            return f"[phase_fraction via {self.surrogate}: no fraction recorded, labels only]"
        return f"[phase_fraction via {self.surrogate}: {n} recorded fraction(s), labels elsewhere]"

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
        tag = self.signal_tag(observed)
        reasons = []
        for i, row in enumerate(picks):
            if sigma is not None:
                reasons.append(
                    f"{self.objective} ({self.multi or 'expected improvement'}): P(forms) "
                    f"{mean[i]:.3f} +- {spread[i]:.3f}, log10 sigma {sigma[row]:.2f} +- "
                    f"{sigma_sd[row]:.2f} S/cm ({self.conductivity_label}), score "
                    f"{scores[row]:.3g} {tag}"
                    + (f"; {dist[i]:.2f} atoms/f.u. from the rest" if np.isfinite(dist[i]) else "")
                )
                continue
            why = self.strategy.reason(
                float(mean[i]), float(spread[i]), float(scores[row]), p.shape[1]
            )
            why += f" {tag}" if self.name != "random" else ""
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
    conductivity_model: str | None = None,
    impurity_threshold: float = 0.02,
    **strategy_options: Any,
) -> Recommender:
    """THE way propose, round and simulate get their recommender: the ``[proposals]``
    settings, each argument given overriding its key.

    ``impurity_threshold`` (``[labels]``): where signal phase_fraction calls a sample pure.
    The trained conductivity model itself is loaded by the service and set as
    ``conductivity`` (``flows.services.conductivity.attach_conductivity_model``).

    Raises:
        ValidationError: unknown strategy, signal, surrogate or conductivity model; a
            surrogate of another signal; a negative minimum distance.
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
    cond = conductivity_model or proposals.conductivity_model
    if cond not in CONDUCTIVITY_MODELS:
        raise ValidationError(
            f"unknown conductivity model {cond!r} (one of {', '.join(CONDUCTIVITY_MODELS)})"
        )
    return Recommender(
        acquisition, sig, sur, proposals.features, dist, threshold_mev, goal, multi,
        conductivity_model=cond, impurity_threshold=impurity_threshold,
    )  # fmt: skip
