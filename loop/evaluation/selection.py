"""Champion selection.

* :func:`select_champion`: best mean CV macro-F1 on the training labels; ties go to the
  simpler model.
* :func:`select_champion_with_experiments`: DFT CV figures and cross-validated experimental
  figures together (:data:`CHAMPION_RULE`): a model that rejects compositions labs have
  made is not champion however well it fits DFT labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from loop.evaluation.experimental import ExperimentalFigures
from loop.models.zoo import COMPLEXITY_ORDER

#: Two mean macro-F1 scores closer than this are a tie (below the fold-to-fold noise,
#: about the last digit the leaderboard prints).
DEFAULT_TIE_TOLERANCE = 1e-3


def select_champion(
    scores: Mapping[str, float],
    *,
    order: Sequence[str] = COMPLEXITY_ORDER,
    tie_tolerance: float = DEFAULT_TIE_TOLERANCE,
) -> str:
    """Name of the model with the best score; among those within ``tie_tolerance`` of the
    best, the one first in ``order`` (simplest first; unknown names rank last).

    Raises:
        ValueError: no finite score.
    """
    finite = {name: float(s) for name, s in scores.items() if np.isfinite(s)}
    if not finite:
        raise ValueError("no model has a finite score to select a champion from")
    best = max(finite.values())
    tied = [name for name, s in finite.items() if s >= best - tie_tolerance]
    rank = {name: i for i, name in enumerate(order)}
    return min(tied, key=lambda name: (rank.get(name, len(rank)), -finite[name], name))


#: Models whose mean DFT macro-F1 lies within this of the best eligible one are judged by
#: the furnace (experimental figures) first: about one standard error of a 10-fold mean
#: macro-F1 on the DFT set (fold sd ~0.017 / sqrt(10)).
EXPERIMENT_F1_TOLERANCE = 0.005

#: The champion rule, as the leaderboard prints it.
CHAMPION_RULE = (
    "Champion rule: a model is eligible only if it accepts at least as many of the "
    "compositions labs have made as the published tolerance factor does (recall on "
    "experimental positives, always from cross-validation folds that held those "
    "compositions out) and, once failed syntheses are recorded, its experimental macro-F1 "
    "is no worse than the tolerance factor's; a model that rejects made compositions is "
    "not champion however well it fits DFT labels. Among eligible models, those within "
    f"{EXPERIMENT_F1_TOLERANCE} of the best mean DFT 10-fold macro-F1 are ranked by "
    "experimental recall (experimental macro-F1 once negatives exist), then by log loss "
    "(experimental once negatives exist, else DFT cross-validated), then by DFT macro-F1, "
    "and a remaining tie goes to the simpler model. If no model is eligible, the one "
    "accepting the most made compositions wins (ties by DFT macro-F1). Without any "
    "experimental labels the champion is the best DFT macro-F1 (ties within "
    f"{DEFAULT_TIE_TOLERANCE} to the simpler model)."
)


@dataclass(frozen=True)
class ChampionDecision:
    """The champion and why each model was or was not eligible.

    Attributes:
        champion: the chosen model.
        eligible: model -> passed the experimental bar.
        reasons: model -> one short sentence (the bar it failed, or its rank key).
        recall_bar: experimental recall a model needed (None without experimental labels).
        rule: the rule text (:data:`CHAMPION_RULE`).
    """

    champion: str
    eligible: Mapping[str, bool]
    reasons: Mapping[str, str]
    recall_bar: float | None
    rule: str = CHAMPION_RULE


def _exp_score(fig: ExperimentalFigures | None, with_negatives: bool) -> float:
    if fig is None:
        return -np.inf
    value = fig.f1_macro if with_negatives else fig.recall
    return -np.inf if value is None else float(value)


def select_champion_with_experiments(
    dft_f1: Mapping[str, float],
    experimental: Mapping[str, ExperimentalFigures | None],
    *,
    log_loss: Mapping[str, float | None] | None = None,
    reference: str = "tolerance_factor_published",
    min_recall: float | None = None,
    f1_tolerance: float = EXPERIMENT_F1_TOLERANCE,
    order: Sequence[str] = COMPLEXITY_ORDER,
    tie_tolerance: float = DEFAULT_TIE_TOLERANCE,
) -> ChampionDecision:
    """The champion by DFT CV figures and experimental figures (:data:`CHAMPION_RULE`).

    Args:
        dft_f1: model -> mean DFT k-fold macro-F1.
        experimental: model -> its cross-validated experimental figures (None: not scored;
            such a model is not eligible once experimental labels exist).
        log_loss: model -> DFT cross-validated log loss (None: no probabilities).
        reference: the model whose experimental figures set the bar (the published line).
        min_recall: explicit recall bar (overrides the reference's recall).

    Raises:
        ValueError: no model has a finite DFT macro-F1.
    """
    names = [n for n, s in dft_f1.items() if s is not None and np.isfinite(s)]
    if not names:
        raise ValueError("no model has a finite score to select a champion from")
    figures = {n: experimental.get(n) for n in names}
    labelled = [f for f in experimental.values() if f is not None]
    if not any(f.n_positive or f.n_negative for f in labelled):
        champion = select_champion({n: dft_f1[n] for n in names}, order=order,
                                   tie_tolerance=tie_tolerance)
        return ChampionDecision(champion, dict.fromkeys(names, True),
                                dict.fromkeys(names, "no experimental labels"), None)
    with_negatives = any(f.n_negative for f in labelled)
    ref = experimental.get(reference)
    bar = min_recall if min_recall is not None else (
        ref.recall if ref is not None and ref.recall is not None else 0.0)
    f1_bar = ref.f1_macro if with_negatives and ref is not None else None
    eligible: dict[str, bool] = {}
    reasons: dict[str, str] = {}
    for n in names:
        fig = figures[n]
        if fig is None:
            eligible[n], reasons[n] = False, "not scored on experimental labels"
        elif fig.recall is not None and fig.recall + 1e-12 < bar:
            eligible[n] = False
            reasons[n] = f"accepts {fig.accepted}/{fig.n_positive} made, below the bar {bar:.3f}"
        elif f1_bar is not None and (fig.f1_macro or 0.0) + 1e-12 < f1_bar:
            eligible[n] = False
            reasons[n] = f"experimental macro-F1 {fig.f1_macro:.3f} below {f1_bar:.3f}"
        else:
            eligible[n], reasons[n] = True, "eligible"
    rank = {n: i for i, n in enumerate(order)}
    losses = log_loss or {}

    def loss_of(n: str) -> float:
        fig = figures[n]
        value = fig.log_loss if with_negatives and fig is not None else losses.get(n)
        return np.inf if value is None or not np.isfinite(value) else float(value)

    pool = [n for n in names if eligible[n]]
    if pool:
        best = max(dft_f1[n] for n in pool)
        contenders = [n for n in pool if dft_f1[n] >= best - f1_tolerance]
        champion = min(contenders, key=lambda n: (
            -_exp_score(figures[n], with_negatives), loss_of(n), -dft_f1[n],
            rank.get(n, len(rank)), n))
    else:
        champion = min(names, key=lambda n: (
            -_exp_score(figures[n], with_negatives), -dft_f1[n], rank.get(n, len(rank)), n))
        reasons[champion] += "; champion because no model reached the bar"
    return ChampionDecision(champion, eligible, reasons, bar)
