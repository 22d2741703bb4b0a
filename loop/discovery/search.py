"""The whole SIS + MLR search, as Ouyang et al. found the NASICON tolerance factor.

1. Expand the primary features to complexity 2 (:mod:`loop.discovery.feature_space`).
2. Sure independence screening (:mod:`loop.discovery.sis`) on the training rows. The
   screening target is Ehull(1000 K) itself (``sis_target="raw"``) or its rank
   (``"rank"``, the default): the DFT data hold 15 La compositions at ~7,500 meV/atom that
   dominate any Pearson correlation with raw Ehull (the published t1 has r = 0.09 with raw
   Ehull and 0.76 with its rank), and MLR optimises order, not values.
   ``sis_mode="residual"`` (default) screens as SISSO does for a 2D model: half the
   subspace by |r| with the target, half by |r| with the residual of the best 1D
   descriptor's least-squares fit; ``"plain"`` takes all ``top`` by |r| with the target.
3. MLR (:mod:`loop.discovery.pair_search`): a 2D ranking SVM for every pair of the
   ``top`` features, scored by exact pairwise ranking accuracy on the held-out rows.
4. A class-balanced linear SVC in the best pair's space
   (:class:`loop.discovery.classifier.DescriptorClassifier`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.model_selection import train_test_split

from loop.discovery.classifier import DescriptorClassifier, accessible_labels
from loop.discovery.feature_space import FeatureSpace, FeatureSpaceStats
from loop.discovery.formulas import evaluate_formula
from loop.discovery.pair_search import PairScores, rank_feature_pairs
from loop.discovery.ranking import RankingSVM
from loop.discovery.sis import SISResult, sure_independence_screening
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: The published tolerance factor written with the DFT data set's own columns.
PUBLISHED_DATASET_FORMULAS = (
    "cbrt(NNaLst) + AnionChgStdLst^2",
    "EWaldSumLst^2 * XWithNaLst * RDiffStdLst",
)
#: The same pair written with descriptor-engine feature names.
PUBLISHED_ENGINE_FORMULAS = (
    "cbrt(n_na) + anion_q_std^2",
    "ewald_ev_per_atom^2 * x_minus_na * r_std",
)
SIS_TARGETS = ("rank", "raw")
SIS_MODES = ("residual", "plain")

#: progress(stage, done, total) with stage "screen" (candidate features) or "rank" (pairs).
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PairResult:
    """One 2D descriptor: its formulas and held-out pairwise ranking accuracy."""

    formulas: tuple[str, str]
    accuracy: float
    weights: tuple[float, float]  # ranking weights on the standardised descriptors

    def as_dict(self) -> dict[str, object]:
        return {"formulas": list(self.formulas), "accuracy": self.accuracy}


@dataclass
class DiscoveryResult:
    """Outcome of :func:`discover`."""

    stats: FeatureSpaceStats
    screened: list[str]  # the SIS subspace, in screening order
    best: list[PairResult]
    n_pairs_ranked: int  # feature pairs ranked (N (N - 1) / 2)
    n_train_pairs: int  # sampled composition pairs per ranking SVM
    n_test_pairs: int  # held-out composition pairs each accuracy counts
    classifier: DescriptorClassifier | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def n_features_generated(self) -> int:
        return self.stats.n_generated


def paper_split(n_train: int, n_test: int) -> np.ndarray:
    """Training mask of the published split: the train.csv rows first, then test.csv."""
    return np.r_[np.ones(n_train, dtype=bool), np.zeros(n_test, dtype=bool)]


def random_split(
    ehull_mev: np.ndarray, test_fraction: float = 0.2, seed: int | None = 0
) -> np.ndarray:
    """Training mask of a seeded random split, stratified by accessible / not (as the paper)."""
    y = np.asarray(ehull_mev, dtype=float)
    labels = accessible_labels(y)
    stratify = labels if np.bincount(labels, minlength=2).min() >= 2 else None
    idx = np.arange(len(y))
    train_idx, _ = train_test_split(
        idx, test_size=test_fraction, random_state=seed, stratify=stratify
    )
    mask = np.zeros(len(y), dtype=bool)
    mask[train_idx] = True
    return mask


def score_pair(
    frame: pd.DataFrame | dict[str, np.ndarray],
    formulas: tuple[str, str] | list[str],
    ehull_mev: np.ndarray,
    train_mask: np.ndarray,
    n_pairs: int = 1000,
    seed: int | None = 0,
    C: float = 1.0,
) -> float:
    """Held-out pairwise ranking accuracy of a 2D descriptor given as two formulas.

    A :class:`RankingSVM` is trained on ``n_pairs`` sampled training pairs and scored on
    every distinct-Ehull pair of the held-out rows (ties in score count as wrong).
    """
    x = np.column_stack([evaluate_formula(f, frame) for f in formulas])
    if not np.isfinite(x).all():
        raise ValidationError(f"descriptors {list(formulas)} have non-finite values")
    y = np.asarray(ehull_mev, dtype=float)
    train = np.asarray(train_mask, dtype=bool)
    model = RankingSVM(n_pairs=n_pairs, C=C, random_state=seed).fit(x[train], y[train])
    return model.score(x[~train], y[~train])


def _screen(
    space: FeatureSpace,
    target: np.ndarray,
    train: np.ndarray,
    top: int,
    mode: str,
    n_jobs: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[str], np.ndarray, FeatureSpaceStats]:
    """(formulas, values (rows, top), stats) of the SIS subspace."""
    if mode == "plain":
        res = sure_independence_screening(space, target, train, top, n_jobs, progress)
        return res.formulas, res.values.T, res.stats
    first_n = (top + 1) // 2
    total = [0]

    def half(done: int, n: int) -> None:  # two passes reported as one bar
        if progress:
            progress(total[0] + done, 2 * n)

    first: SISResult = sure_independence_screening(space, target, train, first_n, n_jobs, half)
    total[0] = first.stats.n_candidates
    best_1d = first.values[0]
    design = np.column_stack([np.ones(int(train.sum())), best_1d[train]])
    coef = np.linalg.lstsq(design, target[train], rcond=None)[0]
    residual = target - (coef[0] + coef[1] * best_1d)
    second = sure_independence_screening(space, residual, train, top, n_jobs, half)
    formulas = list(first.formulas)
    values = list(first.values)
    chosen = {tuple(c) for c in first.codes.tolist()}
    for code, formula, value in zip(second.codes.tolist(), second.formulas, second.values,
                                    strict=True):
        if len(formulas) >= top:
            break
        if tuple(code) not in chosen:
            chosen.add(tuple(code))
            formulas.append(formula)
            values.append(value)
    return formulas, np.column_stack(values), first.stats


def discover(
    primary: pd.DataFrame,
    ehull_mev: np.ndarray,
    train_mask: np.ndarray,
    top: int = 200,
    n_pairs: int = 1000,
    keep: int = 3,
    seed: int | None = 0,
    complexity: int = 2,
    sis_target: str = "rank",
    sis_mode: str = "residual",
    C: float = 1.0,
    n_jobs: int = 1,
    progress: StageProgress | None = None,
) -> DiscoveryResult:
    """Search the expanded feature space for the best 2D ranking descriptors.

    Args:
        primary: rows x primary features (e.g. the 12 engine composition descriptors and
            ``ewald_ev_per_atom``); column names are the names used in formulas.
        ehull_mev: Ehull(1000 K) per row, meV/atom.
        train_mask: True for training rows (SIS and the ranking SVMs), False for the
            held-out rows the accuracy is measured on.
        top: N, the screened subspace (N (N - 1) / 2 pairs are ranked); at least 2.
        n_pairs: sampled training composition pairs per ranking SVM.
        keep: how many of the best pairs to return.
        seed: seed of the pair sample (same seed, same result).
        complexity: feature-space complexity (0..2).
        sis_target, sis_mode: see the module docstring.
        C: penalty of the ranking SVMs and of the final SVC.
        n_jobs: worker processes for screening and ranking.
        progress: called with (stage, done, total).

    Raises:
        ValidationError: a bad option or input (message says which).
    """
    if top < 2:
        raise ValidationError(f"--top must be at least 2 (a pair of features), got {top}")
    if keep < 1:
        raise ValidationError(f"keep must be >= 1, got {keep}")
    if sis_target not in SIS_TARGETS:
        raise ValidationError(f"sis_target must be one of {SIS_TARGETS}, got {sis_target!r}")
    if sis_mode not in SIS_MODES:
        raise ValidationError(f"sis_mode must be one of {SIS_MODES}, got {sis_mode!r}")
    y = np.asarray(ehull_mev, dtype=float)
    train = np.asarray(train_mask, dtype=bool)
    if y.shape != (len(primary),) or train.shape != (len(primary),):
        raise ValidationError(
            f"{len(primary)} feature rows but {y.shape[0]} Ehull values and "
            f"{train.shape[0]} split flags"
        )
    if not np.isfinite(y).all():
        raise ValidationError("Ehull has missing or non-finite values")
    if train.sum() < 3 or (~train).sum() < 2:
        raise ValidationError(
            f"the split leaves {int(train.sum())} training and {int((~train).sum())} "
            "held-out rows; need at least 3 and 2"
        )
    timings: dict[str, float] = {}
    start = time.perf_counter()
    space = FeatureSpace(primary, complexity=complexity)
    target = rankdata(y) if sis_target == "rank" else y

    def stage(name: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(name, done, total)) if progress else None

    formulas, values, stats = _screen(
        space, target, train, top, sis_mode, n_jobs, stage("screen")
    )
    timings["screen"] = time.perf_counter() - start
    if len(formulas) < 2:
        raise ValidationError(
            f"the feature space holds {len(formulas)} valid distinct feature(s): no pair to rank"
        )
    t0 = time.perf_counter()
    scores: PairScores = rank_feature_pairs(
        values[train], y[train], values[~train], y[~train],
        n_pairs=n_pairs, C=C, seed=seed, n_jobs=n_jobs, progress=stage("rank"),
    )
    timings["rank"] = time.perf_counter() - t0
    best = [
        PairResult(
            (formulas[scores.a[k]], formulas[scores.b[k]]),
            float(scores.accuracy[k]),
            (float(scores.weights[k, 0]), float(scores.weights[k, 1])),
        )
        for k in scores.best(keep)
    ]
    t0 = time.perf_counter()
    frame = primary.reset_index(drop=True)
    classifier = DescriptorClassifier(best[0].formulas, C=C).fit(frame, accessible_labels(y))
    timings["classifier"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    log.info("discovery: best pair %s, accuracy %.4f", best[0].formulas, best[0].accuracy)
    return DiscoveryResult(
        stats=stats,
        screened=formulas,
        best=best,
        n_pairs_ranked=len(scores.accuracy),
        n_train_pairs=scores.n_train_pairs,
        n_test_pairs=scores.n_test_pairs,
        classifier=classifier,
        seconds=timings,
    )
