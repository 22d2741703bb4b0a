"""What the registry has observed, as the recommender reads it (``loop.recommend``).

The training frame of a retrain (DFT computed records and experimental labels, an
experimental label replacing the DFT one of the same formula) becomes
:class:`loop.recommend.Observations`: labels for every row, Ehull where a computed record
exists, and log10 of the conductivity at 25 C (S/cm) where a current conductivity record
measured within 5 K of 298.15 K exists (total, else bulk; the geometric mean of a
composition's records), and the NASICON weight fraction from XRD where one is recorded
(:func:`phase_fractions`). A composition with a conductivity and no label is kept for the
conductivity surrogate only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.training_data import training_frame
from loop.recommend import Compositions, Observations
from loop.settings import LabelConfig
from registry import Registry

ROOM_K = 298.15
ROOM_WINDOW_K = 5.0


def conductivity_log10(registry: Registry) -> dict[str, float]:
    """Formula -> mean log10 sigma (S/cm) at 25 C of the current conductivity records."""
    with registry.unit_of_work(write=False) as uow:
        rows = uow.outcomes.find(kinds=("conductivity",))
    values: dict[str, list[float]] = {}
    for row in rows:
        v = row.values
        t = v.get("temperature_k")
        sigma = v.get("sigma_total_s_cm") or v.get("sigma_bulk_s_cm")
        if row.is_retraction or sigma is None or sigma <= 0:
            continue
        if t is not None and abs(float(t) - ROOM_K) > ROOM_WINDOW_K:
            continue
        values.setdefault(row.formula, []).append(float(np.log10(sigma)))
    return {f: float(np.mean(v)) for f, v in values.items()}


def phase_fractions(registry: Registry) -> dict[str, float]:
    """Formula -> NASICON weight fraction (0..1) from the current XRD records.

    A sample's latest current XRD record counts (the one its label comes from): 1 -
    ``impurity_fraction`` when every phase was quantified, 0 for the verdict
    ``no_nasicon``; inconclusive patterns, unquantified phases and samples whose synthesis
    failed (their XRD is not consulted for the label either) give none. A composition
    takes the highest fraction of its samples (one sample that formed shows it can form).
    Retracted and superseded records are left out by :meth:`OutcomeRepository.find`.
    """
    with registry.unit_of_work(write=False) as uow:
        rows = uow.outcomes.find(kinds=("synthesis", "xrd"))
    failed = {
        r.sample_pk for r in rows if r.kind == "synthesis" and r.values.get("succeeded") is False
    }
    latest: dict[int, tuple[int, str, dict]] = {}
    for row in rows:
        if row.kind != "xrd" or row.is_retraction or row.sample_pk in failed:
            continue
        if row.sample_pk not in latest or row.id > latest[row.sample_pk][0]:
            latest[row.sample_pk] = (row.id, row.formula, dict(row.values))
    out: dict[str, float] = {}
    for _, formula, v in latest.values():
        if v.get("verdict") == "no_nasicon":
            fraction = 0.0
        elif v.get("phase_pure") is None or v.get("impurity_fraction") is None:
            continue
        else:
            fraction = 1.0 - float(v["impurity_fraction"])
        out[formula] = max(fraction, out.get(formula, -1.0))
    return out


def registry_observations(registry: Registry, labels: LabelConfig) -> Observations:
    """Every labelled (or conductivity-measured) composition of the registry with the
    signals recorded on it."""
    frame = training_frame(
        registry,
        experimental_weight=labels.experimental_weight,
        ehull_threshold_mev=labels.ehull_threshold_mev,
        impurity_threshold=labels.impurity_threshold,
    )
    sigma = conductivity_log10(registry)
    fraction = phase_fractions(registry)
    extra = sorted(set(sigma) - set(frame["formula"]))
    frame = pd.concat(
        [
            frame.assign(labelled=True),
            pd.DataFrame({"formula": extra, "label": 0, "ehull_mev": np.nan, "labelled": False}),
        ],
        ignore_index=True,
    )
    comps = Compositions.of_formulas(frame["formula"].astype(str).tolist())
    return Observations.of(
        comps,
        frame["label"].to_numpy(dtype=int).astype(bool),
        ehull_mev=frame["ehull_mev"].to_numpy(dtype=float),
        phase_fraction=np.array([fraction.get(f, np.nan) for f in frame["formula"]]),
        log10_sigma=np.array([sigma.get(f, np.nan) for f in frame["formula"]]),
        labelled=frame["labelled"].to_numpy(dtype=bool),
    )
