"""Campaign backtests against a labelled pool (the DFT data set as the oracle).

One campaign: reveal the labels of a random seed set, then repeatedly retrain the
surrogate on everything revealed, let the strategy propose a batch from the unrevealed
rows, reveal that batch, until ``budget`` compositions (seed included) are labelled.

A backtest runs every strategy (and always ``random``) over ``repeats`` campaigns that share
their seed sets, and reports hits (accessible compositions among the proposals, seed
excluded), their mean and sd, and the enhancement factor

    hits / (number proposed x accessible fraction of the pool),

1 for random choice on average and 1 / accessible fraction when every proposal is a hit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loop.errors import ValidationError
from loop.progress import NullProgress, ProgressHook
from loop.recommend import FEATURE_SETS, Recommender, build_recommender
from loop.settings import ProposalConfig
from loop.simulation.pool import LabelledPool

log = logging.getLogger(__name__)

BASELINE = "random"


@dataclass(frozen=True)
class CampaignSettings:
    """Size of a backtest campaign."""

    seed_size: int = 20
    batch_size: int = 8
    budget: int = 200

    @property
    def n_proposed(self) -> int:
        return self.budget - self.seed_size

    def check(self, pool_size: int) -> None:
        """Raise ValidationError for settings that cannot run on a pool of ``pool_size``."""
        if self.seed_size < 1:
            raise ValidationError(f"seed size must be at least 1, got {self.seed_size}")
        if self.batch_size < 1:
            raise ValidationError(f"batch size must be at least 1, got {self.batch_size}")
        if self.budget < self.seed_size:
            raise ValidationError(
                f"budget {self.budget} is below the seed size {self.seed_size}: the budget "
                "counts every labelled composition, seed set included"
            )
        if self.budget == self.seed_size:
            raise ValidationError(
                f"budget {self.budget} equals the seed size: nothing is left to propose"
            )
        if self.budget > pool_size:
            raise ValidationError(
                f"budget {self.budget} is larger than the pool of {pool_size} compositions"
            )
        left = pool_size - self.seed_size
        if self.batch_size > left:
            raise ValidationError(
                f"batch of {self.batch_size} is larger than the {left} compositions left "
                f"after the seed set of {self.seed_size}"
            )


@dataclass
class CampaignTrace:
    """What one campaign proposed, batch by batch (row indices of the pool)."""

    seed_rows: np.ndarray
    batches: list[np.ndarray]
    hits_per_batch: list[int]
    seconds: float

    @property
    def proposed(self) -> np.ndarray:
        return np.concatenate(self.batches) if self.batches else np.zeros(0, dtype=np.intp)

    @property
    def hits(self) -> int:
        return int(sum(self.hits_per_batch))


def step_seed(seed: int, repeat: int, step: int) -> int:
    """The seed of one campaign step (surrogate and ties), from the backtest's seed."""
    return int(np.random.default_rng([seed, repeat, step]).integers(2**31 - 1))


def simulation_step(
    pool: LabelledPool,
    labelled: np.ndarray,
    recommender: Recommender,
    size: int,
    seed: int,
) -> np.ndarray:
    """Pool rows the recommender picks next: candidates are the unlabelled rows, the
    observations the labelled ones (labels and Ehull), exactly what ``propose`` hands it."""
    open_rows = np.flatnonzero(~labelled)
    rec = recommender.recommend(
        pool.compositions.take(open_rows),
        pool.observations(np.flatnonzero(labelled)),
        size,
        seed=seed,
    )
    return open_rows[rec.indices]


def run_campaign(
    pool: LabelledPool,
    recommender: Recommender,
    seed_rows: np.ndarray,
    settings: CampaignSettings,
    *,
    seed: int = 0,
    repeat: int = 0,
) -> CampaignTrace:
    """One campaign from ``seed_rows`` until ``settings.budget`` rows are labelled (or no
    candidate is left at the recommender's minimum distance)."""
    start = time.perf_counter()
    labelled = np.zeros(len(pool), dtype=bool)
    labelled[seed_rows] = True
    n_labelled = len(seed_rows)
    batches: list[np.ndarray] = []
    hits: list[int] = []
    while n_labelled < settings.budget:
        size = min(settings.batch_size, settings.budget - n_labelled)
        picks = simulation_step(
            pool, labelled, recommender, size, step_seed(seed, repeat, len(batches))
        )
        if len(picks) == 0:
            break
        labelled[picks] = True
        n_labelled += len(picks)
        batches.append(picks)
        hits.append(int(pool.labels[picks].sum()))
    return CampaignTrace(np.asarray(seed_rows), batches, hits, time.perf_counter() - start)


@dataclass
class BacktestResult:
    """Hits of every strategy over repeated campaigns with shared seed sets."""

    settings: CampaignSettings
    accessible_fraction: float
    pool_size: int
    surrogate: str
    feature_set: str
    labels: np.ndarray = field(repr=False)
    traces: dict[str, list[CampaignTrace]] = field(default_factory=dict)
    signal: str = "labels"
    min_distance: float = 0.0

    def hits(self, strategy: str) -> np.ndarray:
        """(repeats,) hits among the proposals of each campaign."""
        return np.array([t.hits for t in self.traces[strategy]], dtype=float)

    def enhancement(self, strategy: str) -> float:
        """Mean hits / (n proposed x accessible fraction) (n proposed: what each campaign
        actually proposed, fewer when the minimum distance ran the pool dry)."""
        n = np.mean([len(t.proposed) for t in self.traces[strategy]])
        expected = n * self.accessible_fraction
        return float(self.hits(strategy).mean() / expected) if expected > 0 else float("nan")

    def curves(self, strategy: str) -> np.ndarray:
        """(repeats, n_proposed) cumulative hits after each proposed experiment."""
        out = []
        for trace in self.traces[strategy]:
            found = np.concatenate(
                [np.zeros(0)] + [np.asarray(self.labels[b], float) for b in trace.batches]
            )
            out.append(np.cumsum(found))
        return np.array(out)

    @property
    def ideal_enhancement(self) -> float:
        return 1.0 / self.accessible_fraction if self.accessible_fraction else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``nasicon simulate --json``."""
        strategies = {}
        for name in self.traces:
            h = self.hits(name)
            strategies[name] = {
                "hits_mean": float(h.mean()),
                "hits_sd": float(h.std(ddof=1)) if len(h) > 1 else 0.0,
                "hits_per_repeat": [int(x) for x in h],
                "precision": float(h.mean() / self.settings.n_proposed),
                "seconds_per_campaign": float(np.mean([t.seconds for t in self.traces[name]])),
            }
        base = strategies.get(BASELINE)
        return {
            "strategies": strategies,
            "enhancement": {name: self.enhancement(name) for name in self.traces},
            "random_baseline": {
                "hits_mean": base["hits_mean"] if base else None,
                "hits_sd": base["hits_sd"] if base else None,
                "enhancement": self.enhancement(BASELINE) if base else None,
            },
            "ideal_enhancement": self.ideal_enhancement,
            "accessible_fraction": self.accessible_fraction,
            "pool_size": self.pool_size,
            "seed_size": self.settings.seed_size,
            "batch_size": self.settings.batch_size,
            "budget": self.settings.budget,
            "n_proposed": self.settings.n_proposed,
            "repeats": len(next(iter(self.traces.values()))) if self.traces else 0,
            "surrogate": self.surrogate,
            "features": self.feature_set,
            "signal": self.signal,
            "min_distance": self.min_distance,
        }


def seed_sets(pool_size: int, seed_size: int, repeats: int, seed: int) -> list[np.ndarray]:
    """The random seed sets shared by every strategy: one per repeat."""
    return [
        np.random.default_rng([seed, r]).choice(pool_size, seed_size, replace=False)
        for r in range(repeats)
    ]


def backtest(
    pool: LabelledPool,
    strategies: Sequence[str | Recommender],
    *,
    settings: CampaignSettings = CampaignSettings(),
    repeats: int = 5,
    seed: int = 0,
    surrogate: str | None = None,
    feature_set: str = "engine+elements",
    signal: str = "labels",
    min_distance: float = 0.0,
    progress: ProgressHook | None = None,
) -> BacktestResult:
    """Run every strategy (plus ``random``) for ``repeats`` campaigns on shared seed sets.

    A strategy name becomes a recommender through :func:`loop.recommend.build_recommender`
    (the function propose uses) with ``signal``, ``surrogate`` (None: the signal's default),
    ``feature_set`` and ``min_distance``; a :class:`Recommender` is used as given.
    ``progress`` receives one step per campaign (bar ``backtest``); None shows nothing.

    Raises:
        ValidationError: settings that do not fit the pool, repeats < 1, an unknown
            strategy, signal, surrogate or feature set.
    """
    settings.check(len(pool))
    if repeats < 1:
        raise ValidationError(f"repeats must be at least 1, got {repeats}")
    if feature_set not in FEATURE_SETS:
        raise ValidationError(
            f"unknown feature set {feature_set!r} (one of {', '.join(FEATURE_SETS)})"
        )
    config = ProposalConfig(signal=signal, surrogate=surrogate, features=feature_set)

    def build(name: str) -> Recommender:
        return build_recommender(
            config, strategy=name, min_distance=min_distance, threshold_mev=pool.threshold_mev
        )

    recommenders: dict[str, Recommender] = {}
    for s in strategies:
        rec = build(s) if isinstance(s, str) else s
        recommenders[rec.name] = rec
    recommenders.setdefault(BASELINE, build(BASELINE))
    first = next(iter(recommenders.values()))
    seeds = seed_sets(len(pool), settings.seed_size, repeats, seed)
    result = BacktestResult(
        settings, pool.accessible_fraction, len(pool), first.surrogate, first.feature_set,
        np.asarray(pool.labels, dtype=bool), signal=first.signal,
        min_distance=first.min_distance,
    )  # fmt: skip
    total = len(recommenders) * repeats
    progress = progress or NullProgress()
    progress.start("backtest", "backtest campaigns", total)
    for name, rec in recommenders.items():
        traces = []
        for r, seed_rows in enumerate(seeds):
            progress.advance("backtest", 0, description=f"{name} campaign {r + 1}/{repeats}")
            traces.append(run_campaign(pool, rec, seed_rows, settings, seed=seed, repeat=r))
            progress.advance("backtest")
        result.traces[name] = traces
        log.info("%s: enhancement %.2f", name, result.enhancement(name))
    progress.finish("backtest")
    return result
