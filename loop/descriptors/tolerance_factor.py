"""The machine-learned tolerance factor of Ouyang et al. (Nat. Commun. 2021).

    t1 = cbrt(n_na) + anion_q_std^2
    t2 = ewald^2 * x_minus_na * r_std / (ewald(Na3Zr2Si2PO12)^2 * r(Na+))

with ewald in eV/atom and r(Na+) = 1.02 A; a composition is synthetically accessible
when ``0.203 * t1 + t2 <= 0.322``. ``ewald`` and its Na3Zr2Si2PO12 reference must come from
the same source: the engine's mean-field value for candidates, or the data set's own
EWaldSumLst when the published figures are reproduced.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from loop.chemistry.ions import R_NA

PUBLISHED_SLOPE = 0.203
PUBLISHED_INTERCEPT = 0.322
NZSP_FORMULA = "Na3Zr2Si2PO12"


def t1(n_na: np.ndarray, anion_q_std: np.ndarray) -> np.ndarray:
    """t1 = cbrt(Na per f.u.) + (std of polyanion-centre charge)^2."""
    return np.cbrt(np.asarray(n_na, dtype=float)) + np.asarray(anion_q_std, dtype=float) ** 2


def t2(
    ewald_ev_per_atom: np.ndarray,
    x_minus_na: np.ndarray,
    r_std: np.ndarray,
    ewald_nzsp_ev_per_atom: float,
) -> np.ndarray:
    """t2 = E^2 X_M^Na R_M^std, normalised by E(Na3Zr2Si2PO12)^2 * 1.02 A (dimensionless)."""
    e = np.asarray(ewald_ev_per_atom, dtype=float)
    return e**2 * np.asarray(x_minus_na) * np.asarray(r_std) / (ewald_nzsp_ev_per_atom**2 * R_NA)


def published_accessible(
    t1_values: np.ndarray,
    t2_values: np.ndarray,
    slope: float = PUBLISHED_SLOPE,
    intercept: float = PUBLISHED_INTERCEPT,
) -> np.ndarray:
    """The published verdict 0.203 t1 + t2 <= 0.322 (True = accessible)."""
    return slope * np.asarray(t1_values) + np.asarray(t2_values) <= intercept


@lru_cache(maxsize=1)
def engine_nzsp_ewald() -> float:
    """Mean-field Ewald energy of Na3Zr2Si2PO12 from the engine, eV/atom."""
    from loop.chemistry import parse_nasicon
    from loop.descriptors.ewald import ewald_ev_per_atom
    from loop.descriptors.occupancy import batch_from_compositions

    batch = batch_from_compositions([parse_nasicon(NZSP_FORMULA)])
    return float(ewald_ev_per_atom(batch)[0])
