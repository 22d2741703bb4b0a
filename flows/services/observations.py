"""What the registry has observed, as the recommender reads it (``loop.recommend``).

The training frame of a retrain (DFT computed records and experimental labels, an
experimental label replacing the DFT one of the same formula) becomes
:class:`loop.recommend.Observations`: labels for every row, Ehull where a computed record
exists.
"""

from __future__ import annotations

from experiments.training_data import training_frame
from loop.recommend import Compositions, Observations
from loop.settings import LabelConfig
from registry import Registry


def registry_observations(registry: Registry, labels: LabelConfig) -> Observations:
    """Every labelled composition of the registry with the signals recorded on it
    (one read-only snapshot)."""
    frame = training_frame(
        registry,
        experimental_weight=labels.experimental_weight,
        ehull_threshold_mev=labels.ehull_threshold_mev,
        impurity_threshold=labels.impurity_threshold,
    )
    comps = Compositions.of_formulas(frame["formula"].astype(str).tolist())
    return Observations.of(
        comps,
        frame["label"].to_numpy(dtype=int).astype(bool),
        ehull_mev=frame["ehull_mev"].to_numpy(dtype=float),
    )
