"""What the propose service takes and gives: request, plan, proposals, results (plain data)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.importers.design_spaces import load_space
from loop.acquisition import AcquisitionStrategy as Strategy
from loop.chemistry import NasiconComposition
from loop.recommend import Observations, Recommender, build_recommender
from loop.screening import ScoringModel, ScreeningResult
from loop.settings import LabelConfig, NasiconConfig, ProposalConfig
from loop.spaces import DesignSpace
from registry import ModelRunRecord, ProposalRecord, QueueSnapshot

#: Same arguments as :func:`loop.screening.screen_space` (e.g. shards spread over tasks).
Screen = Callable[..., ScreeningResult]


@dataclass(frozen=True)
class ProposeRequest:
    """What to propose: a space, a strategy, a batch size and the screening options.

    Attributes:
        fraction: share of each chunk the champion (or committee) scores.
        shortlist: best screened candidates kept for the diverse pick.
        limit: screen only the first ``limit`` compositions of the space.
        seed: seed of the random strategy, of ties and of the recommender's surrogate.
        recommender: what chooses the batch among the screened rows (None: the strategy
            with the ``[proposals]`` defaults, :func:`loop.recommend.build_recommender`).
        labels: how outcomes become the labels the recommender learns from.
    """

    space: DesignSpace
    strategy: Strategy
    batch: int
    fraction: float = 0.05
    shortlist: int = 2000
    limit: int | None = None
    seed: int = 0
    recommender: Recommender | None = None
    labels: LabelConfig = field(default_factory=LabelConfig)

    def chooser(self) -> Recommender:
        """The recommender of this request (one is built when none was given)."""
        if self.recommender is not None:
            return self.recommender
        rec = build_recommender(ProposalConfig(), strategy=self.strategy.name)
        rec.strategy = self.strategy
        return rec

    @classmethod
    def from_config(
        cls,
        config: NasiconConfig,
        *,
        space: str | None = None,
        strategy: str | None = None,
        batch: int | None = None,
    ) -> ProposeRequest:
        """The ``[proposals]`` settings (space, strategy, batch, stage-2 fraction, the
        recommender with the trained conductivity model when ``conductivity_model`` is
        trained), with ``space``, ``strategy`` and ``batch`` overriding them when given.

        Raises:
            ValidationError: a bad setting; conductivity_model trained without a model.
        """
        from flows.services.conductivity import attach_conductivity_model

        recommender = build_recommender(
            config.proposals, strategy=strategy,
            threshold_mev=config.labels.ehull_threshold_mev,
            impurity_threshold=config.labels.impurity_threshold,
        )  # fmt: skip
        attach_conductivity_model(recommender, config)
        return cls(
            load_space(space or config.proposals.space),
            recommender.strategy,
            batch or config.proposals.batch,
            fraction=config.proposals.stage2_fraction,
            recommender=recommender,
            labels=config.labels,
        )


@dataclass(frozen=True)
class ProposalPlan:
    """What :func:`plan_proposals` read: models, round, queue (one read-only unit)."""

    champion: ModelRunRecord
    cheap: tuple[ScoringModel, ...]
    expensive: tuple[ScoringModel, ...]  # the champion first
    queue: QueueSnapshot
    round_number: int | None
    domain: Any = None  # the champion round's ApplicabilityDomain (None: not stored)
    observations: Observations | None = None

    @property
    def models(self) -> tuple[ScoringModel, ...]:
        """Every model, cheap ones first."""
        return (*self.cheap, *self.expensive)


@dataclass(frozen=True)
class Proposal:
    """One proposed composition (``composition`` None: read back from the registry)."""

    formula: str
    composition: NasiconComposition | None
    probabilities: dict[str, float]
    acquisition_score: float | None
    strategy: str
    reason: str | None
    model_run_id: int | None
    id: int | None = None
    status: str | None = None
    in_domain: bool | None = None  # in the training domain of the champion's round
    domain_reason: str | None = None  # why not (None in the domain or not checked)
    objectives: dict[str, Any] = field(default_factory=dict)  # p_forms, ..., objective, signal

    def item(self) -> dict[str, Any]:
        """The item :meth:`registry.repositories.ProposalRepository.add` stores."""
        return {
            "composition": self.composition,
            "strategy": self.strategy,
            "model_run_id": self.model_run_id,
            "probabilities": self.probabilities,
            "acquisition_score": self.acquisition_score,
            "reason": self.reason,
            "in_domain": self.in_domain,
            "domain_reason": self.domain_reason,
            **self.objectives,
        }

    def to_dict(self, champion: str) -> dict[str, Any]:
        """JSON-ready fields, with P of the champion and the mean P over every model."""
        p = self.probabilities
        out = {
            k: v for k, v in dataclasses.asdict(self).items()
            if k not in ("composition", "objectives")
        }  # fmt: skip
        out.update(self.objectives)
        out["p_champion"] = p.get(champion)
        out["p_mean"] = float(np.mean(list(p.values()))) if p else None
        return out

    @classmethod
    def stored(cls, record: ProposalRecord) -> Proposal:
        """A proposal as the registry holds it."""
        names = ("p_forms", "p_forms_sd", "log10_sigma_s_cm", "log10_sigma_sd", "objective",
                 "signal")  # fmt: skip
        return cls(
            record.formula, None, dict(record.probabilities), record.acquisition_score,
            record.strategy, record.reason, record.model_run_id, record.id, record.status.value,
            record.in_domain, record.domain_reason,
            {n: getattr(record, n) for n in names if getattr(record, n, None) is not None},
        )  # fmt: skip


@dataclass(frozen=True)
class ProposeResult:
    """What a propose did: the batch, what screening cost, what was skipped or reused."""

    space: str | None
    strategy: str
    round_number: int | None
    champion: ModelRunRecord
    proposals: tuple[Proposal, ...]
    screened: int = 0
    stage2: int = 0
    seconds: float = 0.0
    excluded: int = 0
    lapsed_claims: tuple[int, ...] = ()
    dry_run: bool = False
    reused: bool = False
    skipped: dict[str, str] = field(default_factory=dict)
    recommender: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``propose --json`` document (and what the propose flow returns)."""
        return {
            "space": self.space,
            "strategy": self.strategy,
            "recommender": dict(self.recommender),
            "signal": self.recommender.get("signal"),
            "round": self.round_number,
            "champion": {"id": self.champion.id, "algorithm": self.champion.algorithm},
            "screened": self.screened,
            "stage2": self.stage2,
            "seconds": self.seconds,
            "excluded": self.excluded,
            "lapsed_claims": list(self.lapsed_claims),
            "dry_run": self.dry_run,
            "reused": self.reused,
            "skipped": dict(self.skipped),
            "proposals": [p.to_dict(self.champion.algorithm) for p in self.proposals],
        }


@dataclass(frozen=True)
class QueuedBatch:
    """A batch as written: the proposals with their ids, what was skipped, claims returned."""

    proposals: tuple[Proposal, ...]
    skipped: dict[str, str]
    claims_returned: tuple[int, ...]
