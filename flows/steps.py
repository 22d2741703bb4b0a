"""The steps of a closed-loop round as plain functions over the registry.

Each step reads what it needs from the registry (never from the working directory), calls
the science in ``loop/`` and writes its result in one registry transaction, keyed by the
round number so that a re-run finds its own earlier writes instead of duplicating them.
The CLI calls them directly; the Prefect flows (:mod:`flows.round`) wrap each in a task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.importers.dft import read_dft_dataset
from experiments.training_data import training_frame
from loop.descriptors import NUMERIC_DESCRIPTORS
from loop.errors import ValidationError
from loop.progress import ProgressHook
from loop.settings import NasiconConfig
from loop.spaces import DesignSpace
from loop.training import (
    RetrainResult,
    RetrainSettings,
    TrainingSet,
    model_run_rows,
    run_retrain,
    training_set_from_frame,
)
from loop.training.figures import retrain_figures
from registry import ModelRunRecord, Registry
from registry.artifacts import library_versions, remove_new_artifacts, save_artifacts
from registry.optuna_storage import make_optuna_storage
from registry.reports import save_figures

log = logging.getLogger(__name__)


def round_text(number: int | None) -> str:
    """'3', or 'none' for runs outside any round."""
    return "none" if number is None else str(number)


def runs_of_round(registry: Registry, number: int | None) -> list[ModelRunRecord]:
    """Model runs stored for round ``number`` (None: runs outside rounds)."""
    with registry.unit_of_work(write=False) as uow:
        if number is None:
            return [r for r in uow.model_runs.find() if r.round_number is None]
        return uow.model_runs.find(number)


def next_free_round(registry: Registry) -> int:
    """One past the highest round number used by a round or a model run."""
    with registry.unit_of_work(write=False) as uow:
        numbers = [r.round_number for r in uow.model_runs.find() if r.round_number is not None]
        latest = uow.rounds.latest()
    if latest is not None:
        numbers.append(latest.number)
    return max(numbers, default=0) + 1


def default_round(registry: Registry) -> int | None:
    """The latest round's number, or None when no round was ever started."""
    latest = registry.run(lambda uow: uow.rounds.latest(), write=False)
    return None if latest is None else latest.number


@dataclass(frozen=True)
class PreparedRetrain:
    """Validated inputs of one retrain."""

    data: TrainingSet
    dataset: pd.DataFrame | None  # the DFT data set for the published check


def prepare_retrain(
    registry: Registry,
    config: NasiconConfig,
    settings: RetrainSettings,
    *,
    round_number: int | None,
) -> PreparedRetrain:
    """Check names and labels, read the training frame and the DFT data set; write nothing.

    Raises:
        ValidationError: the round already holds runs for these models.
        TrainingDataError / DataMissingError: no labels, one class, too few rows, no data set.
    """
    specs = settings.compared_specs()
    settings.tuned_specs()  # unknown names in --tune fail here
    stored = {r.algorithm for r in runs_of_round(registry, round_number)}
    clash = sorted(stored & {s.name for s in specs})
    if clash:
        raise ValidationError(
            f"round {round_text(round_number)} already has model runs for "
            f"{', '.join(clash)} (stored runs are never replaced); retrain into a new round "
            f"with --round {next_free_round(registry)}"
        )
    frame = training_frame(
        registry,
        experimental_weight=config.labels.experimental_weight,
        ehull_threshold_mev=config.labels.ehull_threshold_mev,
        impurity_threshold=config.labels.impurity_threshold,
    )
    data = training_set_from_frame(frame, settings.folds)
    dataset = read_dft_dataset(config.data.dft_path)
    return PreparedRetrain(data, dataset)


def store_retrain(
    registry: Registry,
    config: NasiconConfig,
    result: RetrainResult,
    data: TrainingSet,
    *,
    figures_dir: Path | None = None,
) -> tuple[dict[str, int], dict[str, Path]]:
    """Save the artifacts and write every model run in one transaction (figures after).

    The artifacts this call created are removed again if the write fails.
    Returns the model-run ids by model name and the saved figure paths.
    """
    saved = save_artifacts(result, Path(config.models.artifacts_dir).resolve())
    rows = model_run_rows(result, saved.refs(), library_versions=library_versions())
    try:
        with registry.unit_of_work() as uow:
            ids = {row["algorithm"]: uow.model_runs.add(**row) for row in rows}
    except BaseException:
        remove_new_artifacts(saved)
        raise
    figures: dict[str, Path] = {}
    if figures_dir is not None:
        figures = save_figures(retrain_figures(result, data), figures_dir)
    return ids, figures


def retrain_registry(
    registry: Registry,
    config: NasiconConfig,
    settings: RetrainSettings,
    *,
    round_number: int | None,
    figures_dir: Path | None = None,
    progress: ProgressHook | None = None,
) -> tuple[RetrainResult, dict[str, int], dict[str, Path]]:
    """One retrain against the registry in this process: prepare, train, store.

    The optuna studies live in the registry database (opened only when a model is tuned).

    Returns:
        The result, model-run ids by model name and the saved figure paths.
    """
    prepared = prepare_retrain(registry, config, settings, round_number=round_number)
    storage = make_optuna_storage(config.database.url) if settings.tuned_specs() else None
    result = run_retrain(
        prepared.data,
        settings,
        storage=storage,
        round_number=round_number,
        reproduction_frame=prepared.dataset,
        ehull_threshold_mev=config.labels.ehull_threshold_mev,
        progress=progress,
    )
    ids, figures = store_retrain(registry, config, result, prepared.data, figures_dir=figures_dir)
    return result, ids, figures


def stored_retrain_summary(registry: Registry, round_number: int) -> dict[str, Any] | None:
    """Leaderboard of a round whose model runs (with a champion) are stored, else None."""
    runs = registry.run(lambda uow: uow.model_runs.find(round_number), write=False)
    champion = next((r for r in runs if r.is_champion), None)
    if champion is None:
        return None
    leaderboard = sorted(
        (
            {
                "model": r.algorithm,
                **{
                    k: r.metrics.get(k)
                    for k in ("accuracy", "f1_macro", "balanced_accuracy", "roc_auc", "f1_macro_sd")
                },
                "params": r.hyperparameters,
            }
            for r in runs
        ),
        key=lambda row: -(row["f1_macro"] or 0.0),
    )
    return {
        "leaderboard": leaderboard,
        "champion": champion.algorithm,
        "champion_run_id": champion.id,
        "model_run_ids": {r.algorithm: r.id for r in runs},
        "n_train": champion.n_train,
        "reused": True,
    }


def resolve_round(registry: Registry, round_number: int | None) -> int:
    """The round to run: ``round_number``, else an unfinished latest round (resumed), else
    the next number."""
    if round_number is not None:
        return round_number
    latest = registry.run(lambda uow: uow.rounds.latest(), write=False)
    if latest is None:
        return 1
    return latest.number if latest.status != "finished" else latest.number + 1


def new_labels_for_round(registry: Registry, round_number: int) -> int:
    """Experimental labels recorded after the previous round started and before this one
    finished (all of them for the first round)."""
    with registry.unit_of_work(write=False) as uow:
        earlier = [r for r in uow.rounds.all() if r.number < round_number]
        return uow.outcomes.count_labels(since=max((r.started_at for r in earlier), default=None))


# -- propose --------------------------------------------------------------------------


def registry_scoring_models(registry: Any) -> tuple[list[Any], list[Any], Any]:
    """(cheap models, expensive models with the champion first, champion run) of the registry.

    The models are the runs of the champion's round that have an artifact; each is loaded
    after its SHA-256 check and reads the features its zoo spec declares. Cheap ones are the
    tolerance factors and the four-descriptor GNB (complexity up to GNB's).

    Raises:
        ValidationError: no champion yet.
    """
    from loop.models.zoo import get_spec
    from loop.screening import ScoringModel
    from registry.artifacts import load_artifact

    with registry.unit_of_work(write=False) as uow:
        champion = uow.model_runs.champion()
        if champion is None:
            raise ValidationError(
                "the registry has no champion model yet: run nasicon retrain before nasicon propose"
            )
        runs = [r for r in uow.model_runs.find(champion.round_number) if r.artifact_path]
    gnb_complexity = get_spec("gnb").complexity
    cheap: list[Any] = []
    expensive: list[Any] = []
    runs.sort(key=lambda r: r.id != champion.id)
    for run in runs:
        spec = get_spec(run.algorithm)
        model = ScoringModel(
            run.algorithm, load_artifact(run.artifact_path, run.artifact_sha256), spec.features
        )
        if run.id != champion.id and spec.complexity <= gnb_complexity:
            cheap.append(model)
        else:
            expensive.append(model)
    return cheap, expensive, champion


def run_propose(
    cfg: Any,
    space: DesignSpace,
    strategy: Any,
    batch: int,
    *,
    fraction: float = 0.05,
    shortlist: int = 2000,
    round_number: int | None = None,
    limit: int | None = None,
    rng: np.random.Generator | None = None,
    dry_run: bool = False,
    progress: ProgressHook | None = None,
    screen: Any = None,
) -> dict[str, Any]:
    """Screen ``space`` with the registry's models, pick a diverse batch, queue it.

    ``screen`` replaces :func:`loop.screening.screen_space` (same arguments), e.g. by one that
    spreads the shards of the space over a Dask cluster (:mod:`flows.propose`); ``progress``
    receives the screen's progress (None: shown nowhere).

    Exploit and uncertainty rank by the champion's probability, UCB by the mean + kappa x sd
    over every non-cheap model, random by a random key (over the whole space). The queued
    record holds every model's probability, the acquisition score and a one-line reason.

    Raises:
        ValidationError: no champion, or a batch larger than the candidates left.
    """
    from loop.acquisition import Candidates
    from loop.screening import screen_space
    from registry.store import Registry

    screen = screen or screen_space
    rng = rng if rng is not None else np.random.default_rng(0)
    registry = Registry.from_config(cfg)
    try:
        cheap, expensive, champion = registry_scoring_models(registry)
        excluded = registry.run(lambda uow: uow.proposals.excluded_formulas())
        everyone = [*cheap, *expensive]
        committee = strategy.name == "ucb"

        def acquisition(p: np.ndarray) -> np.ndarray:
            return strategy.score(p if committee else p[:, :1], rng)

        if strategy.name == "random":
            result = screen(
                space, cheap=everyone[:1], top_k=max(shortlist, batch), exclude=excluded,
                acquisition=lambda p: rng.random(len(p)), limit=limit, progress=progress,
            )  # fmt: skip
        else:
            result = screen(
                space, cheap=cheap, expensive=expensive, top_k=max(shortlist, batch),
                stage2_fraction=fraction, acquisition=acquisition, exclude=excluded,
                limit=limit, progress=progress,
            )  # fmt: skip
        desc = {name: result.table[name].to_numpy() for name in NUMERIC_DESCRIPTORS}
        probs = {m.name: m.predict_proba(desc) for m in everyone}
        ranked = np.column_stack(
            [probs[m.name] for m in expensive] or [np.zeros(len(result.table))]
        )
        acq_matrix = ranked if committee else ranked[:, :1]
        candidates = Candidates(
            result.table["formula"].to_numpy(),
            np.column_stack([desc[n] for n in NUMERIC_DESCRIPTORS]),
            acq_matrix,
            tuple(m.name for m in expensive) if committee else (expensive[0].name,),
        )
        if batch > len(candidates):
            raise ValidationError(
                f"batch of {batch} is larger than the {len(candidates)} candidates left in "
                f"{space.name} ({len(excluded)} excluded as measured or queued)"
            )
        rec = strategy.recommend(candidates, batch, exclude=excluded, rng=rng)
        if round_number is None:
            latest = registry.run(lambda uow: uow.rounds.latest(), write=False)
            round_number = latest.number if latest is not None else champion.round_number
        proposals = []
        for i, row in enumerate(rec.indices):
            p_all = {name: float(values[row]) for name, values in probs.items()}
            proposals.append(
                {
                    "formula": rec.formulas[i],
                    "model_run_id": champion.id,
                    "probabilities": p_all,
                    "acquisition_score": float(rec.scores[i]),
                    "strategy": strategy.name,
                    "reason": rec.reasons[i],
                }
            )
        skipped: dict[str, str] = {}
        if not dry_run:
            added = registry.run(lambda uow: uow.proposals.add(round_number, proposals))
            skipped = getattr(added, "skipped", {})
            queued = [p for p in proposals if p["formula"] not in skipped]
            for proposal, pid in zip(queued, list(added), strict=False):
                proposal["id"] = pid
    finally:
        registry.close()
    for proposal in proposals:
        p = proposal["probabilities"]
        proposal["p_champion"] = p[expensive[0].name]
        proposal["p_mean"] = float(np.mean(list(p.values())))
    return {
        "space": space.name,
        "strategy": strategy.name,
        "round": round_number,
        "champion": {"id": champion.id, "algorithm": champion.algorithm},
        "screened": result.n_screened,
        "stage2": result.n_stage2,
        "seconds": result.seconds,
        "excluded": len(excluded),
        "dry_run": dry_run,
        "skipped": skipped,
        "proposals": proposals,
    }


def propose_batch(
    config: NasiconConfig,
    space: str,
    strategy: str,
    batch: int,
    *,
    round_number: int,
    screen: Any = None,
) -> dict[str, Any]:
    """Screen ``space`` with the registry's models and queue ``batch`` proposals for the round
    (the ``[proposals]`` stage-2 fraction; ``kappa`` 1 for UCB)."""
    from experiments.importers.design_spaces import load_space
    from loop.acquisition import make_strategy

    return run_propose(
        config,
        load_space(space),
        make_strategy(strategy),
        batch,
        fraction=config.proposals.stage2_fraction,
        round_number=round_number,
        screen=screen,
    )


def stored_proposals_summary(registry: Registry, round_number: int) -> dict[str, Any] | None:
    """The batch a round already queued, in :func:`run_propose`'s shape, or None."""
    rows = registry.run(lambda uow: uow.proposals.find(round_number=round_number))
    if not rows:
        return None
    proposals = [
        {
            "id": r.id,
            "formula": r.formula,
            "acquisition_score": r.acquisition_score,
            "probabilities": dict(r.probabilities),
            "reason": r.reason,
            "strategy": r.strategy,
            "status": str(r.status),
        }
        for r in rows
    ]
    return {
        "round": round_number,
        "strategy": rows[0].strategy,
        "space": None,
        "proposals": proposals,
        "reused": True,
    }
