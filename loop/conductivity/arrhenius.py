"""Arrhenius fits: conductivities at other temperatures brought to 25 C, never silently.

    sigma T = A exp(-Ea / (k_B T))   =>   log10(sigma T) = log10 A - Ea / (k_B T ln 10)

with sigma in S/cm, T in K, Ea in eV. A value measured at another temperature is brought
to 25 C (298.15 K) only through a fit of the *same* composition and source (>= 2 distinct
temperatures); a group with one temperature away from 25 C gives no 25 C target (kept,
counted, not used).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loop.errors import ValidationError

#: Boltzmann constant, eV/K.
K_B_EV = 8.617333262e-5
#: 25 C in K.
T_25C_K = 298.15
#: A measurement within this many K of 25 C counts as a 25 C value (24.85 C, 25 C).
ROOM_TOLERANCE_K = 1.0

#: How a group's 25 C target was obtained.
MEASURED, FITTED, UNUSABLE = "measured at 25 C", "Arrhenius fit", "one temperature, not 25 C"


@dataclass(frozen=True)
class ArrheniusFit:
    """A least-squares line log10(sigma T) = intercept - slope_k / T.

    Attributes:
        ea_ev: activation energy, eV.
        intercept: log10(A), A in S K/cm.
        residual: root-mean-square residual of log10(sigma T) (decades).
        n: points fitted; t_min_k, t_max_k: the temperature range, K.
    """

    ea_ev: float
    intercept: float
    residual: float
    n: int
    t_min_k: float
    t_max_k: float

    def log10_sigma(self, temperature_k: np.ndarray | float) -> np.ndarray:
        """log10 sigma (S/cm) the fit gives at ``temperature_k`` (K)."""
        t = np.asarray(temperature_k, dtype=float)
        return self.intercept - self.ea_ev / (K_B_EV * np.log(10.0) * t) - np.log10(t)


def fit_arrhenius(temperature_k: np.ndarray, sigma_s_cm: np.ndarray) -> ArrheniusFit:
    """Fit log10(sigma T) against 1/T.

    Raises:
        ValidationError: fewer than 2 distinct temperatures, or a non-positive value.
    """
    t = np.asarray(temperature_k, dtype=float)
    s = np.asarray(sigma_s_cm, dtype=float)
    if t.shape != s.shape or (t <= 0).any() or (s <= 0).any():
        raise ValidationError("Arrhenius fit needs positive temperatures (K) and conductivities")
    if np.unique(np.round(t, 6)).size < 2:
        raise ValidationError("Arrhenius fit needs at least 2 distinct temperatures")
    x, y = 1.0 / t, np.log10(s * t)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sqrt(np.mean((y - (slope * x + intercept)) ** 2)))
    ea = float(-slope * K_B_EV * np.log(10.0))
    return ArrheniusFit(ea, float(intercept), residual, int(t.size), float(t.min()), float(t.max()))


def targets_25c(
    frame: pd.DataFrame, keys: tuple[str, ...] = ("formula", "reference")
) -> pd.DataFrame:
    """One 25 C target per (composition, source) group.

    Args:
        frame: rows with ``keys``, ``temperature_k`` (K) and ``sigma_s_cm`` (S/cm).

    Returns:
        One row per group: the keys, ``log10_sigma_25c`` (NaN when unusable), ``origin``
        (:data:`MEASURED`: mean of the values within 1 K of 25 C; :data:`FITTED`: the
        group's Arrhenius line at 298.15 K when it has no 25 C value; :data:`UNUSABLE`),
        ``n_points``, ``ea_fit_ev`` and ``fit_residual`` (decades; NaN without a fit),
        ``t_min_k``, ``t_max_k``.
    """
    rows = []
    for key, group in frame.groupby(list(keys), sort=True, dropna=False):
        t = group["temperature_k"].to_numpy(float)
        s = group["sigma_s_cm"].to_numpy(float)
        at_25 = np.abs(t - T_25C_K) <= ROOM_TOLERANCE_K
        fit = None
        if np.unique(np.round(t, 6)).size >= 2:
            fit = fit_arrhenius(t, s)
        if at_25.any():
            value, origin = float(np.log10(s[at_25]).mean()), MEASURED
        elif fit is not None:
            value, origin = float(fit.log10_sigma(T_25C_K)), FITTED
        else:
            value, origin = float("nan"), UNUSABLE
        rows.append(
            {
                **dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
                "log10_sigma_25c": value,
                "origin": origin,
                "n_points": int(t.size),
                "ea_fit_ev": np.nan if fit is None else fit.ea_ev,
                "fit_residual": np.nan if fit is None else fit.residual,
                "t_min_k": float(t.min()),
                "t_max_k": float(t.max()),
            }
        )
    columns = [*keys, "log10_sigma_25c", "origin", "n_points", "ea_fit_ev", "fit_residual"]
    return pd.DataFrame(rows, columns=[*columns, "t_min_k", "t_max_k"])
