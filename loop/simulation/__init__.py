"""Campaign backtests against a lookup oracle (the DFT data set), like BayBE's simulation."""

from loop.simulation.campaign import (
    BASELINE,
    BacktestResult,
    CampaignSettings,
    CampaignTrace,
    backtest,
    run_campaign,
    seed_sets,
)
from loop.simulation.figures import discovery_curves_figure
from loop.simulation.pool import LabelledPool, load_dft_pool, read_dft_frame
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
    "discovery_curves_figure",
    "element_amounts",
    "feature_matrix",
    "load_dft_pool",
    "make_surrogate",
    "read_dft_frame",
    "run_campaign",
    "seed_sets",
]
