"""Training data from the registry: DFT labels plus experimental labels, one row per formula.

* DFT label: Ehull(1000 K) <= ``ehull_threshold_mev`` -> 1 (accessible), else 0;
  weight 1. When several computed sources hold a composition, the first imported wins.
* Experimental label: from current (corrected, non-retracted) synthesis and XRD
  records through :mod:`experiments.labels`; weight ``experimental_weight``.
* An experimental label outranks the DFT label of the same composition: that
  composition appears once, with source ``experiment`` (its Ehull kept for reference).

Rows are ordered deterministically (DFT rows in import order, then experimental-only
rows by formula), so :func:`frame_sha256` identifies a training set.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from experiments.labels import DEFAULT_IMPURITY_THRESHOLD, labels_frame
from registry import Registry

COLUMNS = ("formula", "label", "source", "weight", "ehull_mev")
DTYPES = {"formula": str, "label": int, "source": str, "weight": float, "ehull_mev": float}


def training_frame(
    registry: Registry,
    *,
    experimental_weight: float = 5.0,
    ehull_threshold_mev: float = 0.0,
    impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD,
) -> pd.DataFrame:
    """Labelled compositions for training.

    Returns:
        Columns ``formula`` (canonical), ``label`` (1 accessible/synthesizable, 0 not),
        ``source`` ('dft' or 'experiment'), ``weight``, ``ehull_mev`` (DFT Ehull(1000 K),
        meV/atom; NaN where no DFT record exists).
    """
    with registry.unit_of_work(write=False) as uow:  # one consistent snapshot
        computed = uow.computed.frame()
        outcomes = uow.outcomes.find(kinds=("synthesis", "xrd"))
    if len(computed):
        dft = computed.drop_duplicates("formula", keep="first")[["formula", "ehull_mev"]]
        dft = dft.assign(
            label=(dft["ehull_mev"] <= ehull_threshold_mev).astype(int), source="dft", weight=1.0
        )
    else:
        dft = pd.DataFrame(columns=["formula", "ehull_mev", "label", "source", "weight"])
    exp = labels_frame(outcomes, impurity_threshold)
    ehull = dict(zip(dft["formula"], dft["ehull_mev"], strict=True))
    exp_rows = pd.DataFrame(
        {
            "formula": exp["formula"],
            "label": exp["label"].astype(int),
            "source": "experiment",
            "weight": float(experimental_weight),
            "ehull_mev": [ehull.get(f, np.nan) for f in exp["formula"]],
        }
    )
    overridden = set(exp_rows["formula"])
    in_dft = dft["formula"].isin(overridden)
    by_formula = exp_rows.set_index("formula")
    replaced = by_formula.loc[dft.loc[in_dft, "formula"]].reset_index()
    parts = [
        dft.loc[~in_dft, list(COLUMNS)],
        replaced[list(COLUMNS)],
        exp_rows.loc[~exp_rows["formula"].isin(set(dft["formula"])), list(COLUMNS)],
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in DTYPES.items()})
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype(DTYPES)


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a training frame's CSV text (identifies the exact training set)."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
