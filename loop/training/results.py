"""What one retrain produces: its settings, the result per model and the whole result, and
the leaderboard rows of ``retrain --json`` (DFT k-fold figures, calibration, experimental
figures out of fold)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from loop.evaluation.cv import CVResult
from loop.evaluation.reproduction import ReproductionResult
from loop.evaluation.selection import CHAMPION_RULE, DEFAULT_TIE_TOLERANCE, ChampionDecision
from loop.models.applicability import ApplicabilityDomain
from loop.models.spec import ModelSpec
from loop.models.zoo import MODELS, select_specs
from loop.training.experimental import EXPERIMENTAL_KEYS, experimental_row, figures_of
from loop.tuning.study import TuningResult

#: Keys of one leaderboard entry in ``retrain --json``.
LEADERBOARD_KEYS = (
    "model",
    "accuracy",
    "f1_macro",
    "balanced_accuracy",
    "roc_auc",
    "f1_macro_sd",
    "brier",
    "log_loss",
    "ece",
    *EXPERIMENTAL_KEYS,
    "params",
)
#: ``--importance`` may name this instead of a model.
CHAMPION = "champion"


@dataclass(frozen=True)
class RetrainSettings:
    """What one retrain does.

    Attributes:
        folds, seed: stratified shuffled k-fold CV shared by comparison and tuning.
        trials: finished optuna trials per tuned model (0 = no tuning).
        timeout_s: wall-time budget of all tuning together, s (split over the tuned models,
            each getting the remaining budget / models left); None = no limit.
        models: models to compare (None = the whole zoo).
        tune: models to tune (None = those of ``models`` whose spec says ``tune``).
        importance: models whose drop-column importance is computed (``"champion"`` allowed).
        tie_tolerance: macro-F1 difference below which the simpler model wins.
        calibrate: wrap each model in its spec's probability calibration (CV and final fit).
    """

    folds: int = 10
    seed: int = 0
    trials: int = 20
    timeout_s: float | None = None
    models: tuple[str, ...] | None = None
    tune: tuple[str, ...] | None = None
    importance: tuple[str, ...] = ("gnb",)
    tie_tolerance: float = DEFAULT_TIE_TOLERANCE
    calibrate: bool = True

    def compared_specs(self) -> list[ModelSpec]:
        """Specs of the compared models, simplest first (raises for an unknown name)."""
        return select_specs(self.models)

    def tuned_specs(self) -> list[ModelSpec]:
        """Specs to tune: explicitly named ones, else the compared ones marked ``tune``."""
        if self.trials <= 0:
            return []
        compared = {s.name for s in self.compared_specs()}
        if self.tune is not None:
            specs = select_specs(self.tune) if self.tune else []
            return [s for s in specs if s.tunable and s.name in compared]
        return [s for s in self.compared_specs() if s.tune and s.tunable]


@dataclass
class ModelResult:
    """Everything one retrain learned about one model."""

    spec: ModelSpec
    params: dict[str, Any]
    cv: CVResult
    default_cv: CVResult
    tuning: TuningResult | None = None
    estimator: BaseEstimator | None = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    importance: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The model's registry name."""
        return self.spec.name

    @property
    def seconds(self) -> float:
        """Total time spent on this model, s."""
        return float(sum(self.timings.values()))

    def leaderboard_row(self) -> dict[str, Any]:
        """The model's entry of the leaderboard (:data:`LEADERBOARD_KEYS`): DFT figures of the
        k-fold CV, then the experimental ones (out of fold)."""
        s = self.cv.summary
        return {
            "model": self.name,
            "accuracy": round(s["accuracy"], 4),
            "f1_macro": round(s["f1_macro"], 4),
            "balanced_accuracy": round(s["balanced_accuracy"], 4),
            "roc_auc": round(s["roc_auc"], 4),
            "f1_macro_sd": round(s["f1_macro_sd"], 4),
            **{k: _round(s.get(k)) for k in ("brier", "log_loss", "ece")},
            **experimental_row(figures_of(self.cv)),
            "params": dict(self.params),
        }

    def work_done(self) -> dict[str, Any]:
        """What this retrain did for the model: tuning trials and seconds per stage."""
        t = self.tuning
        return {
            "tuned": t is not None,
            "trials_run": None if t is None else t.n_run,
            "trials_complete": None if t is None else t.n_complete,
            "trials_pruned": None if t is None else t.n_pruned,
            "seconds": {stage: round(s, 2) for stage, s in self.timings.items()},
        }


@dataclass
class RetrainResult:
    """The outcome of one retrain (nothing stored yet)."""

    round_number: int | None
    settings: RetrainSettings
    models: dict[str, ModelResult]
    champion: str
    tolerance_factor_boundary: tuple[float, float]
    reproduction: ReproductionResult | None
    n_train: int
    training_sha256: str
    class_counts: dict[str, int]
    seconds: float
    decision: ChampionDecision | None = None
    domain: ApplicabilityDomain | None = field(default=None, repr=False)

    @property
    def champion_reason(self) -> str:
        """Why the champion won (its line of the champion decision)."""
        if self.decision is None:
            return "best mean CV macro-F1"
        return self.decision.reasons.get(self.champion, "")

    def leaderboard(self) -> list[dict[str, Any]]:
        """Entries best mean macro-F1 first (ties: simpler model first)."""
        rows = [m.leaderboard_row() for m in self.models.values()]
        order = {name: i for i, name in enumerate(MODELS)}
        return sorted(rows, key=lambda r: (-r["f1_macro"], order.get(r["model"], 99)))

    def to_json(self) -> dict[str, Any]:
        """The ``retrain --json`` document: the keys of issue 5, and ``models``, the work done
        per model (:meth:`ModelResult.work_done`)."""
        a, b = self.tolerance_factor_boundary
        return {
            "leaderboard": self.leaderboard(),
            "champion": self.champion,
            "champion_rule": CHAMPION_RULE if self.decision is None else self.decision.rule,
            "champion_reason": self.champion_reason,
            "eligible": {} if self.decision is None else dict(self.decision.eligible),
            "tolerance_factor_boundary": {"a": round(a, 4), "b": round(b, 4)},
            "published_reproduction": (
                None if self.reproduction is None else self.reproduction.to_json()
            ),
            "n_train": self.n_train,
            "seconds": round(self.seconds, 2),
            "models": {name: r.work_done() for name, r in self.models.items()},
        }



def _round(value: float | None) -> float | None:
    """Rounded metric, None when undefined (probability metrics of a decision value)."""
    return None if value is None or not np.isfinite(value) else round(float(value), 4)



def importance_records(table: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """Importance table as JSON-ready records (rounded)."""
    if table is None:
        return None
    def clean(v: Any) -> Any:
        return round(float(v), 5) if isinstance(v, float | np.floating) else v

    return [{k: clean(v) for k, v in row.items()} for row in table.to_dict("records")]
