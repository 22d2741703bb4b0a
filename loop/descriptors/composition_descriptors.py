"""Composition descriptors, vectorised over an :class:`OccupancyBatch`.

The 12 descriptors of the DFT data set (Ouyang et al.; data-set column in brackets):

=============  ====================================================  ===============
name           definition                                            column
=============  ====================================================  ===============
n_na           Na per formula unit (12 O)                            NNaLst
r_diff         max - min M-site Shannon radius (CN VI), A            RDiffLst
r_std          occupancy-weighted std of M-site radius, A            RDiffStdLst
r_minus_na     mean M-site radius - r(Na+) (1.02 A), A               RDiffNaLst
x_std          weighted std of M-site Pauling electronegativity      EleNegStdLst
x_diff         max - min M-site electronegativity                    XDiffLst
anion_x_std    weighted std of polyanion-centre electronegativity    AnionXStdLst
x_minus_na     mean M-site electronegativity - X(Na) (0.93)          XWithNaLst
q_diff         max - min M-site oxidation state                      ChgDiffLst
q_std          weighted std of M-site oxidation state                ChgStdLst
anion_q_std    weighted std of polyanion-centre oxidation state      AnionChgStdLst
r_ratio_na     mean M-site radius / r(Na+)                           RRatioNaLst
=============  ====================================================  ===============

and the four M-site descriptors of the entropy-NZSP paper (Zuo et al.): ``r_mean_pm``
(mean ionic radius, pm), ``x_mean`` (mean Pauling electronegativity), ``valence_mean``
(mean oxidation state) and ``s_mix_r`` (configurational entropy -sum x ln x over M-site
fractions, in units of R), with ``entropy_class`` low (< 1.0 R), medium (1.0-1.5 R),
high (> 1.5 R).
"""

from __future__ import annotations

import numpy as np

from loop.chemistry import A_SITE_IONS
from loop.chemistry.ions import R_NA, X_NA, pauling_electronegativity
from loop.descriptors.occupancy import OccupancyBatch

#: Data-set descriptor name -> published column of train.csv/test.csv.
DATASET_COLUMNS: dict[str, str] = {
    "n_na": "NNaLst",
    "r_diff": "RDiffLst",
    "r_std": "RDiffStdLst",
    "r_minus_na": "RDiffNaLst",
    "x_std": "EleNegStdLst",
    "x_diff": "XDiffLst",
    "anion_x_std": "AnionXStdLst",
    "x_minus_na": "XWithNaLst",
    "q_diff": "ChgDiffLst",
    "q_std": "ChgStdLst",
    "anion_q_std": "AnionChgStdLst",
    "r_ratio_na": "RRatioNaLst",
}
COMPOSITION_DESCRIPTORS: tuple[str, ...] = tuple(DATASET_COLUMNS)
ENTROPY_DESCRIPTORS: tuple[str, ...] = ("r_mean_pm", "x_mean", "valence_mean", "s_mix_r")

#: Entropy class boundaries, units of R: low < 1.0 <= medium <= 1.5 < high.
MEDIUM_ENTROPY_R = 1.0
HIGH_ENTROPY_R = 1.5
ENTROPY_CLASSES = ("low", "medium", "high")

_A_X = np.array([pauling_electronegativity(ion.element) for ion in A_SITE_IONS])
_A_Q = np.array([float(ion.charge) for ion in A_SITE_IONS])


def _weighted_stats(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = (weights * values).sum(1)
    var = (weights * (values - mean[:, None]) ** 2).sum(1)
    return mean, np.sqrt(np.maximum(var, 0.0))


def _spread(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    hi = np.where(present, values, -np.inf).max(1)
    lo = np.where(present, values, np.inf).min(1)
    return hi - lo


def composition_descriptors(batch: OccupancyBatch) -> dict[str, np.ndarray]:
    """The 12 data-set descriptors plus the 4 entropy-paper descriptors, each (N,)."""
    table = batch.m_ions
    w = batch.m_amount / 2.0  # M-site fractions
    present = batch.m_amount > 0
    r = table.radius_a[batch.m_index]
    x = table.electronegativity[batch.m_index]
    q = table.charge[batch.m_index]
    r_mean, r_std = _weighted_stats(r, w)
    x_mean, x_std = _weighted_stats(x, w)
    q_mean, q_std = _weighted_stats(q, w)
    wa = batch.a_amount / 3.0
    _, anion_x_std = _weighted_stats(np.broadcast_to(_A_X, wa.shape), wa)
    _, anion_q_std = _weighted_stats(np.broadcast_to(_A_Q, wa.shape), wa)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_mix = 0.0 - np.where(present, w * np.log(np.where(present, w, 1.0)), 0.0).sum(1)
    s_mix = np.maximum(s_mix, 0.0)  # no -0.0 for a single cation
    return {
        "n_na": batch.na.copy(),
        "r_diff": _spread(r, present),
        "r_std": r_std,
        "r_minus_na": r_mean - R_NA,
        "x_std": x_std,
        "x_diff": _spread(x, present),
        "anion_x_std": anion_x_std,
        "x_minus_na": x_mean - X_NA,
        "q_diff": _spread(q, present),
        "q_std": q_std,
        "anion_q_std": anion_q_std,
        "r_ratio_na": r_mean / R_NA,
        "r_mean_pm": r_mean * 100.0,
        "x_mean": x_mean,
        "valence_mean": q_mean,
        "s_mix_r": s_mix,
    }


def entropy_class(s_mix_r: np.ndarray) -> np.ndarray:
    """'low' (< 1.0 R), 'medium' (1.0-1.5 R) or 'high' (> 1.5 R) for each entropy."""
    s = np.asarray(s_mix_r, dtype=float)
    # a small tolerance so that 1.0 R written as 0.99999999 is still medium
    idx = (s >= MEDIUM_ENTROPY_R - 1e-9).astype(int) + (s > HIGH_ENTROPY_R + 1e-9)
    return np.asarray(ENTROPY_CLASSES, dtype=object)[idx]
