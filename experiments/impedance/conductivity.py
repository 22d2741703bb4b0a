"""Conductivity from pellet geometry and the Arrhenius law sigma T = A exp(-Ea / k T)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from experiments.impedance.fitting import ImpedanceFit
from loop.errors import ValidationError

#: Boltzmann constant, eV/K (CODATA 2018, exact).
BOLTZMANN_EV = 8.617333262e-5
ANALYSIS_VERSION = "eis-conductivity-1.0"


@dataclass(frozen=True)
class Conductivity:
    """sigma = L / (R A) in S/cm for the bulk and the total (bulk + grain boundary) resistance."""

    sigma_bulk_s_cm: float
    sigma_bulk_sd_s_cm: float | None
    sigma_total_s_cm: float
    sigma_total_sd_s_cm: float | None
    thickness_mm: float
    area_cm2: float
    temperature_c: float | None = None
    analysis_version: str = ANALYSIS_VERSION
    thickness_from: str = "user"  # "user" (command line) or "file" (stated in the export)
    area_from: str = "user"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def check_geometry(thickness_mm: float, area_cm2: float) -> None:
    """Raise ValidationError unless both pellet dimensions are finite and > 0."""
    for name, value, unit in (("thickness", thickness_mm, "mm"), ("area", area_cm2, "cm2")):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValidationError(f"pellet {name} must be a positive number of {unit}, got {value}")


def conductivity(
    fit: ImpedanceFit,
    thickness_mm: float,
    area_cm2: float,
    *,
    thickness_from: str = "user",
    area_from: str = "user",
) -> Conductivity:
    """Bulk and total conductivity (S/cm) of a pellet of ``thickness_mm`` (mm) and ``area_cm2``.

    ``thickness_from``/``area_from`` record where the numbers came from ("user" or "file").

    Raises:
        ValidationError: thickness or area is not a positive number.
    """
    check_geometry(thickness_mm, area_cm2)
    geom = (thickness_mm / 10.0) / area_cm2  # L/A in 1/cm

    def sigma(r_value: float, r_sd: float) -> tuple[float, float | None]:
        s = geom / r_value
        sd = s * r_sd / r_value if math.isfinite(r_sd) else None
        return float(s), sd

    sb, sb_sd = sigma(fit.r_bulk.value, fit.r_bulk.sd)
    st, st_sd = sigma(fit.r_total.value, fit.r_total.sd)
    return Conductivity(
        sb,
        sb_sd,
        st,
        st_sd,
        thickness_mm,
        area_cm2,
        fit.temperature_c,
        thickness_from=thickness_from,
        area_from=area_from,
    )


@dataclass(frozen=True, eq=False)
class ArrheniusFit:
    """Least-squares line ln(sigma T) = ln A - Ea / (k T); Ea in eV, sigma in S/cm."""

    ea_ev: float
    ea_sd_ev: float
    ln_prefactor: float  # ln(A / (S K cm^-1))
    sigma_25c_s_cm: float
    sigma_25c_sd_s_cm: float
    r_squared: float
    temperatures_c: np.ndarray
    sigma_s_cm: np.ndarray
    analysis_version: str = ANALYSIS_VERSION

    def sigma_at(self, temperature_c: float | np.ndarray) -> np.ndarray:
        """Fitted conductivity (S/cm) at ``temperature_c`` (deg C)."""
        t = np.asarray(temperature_c, dtype=float) + 273.15
        return np.exp(self.ln_prefactor - self.ea_ev / (BOLTZMANN_EV * t)) / t

    def to_dict(self) -> dict:
        return {
            "analysis_version": self.analysis_version,
            "ea_ev": self.ea_ev,
            "ea_sd_ev": self.ea_sd_ev,
            "ln_prefactor": self.ln_prefactor,
            "sigma_25c_s_cm": self.sigma_25c_s_cm,
            "sigma_25c_sd_s_cm": self.sigma_25c_sd_s_cm,
            "r_squared": self.r_squared,
            "temperatures_c": self.temperatures_c.tolist(),
            "sigma_s_cm": self.sigma_s_cm.tolist(),
        }


def arrhenius(temperatures_c: Sequence[float], sigma_s_cm: Sequence[float]) -> ArrheniusFit:
    """Fit ln(sigma T) against 1/T (ordinary least squares) for >= 3 distinct temperatures.

    Raises:
        ValidationError: fewer than 3 points, mismatched lengths, repeated temperatures,
            a temperature at or below 0 K, or a conductivity that is not positive.
    """
    t_c = np.asarray(temperatures_c, dtype=float)
    sig = np.asarray(sigma_s_cm, dtype=float)
    if t_c.size != sig.size:
        raise ValidationError(
            f"{t_c.size} temperatures were given for {sig.size} conductivities; give one each"
        )
    if t_c.size < 3:
        raise ValidationError("an Arrhenius fit needs at least 3 temperatures")
    if np.unique(t_c).size != t_c.size:
        raise ValidationError("the Arrhenius temperatures must all be different")
    if not np.all(np.isfinite(t_c)) or np.any(t_c <= -273.15):
        raise ValidationError("every temperature must be a finite value above absolute zero")
    if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValidationError("every conductivity must be a positive number of S/cm")
    t = t_c + 273.15
    x, y = 1.0 / t, np.log(sig * t)
    fit = stats.linregress(x, y)
    ea = -fit.slope * BOLTZMANN_EV
    ea_sd = fit.stderr * BOLTZMANN_EV
    # sigma at 25 C and its standard error (delta method on the fitted line)
    t25 = 298.15
    n = x.size
    resid = y - (fit.intercept + fit.slope * x)
    s2 = float(resid @ resid) / max(n - 2, 1)
    se_pred = math.sqrt(s2 * (1.0 / n + (1.0 / t25 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2)))
    sigma25 = math.exp(fit.intercept + fit.slope / t25) / t25
    return ArrheniusFit(
        ea_ev=float(ea),
        ea_sd_ev=float(ea_sd),
        ln_prefactor=float(fit.intercept),
        sigma_25c_s_cm=float(sigma25),
        sigma_25c_sd_s_cm=float(sigma25 * se_pred),
        r_squared=float(fit.rvalue**2),
        temperatures_c=t_c,
        sigma_s_cm=sig,
    )
