"""Impedance spectroscopy of solid-electrolyte pellets: read spectra, fit equivalent circuits,
conductivity from the pellet geometry, Arrhenius activation energy, plots.
"""

from experiments.impedance.conductivity import (
    ArrheniusFit,
    Conductivity,
    arrhenius,
    check_geometry,
    conductivity,
)
from experiments.impedance.fitting import (
    ANALYSIS_VERSION,
    Estimate,
    FitDidNotConvergeError,
    ImpedanceFit,
    fit_spectrum,
)
from experiments.impedance.geometry import Pellet, PelletGeometry, resolve_pellet
from experiments.impedance.readers import Spectrum, make_spectrum, read_spectrum

__all__ = [
    "ANALYSIS_VERSION",
    "ArrheniusFit",
    "Conductivity",
    "Estimate",
    "FitDidNotConvergeError",
    "ImpedanceFit",
    "Pellet",
    "PelletGeometry",
    "Spectrum",
    "arrhenius",
    "check_geometry",
    "conductivity",
    "fit_spectrum",
    "make_spectrum",
    "read_spectrum",
    "resolve_pellet",
]
