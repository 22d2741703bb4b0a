"""Scoring design spaces at scale: streamed, two-stage, bounded top-k."""

from loop.screening.scoring_model import (
    COLUMN_ALIASES,
    ScoringModel,
    as_scoring_models,
    model_features,
    positive_column,
)
from loop.screening.screen import (
    ScreeningResult,
    mean_probability,
    merge_screening_results,
    screen_space,
)
from loop.screening.top_k import TopK, top_indices

__all__ = [
    "COLUMN_ALIASES",
    "ScoringModel",
    "ScreeningResult",
    "TopK",
    "as_scoring_models",
    "mean_probability",
    "merge_screening_results",
    "model_features",
    "positive_column",
    "screen_space",
    "top_indices",
]
