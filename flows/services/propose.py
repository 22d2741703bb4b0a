"""Propose: screen a design space with the champion's round, pick a diverse batch, queue it.

Four phases (:mod:`flows.propose` runs the registry ones as tasks):

1. :func:`plan_proposals`: ONE read-only unit of work: the champion and its round's models,
   the round number, and a :class:`registry.QueueSnapshot` (open queue, measured
   formulas, the round's own proposals: the queue is read once, nothing is written);
2. :func:`screen_candidates`: stream the space through the models (``loop.screening``);
3. :func:`choose`: the strategy's diverse batch, each pick keeping the composition of its
   screened row (arrays -> composition; no formula text is parsed back);
4. :func:`queue_batch`: ONE write unit: return the snapshot's lapsed claims to the queue and
   insert the batch.

:func:`propose` runs them in order; a dry run stops after 3 and writes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from flows.services.domain import OUTSIDE, domain_verdict, load_domain
from flows.services.observations import registry_observations
from flows.services.propose_types import (
    Proposal,
    ProposalPlan,
    ProposeRequest,
    ProposeResult,
    QueuedBatch,
    Screen,
)
from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.errors import ValidationError
from loop.progress import ProgressHook
from loop.recommend import Compositions
from loop.screening import ScoringModel, ScreeningResult, screen_space
from loop.settings import LabelConfig
from registry import ModelRunRecord, Registry, UnitOfWork
from registry.artifacts import load_artifact

log = logging.getLogger(__name__)

__all__ = [
    "Proposal",
    "ProposalPlan",
    "ProposeRequest",
    "ProposeResult",
    "QueuedBatch",
    "Screen",
    "check_objective",
    "choose",
    "plan_proposals",
    "propose",
    "queue_batch",
    "result_of",
    "screen_candidates",
    "stored_batch",
]


def _scoring_models(
    champion: ModelRunRecord, runs: Sequence[ModelRunRecord]
) -> tuple[tuple[ScoringModel, ...], tuple[ScoringModel, ...]]:
    """(cheap, expensive with the champion first) of a round's runs with an artifact; cheap
    ones are the tolerance factors and the four-descriptor GNB (complexity up to GNB's)."""
    from loop.models.zoo import get_spec

    gnb_complexity = get_spec("gnb").complexity
    cheap: list[ScoringModel] = []
    expensive: list[ScoringModel] = []
    for run in sorted((r for r in runs if r.artifact_path), key=lambda r: r.id != champion.id):
        spec = get_spec(run.algorithm)
        model = ScoringModel(
            run.algorithm, load_artifact(run.artifact_path, run.artifact_sha256), spec.features
        )
        if run.id != champion.id and spec.complexity <= gnb_complexity:
            cheap.append(model)
        else:
            expensive.append(model)
    return tuple(cheap), tuple(expensive)


def plan_proposals(
    registry: Registry,
    *,
    round_number: int | None = None,
    labels: LabelConfig | None = None,
) -> ProposalPlan:
    """Champion, its round's models (artifacts checked by SHA-256), the round (default: the
    latest, else the champion's) and the queue snapshot: ONE read-only unit of work; then
    the observations the recommender learns from (a second read-only snapshot).

    Raises:
        ValidationError: no champion yet.
    """

    def read(uow: UnitOfWork) -> tuple[ModelRunRecord, list[ModelRunRecord], int | None, Any]:
        champion = uow.model_runs.champion()
        if champion is None:
            raise ValidationError(
                "the registry has no champion model yet: run nasicon retrain before nasicon propose"
            )
        number = round_number
        if number is None:
            latest = uow.rounds.latest()
            number = latest.number if latest is not None else champion.round_number
        runs = uow.model_runs.find(champion.round_number)
        return champion, runs, number, uow.proposals.snapshot(round_number=number)

    champion, runs, number, queue = registry.run(read, write=False)
    cheap, expensive = _scoring_models(champion, runs)
    observed = registry_observations(registry, labels or LabelConfig())
    return ProposalPlan(
        champion, cheap, expensive, queue, number, domain=load_domain(runs), observations=observed
    )


def check_objective(plan: ProposalPlan, request: ProposeRequest) -> None:
    """Refuse, before screening, an objective the plan's observations cannot serve.

    Raises:
        ValidationError: objective conductivity or both and no conductivity record.
    """
    objective = request.chooser().objective
    observed = plan.observations
    if objective != "synthesis" and (
        observed is None or not np.isfinite(observed.log10_sigma).any()
    ):
        raise ValidationError(
            f"objective {objective!r} needs conductivity records and the registry has none "
            "(record some with nasicon record conductivity, or use --objective synthesis)"
        )


def screen_candidates(
    plan: ProposalPlan,
    request: ProposeRequest,
    *,
    progress: ProgressHook | None = None,
    screen: Screen | None = None,
) -> ScreeningResult:
    """Screen the request's space, the snapshot's open and measured formulas excluded.

    Exploit and uncertainty rank by the champion's probability (the only model the second
    stage then needs), UCB by the mean + kappa x sd over every non-cheap model, random by
    a random key over the whole space.
    """
    screen = screen or screen_space
    rng = np.random.default_rng(request.seed)
    strategy = request.strategy
    common: dict[str, Any] = {
        "top_k": max(request.shortlist, request.batch),
        "exclude": plan.queue.excluded,
        "limit": request.limit,
        "progress": progress,
    }
    if strategy.name == "random":
        models = {"cheap": plan.models[:1], "acquisition": lambda p: rng.random(len(p))}
    else:
        committee = strategy.name == "ucb"
        models = {
            "cheap": plan.cheap,
            "expensive": plan.expensive if committee else plan.expensive[:1],
            "stage2_fraction": request.fraction,
            "acquisition": lambda p: strategy.score(p, rng),
        }
    # one thread per screening worker: the models score a chunk's rows at a time, where
    # OpenMP's start-up per call costs more than it saves (10-40x on a busy machine);
    # parallelism comes from shards (flows.propose)
    with threadpool_limits(limits=1):
        return screen(request.space, **models, **common)


def choose(
    plan: ProposalPlan, request: ProposeRequest, screening: ScreeningResult
) -> tuple[Proposal, ...]:
    """The recommender's batch among the screened rows (its surrogate retrained on the
    plan's observations: :mod:`loop.recommend`, the code ``nasicon simulate`` runs), every
    model's P of each pick; each pick carries the composition of its screened row.

    Raises:
        ValidationError: a batch larger than the candidates left, or no observations.
    """
    table = screening.table
    desc = {name: table[name].to_numpy() for name in NUMERIC_DESCRIPTORS}
    with threadpool_limits(limits=1):  # small calls: see screen_candidates
        probs = {m.name: m.predict_proba(desc) for m in plan.models}
    candidates = Compositions(
        table["formula"].to_numpy(dtype=object), screening.batch,
        table[list(NUMERIC_DESCRIPTORS)].reset_index(drop=True),
    )  # fmt: skip
    left = sum(f not in plan.queue.excluded for f in candidates.formulas)
    if request.batch > left:
        raise ValidationError(
            f"batch of {request.batch} is larger than the {left} candidates left in "
            f"{request.space.name} ({len(plan.queue.excluded)} excluded as measured or queued)"
        )
    if plan.observations is None:
        raise ValidationError("the plan holds no observations for the recommender")
    recommender = request.chooser()
    rec = recommender.recommend(
        candidates, plan.observations, request.batch, exclude=plan.queue.excluded,
        seed=request.seed,
    )  # fmt: skip
    rows = np.asarray(rec.indices, dtype=np.intp)
    inside, why = domain_verdict(plan.domain, table, screening.batch, rows)
    return tuple(
        Proposal(
            formula=rec.formulas[i],
            composition=screening.batch.composition(int(row)),
            probabilities={name: float(p[row]) for name, p in probs.items()},
            acquisition_score=float(rec.scores[i]),
            strategy=recommender.name,
            reason=rec.reasons[i] if why[i] is None else f"{rec.reasons[i]}; {OUTSIDE}: {why[i]}",
            model_run_id=plan.champion.id,
            in_domain=inside[i],
            domain_reason=why[i],
            objectives=_objectives(rec, i, recommender),
        )
        for i, row in enumerate(rec.indices)
    )


def _objectives(rec: Any, i: int, recommender: Any) -> dict[str, Any]:
    """The stored objectives of pick ``i``: P(forms) and its spread, the predicted log10
    sigma and its sd (None for objective synthesis), the objective and the signal."""
    sigma = None if rec.log10_sigma is None else float(rec.log10_sigma[i])
    sd = None if rec.log10_sigma_sd is None else float(rec.log10_sigma_sd[i])
    return {
        "p_forms": float(rec.mean_probability[i]), "p_forms_sd": float(rec.spread[i]),
        "log10_sigma_s_cm": sigma, "log10_sigma_sd": sd,
        "objective": recommender.objective, "signal": recommender.signal,
    }  # fmt: skip


def queue_batch(
    registry: Registry,
    round_number: int | None,
    proposals: Sequence[Proposal],
    *,
    lapsed: Sequence[int] = (),
) -> QueuedBatch:
    """ONE write unit: return the ``lapsed`` claims (a snapshot's) to the queue, insert the
    batch (compositions as given). Idempotent per round: a repeat finds its rows."""

    def work(uow: UnitOfWork) -> tuple[list[int], Any]:
        returned = uow.proposals.expire_claims(ids=lapsed)
        return returned, uow.proposals.add(round_number, [p.item() for p in proposals])

    returned, added = registry.run(work)
    ids = iter(added)
    stored = tuple(
        p if p.formula in added.skipped else dataclasses.replace(p, id=next(ids), status="queued")
        for p in proposals
    )
    return QueuedBatch(stored, dict(added.skipped), tuple(returned))


def stored_batch(plan: ProposalPlan) -> ProposeResult | None:
    """The batch the plan's round already queued (None when it has none)."""
    rows = plan.queue.round_rows
    if not rows:
        return None
    return ProposeResult(
        space=None, strategy=rows[0].strategy, round_number=plan.round_number,
        champion=plan.champion, proposals=tuple(Proposal.stored(r) for r in rows), reused=True,
    )  # fmt: skip


def result_of(
    plan: ProposalPlan,
    request: ProposeRequest,
    screening: ScreeningResult,
    proposals: Sequence[Proposal],
    queued: QueuedBatch | None,
) -> ProposeResult:
    """The result of a propose (``queued`` None: a dry run)."""
    return ProposeResult(
        space=request.space.name,
        strategy=request.strategy.name,
        round_number=plan.round_number,
        champion=plan.champion,
        proposals=tuple(proposals) if queued is None else queued.proposals,
        screened=screening.n_screened,
        stage2=screening.n_stage2,
        seconds=screening.seconds,
        excluded=len(plan.queue.excluded),
        lapsed_claims=plan.queue.lapsed,
        dry_run=queued is None,
        skipped={} if queued is None else queued.skipped,
        recommender=request.chooser().describe(),
    )


def propose(
    registry: Registry,
    request: ProposeRequest,
    *,
    round_number: int | None = None,
    dry_run: bool = False,
    reuse_round: bool = False,
    progress: ProgressHook | None = None,
    screen: Screen | None = None,
) -> ProposeResult:
    """Screen, choose and queue a batch for ``round_number`` (default: the latest round).

    ``dry_run``: only read (one read-only unit); a lapsed claim is reported in
    ``lapsed_claims``, not returned to the queue. ``reuse_round``: a round that already
    queued proposals returns them instead of proposing more (idempotent rounds).

    Raises:
        ValidationError: no champion, or a batch larger than the candidates left.
    """
    plan = plan_proposals(registry, round_number=round_number, labels=request.labels)
    check_objective(plan, request)
    if reuse_round and (stored := stored_batch(plan)) is not None:
        log.info("round %s already queued its batch: propose skipped", plan.round_number)
        return stored
    screening = screen_candidates(plan, request, progress=progress, screen=screen)
    chosen = choose(plan, request, screening)
    queued = None
    if not dry_run:
        queued = queue_batch(registry, plan.round_number, chosen, lapsed=plan.queue.lapsed)
    return result_of(plan, request, screening, chosen, queued)
