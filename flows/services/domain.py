"""The applicability domain of a round's training data, for predict and propose.

A retrain fits :class:`loop.models.applicability.ApplicabilityDomain` on its training
compositions and stores it as a hashed skops artifact; every model run of the retrain
records where (metrics ``domain_artifact``: path and SHA-256). :func:`load_domain` loads it
after checking the hash; :func:`domain_verdict` says, per composition, whether it lies in
the training domain and why not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from loop.descriptors import OccupancyBatch
from loop.models.applicability import ApplicabilityDomain, batch_elements
from registry import ModelRunRecord
from registry.artifacts import load_artifact

log = logging.getLogger(__name__)

#: Prefix of a proposal's reason when the composition is outside the training domain.
OUTSIDE = "outside the training domain"


def load_domain(runs: Sequence[ModelRunRecord]) -> ApplicabilityDomain | None:
    """The domain the runs' retrain stored (None for runs stored before domains were)."""
    for run in runs:
        ref = run.metrics.get("domain_artifact")
        if ref:
            return load_artifact(ref["path"], ref["sha256"])
    log.info("no applicability domain stored with these model runs")
    return None


def domain_verdict(
    domain: ApplicabilityDomain | None,
    features: pd.DataFrame,
    batch: OccupancyBatch,
    rows: np.ndarray | None = None,
) -> tuple[list[bool | None], list[str | None]]:
    """(in_domain, reason) per composition (rows ``rows`` of ``features`` / ``batch``; all
    when None); (None, None) each without a stored domain. The reason is None in domain."""
    n = len(features) if rows is None else len(rows)
    if domain is None:
        return [None] * n, [None] * n
    symbols, presence = batch_elements(batch)
    X = features[list(domain.features)].to_numpy(float)
    if rows is not None:
        X, presence = X[rows], presence[rows]
    verdict = domain.check(X, (symbols, presence))
    inside = [bool(v) for v in verdict.in_domain]
    return inside, [None if ok else str(r) for ok, r in zip(inside, verdict.reason, strict=True)]
