"""Campaign backtests against a lookup oracle (the DFT data set), like BayBE's simulation:
the campaign calls the recommender ``nasicon propose`` uses (:mod:`loop.recommend`)."""

from loop.simulation.campaign import (
    BASELINE,
    BacktestResult,
    CampaignSettings,
    CampaignTrace,
    backtest,
    run_campaign,
    seed_sets,
    simulation_step,
    step_seed,
)
from loop.simulation.figures import discovery_curves_figure
from loop.simulation.pool import LabelledPool, dft_pool
from loop.simulation.surrogate import (
    FEATURE_SETS,
    SURROGATES,
    CommitteeSurrogate,
    EhullSurrogate,
    GPEhullSurrogate,
    MixtureSurrogate,
    Surrogate,
    element_amounts,
    feature_matrix,
    make_surrogate,
)

__all__ = [
    "BASELINE",
    "FEATURE_SETS",
    "SURROGATES",
    "BacktestResult",
    "CampaignSettings",
    "CampaignTrace",
    "CommitteeSurrogate",
    "EhullSurrogate",
    "GPEhullSurrogate",
    "LabelledPool",
    "MixtureSurrogate",
    "Surrogate",
    "backtest",
    "dft_pool",
    "discovery_curves_figure",
    "element_amounts",
    "feature_matrix",
    "make_surrogate",
    "run_campaign",
    "seed_sets",
    "simulation_step",
    "step_seed",
]
