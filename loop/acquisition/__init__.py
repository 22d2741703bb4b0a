"""Acquisition: which candidates to make next (exploit, uncertainty, UCB, random), diversely."""

from loop.acquisition.committee import committee_probabilities, members
from loop.acquisition.diversity import select_diverse, standardise
from loop.acquisition.strategies import (
    STRATEGIES,
    Candidates,
    ExploitStrategy,
    RandomStrategy,
    Recommendation,
    Recommender,
    UCBStrategy,
    UncertaintyStrategy,
    make_strategy,
    strategy_from_json,
    strategy_names,
)

__all__ = [
    "STRATEGIES",
    "Candidates",
    "ExploitStrategy",
    "RandomStrategy",
    "Recommendation",
    "Recommender",
    "UCBStrategy",
    "UncertaintyStrategy",
    "committee_probabilities",
    "make_strategy",
    "members",
    "select_diverse",
    "standardise",
    "strategy_from_json",
    "strategy_names",
]
