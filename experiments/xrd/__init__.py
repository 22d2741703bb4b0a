"""Powder XRD of NASICON pellets: read lab exports, fit reference phases, phase-purity verdict."""

from experiments.xrd.analysis import ANALYSIS_VERSION, XRDAnalysis, analyze_pattern
from experiments.xrd.readers import Pattern, make_pattern, read_pattern
from experiments.xrd.references import (
    MAIN_PHASE,
    ReferencePhase,
    nasicon_structure,
    reference_phases,
)

__all__ = [
    "ANALYSIS_VERSION",
    "MAIN_PHASE",
    "Pattern",
    "ReferencePhase",
    "XRDAnalysis",
    "analyze_pattern",
    "make_pattern",
    "nasicon_structure",
    "read_pattern",
    "reference_phases",
]
