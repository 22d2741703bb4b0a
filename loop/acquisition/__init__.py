"""Acquisition: how candidates are scored (exploit, uncertainty, UCB, random), committees."""

from loop.acquisition.committee import committee_probabilities, members
from loop.acquisition.strategies import (
    STRATEGIES,
    AcquisitionStrategy,
    ExploitStrategy,
    RandomStrategy,
    Recommendation,
    UCBStrategy,
    UncertaintyStrategy,
    make_strategy,
    strategy_from_json,
    strategy_names,
)

__all__ = [
    "STRATEGIES",
    "AcquisitionStrategy",
    "ExploitStrategy",
    "RandomStrategy",
    "Recommendation",
    "UCBStrategy",
    "UncertaintyStrategy",
    "committee_probabilities",
    "make_strategy",
    "members",
    "strategy_from_json",
    "strategy_names",
]
