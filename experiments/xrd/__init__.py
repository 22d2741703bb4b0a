"""Powder XRD of NASICON pellets: read lab exports, find NASICON, fit reference phases, verdict."""

from experiments.xrd.analysis import ANALYSIS_VERSION, VERDICTS, Criteria, analyze_pattern
from experiments.xrd.readers import Pattern, make_pattern, read_pattern
from experiments.xrd.references import (
    MAIN_PHASE,
    ReferencePhase,
    nasicon_phase,
    nasicon_structure,
    reference_phases,
    user_phases,
)
from experiments.xrd.result import XRDAnalysis

__all__ = [
    "ANALYSIS_VERSION",
    "MAIN_PHASE",
    "VERDICTS",
    "Criteria",
    "Pattern",
    "ReferencePhase",
    "XRDAnalysis",
    "analyze_pattern",
    "make_pattern",
    "nasicon_phase",
    "nasicon_structure",
    "read_pattern",
    "reference_phases",
    "user_phases",
]
