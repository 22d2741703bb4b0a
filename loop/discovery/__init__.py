"""Descriptor discovery: feature-space expansion, SIS and machine-learned ranking (MLR).

The search of Ouyang et al. (Nat. Commun. 2021) that found the NASICON tolerance factor,
re-runnable on a lab's own data: :func:`discover` expands primary features into formulas,
screens them by correlation with Ehull(1000 K), ranks every pair of the survivors with a
linear ranking SVM by held-out pairwise ranking accuracy, and fits a class-balanced linear
SVC (:class:`DescriptorClassifier`) in the best 2D space. Arrays and DataFrames in, results
out: no file is read here.
"""

from loop.discovery.classifier import (
    ENGINE_TOLERANCE_FACTOR,
    DescriptorClassifier,
    accessible_labels,
)
from loop.discovery.feature_space import (
    BINARY_OPERATORS,
    UNARY_OPERATORS,
    FeatureSpace,
    FeatureSpaceStats,
    expand_features,
)
from loop.discovery.formulas import evaluate_formula, formula_features
from loop.discovery.pair_search import PairScores, rank_feature_pairs
from loop.discovery.ranking import (
    RankingSVM,
    concordant_pairs,
    distinct_pairs,
    fit_pair_directions,
    pairwise_ranking_accuracy,
    sample_pairs,
)
from loop.discovery.search import (
    PUBLISHED_DATASET_FORMULAS,
    PUBLISHED_ENGINE_FORMULAS,
    DiscoveryResult,
    PairResult,
    discover,
    paper_split,
    random_split,
    score_pair,
)
from loop.discovery.sis import SISResult, sure_independence_screening

__all__ = [
    "BINARY_OPERATORS",
    "ENGINE_TOLERANCE_FACTOR",
    "PUBLISHED_DATASET_FORMULAS",
    "PUBLISHED_ENGINE_FORMULAS",
    "UNARY_OPERATORS",
    "DescriptorClassifier",
    "DiscoveryResult",
    "FeatureSpace",
    "FeatureSpaceStats",
    "PairResult",
    "PairScores",
    "RankingSVM",
    "SISResult",
    "accessible_labels",
    "concordant_pairs",
    "discover",
    "distinct_pairs",
    "evaluate_formula",
    "expand_features",
    "fit_pair_directions",
    "formula_features",
    "pairwise_ranking_accuracy",
    "paper_split",
    "random_split",
    "rank_feature_pairs",
    "sample_pairs",
    "score_pair",
    "sure_independence_screening",
]
