"""The outcome of a phase analysis: a verdict with its reason, and the numbers behind it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from experiments.xrd.detect import LineCheck, Peak
from experiments.xrd.references import MAIN_PHASE
from loop.settings import XRDConfig

ANALYSIS_VERSION = "xrd-fullprofile-2.0"
#: phase_pure / impure: NASICON found and the fit explains the pattern (fractions reported);
#: no_nasicon: NASICON's strongest lines are not there (no NASICON fraction at all);
#: inconclusive: NASICON's lines are there but the fit does not explain the pattern.
VERDICTS = ("phase_pure", "impure", "no_nasicon", "inconclusive")


@dataclass(frozen=True)
class Criteria:
    """Thresholds of the verdict (the ``[xrd]`` settings).

    ``impurity_threshold``: secondary weight fraction above which a sample is impure;
    ``detection_sigma``: significance each of NASICON's strongest lines must reach;
    ``max_rwp``: R_wp (%) above which the fit does not explain the pattern;
    ``residual_sigma`` and ``residual_fraction``: an unexplained peak in the difference curve
    at least this significant and this high relative to the strongest NASICON peak.
    """

    impurity_threshold: float = 0.02
    detection_sigma: float = 5.0
    max_rwp: float = 25.0
    residual_sigma: float = 10.0
    residual_fraction: float = 0.05

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)

    @classmethod
    def from_settings(cls, xrd: XRDConfig) -> Criteria:
        """The thresholds of the ``[xrd]`` settings."""
        return cls(
            impurity_threshold=xrd.impurity_threshold,
            detection_sigma=xrd.detection_sigma,
            max_rwp=xrd.max_rwp,
            residual_sigma=xrd.residual_sigma,
            residual_fraction=xrd.residual_fraction,
        )


@dataclass(frozen=True, eq=False)
class XRDAnalysis:
    """Phase analysis of one pattern.

    ``phases`` lists (name, weight fraction) for every phase in the fit, NASICON first, and
    only when the verdict is phase_pure or impure; ``fitted_phases`` holds the fit's fractions
    whatever the verdict (empty when no fit was made), for a person to look at. ``rwp`` and
    ``r_exp`` are in %, ``zero_shift`` in deg 2theta; ``cell_scales`` gives each phase's
    refined axes relative to its reference cell (NASICON: of the R-3c prototype's hexagonal
    cell, also when the monoclinic form was fitted; ``nasicon_cell`` has the refined cell).
    """

    verdict: str
    reason: str
    phases: tuple[tuple[str, float], ...]
    weight_fraction_sd: dict[str, float]
    fitted_phases: tuple[tuple[str, float], ...]
    nasicon_form: str | None
    nasicon_cell: dict[str, float | str] | None
    nasicon_lines: tuple[LineCheck, ...]
    unexplained_peaks: tuple[Peak, ...]
    rwp: float | None
    r_exp: float | None
    zero_shift: float | None
    kalpha2_ratio: float | None  # I(Ka2)/I(Ka1) of the fit (refined for Cu unless given)
    cell_scales: dict[str, tuple[float, ...]]
    criteria: Criteria
    wavelength_a: float
    composition: str | None
    approximate_phases: tuple[str, ...]
    source: str
    # arrays for plotting (deg 2theta; intensities in the file's units, after any rebinning)
    two_theta: np.ndarray
    observed: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    phase_curves: dict[str, np.ndarray]
    peak_positions: dict[str, np.ndarray]
    notes: tuple[str, ...] = field(default=())
    analysis_version: str = ANALYSIS_VERSION

    @property
    def phase_pure(self) -> bool:
        """True only for the verdict phase_pure."""
        return self.verdict == "phase_pure"

    @property
    def impurity_threshold(self) -> float:
        return self.criteria.impurity_threshold

    @property
    def nasicon_fraction(self) -> float | None:
        """NASICON weight fraction; None unless the verdict is phase_pure or impure."""
        return dict(self.phases).get(MAIN_PHASE) if self.phases else None

    def to_dict(self) -> dict:
        """JSON-ready summary (no arrays)."""
        return {
            "analysis_version": self.analysis_version,
            "source": self.source,
            "verdict": self.verdict,
            "reason": self.reason,
            "nasicon_fraction": self.nasicon_fraction,
            "phases": [{"name": n, "weight_fraction": wf} for n, wf in self.phases],
            "weight_fraction_sd": dict(self.weight_fraction_sd),
            "fitted_phases": [{"name": n, "weight_fraction": wf} for n, wf in self.fitted_phases],
            "nasicon_form": self.nasicon_form,
            "nasicon_cell": self.nasicon_cell,
            "nasicon_lines": [c.to_dict() for c in self.nasicon_lines],
            "unexplained_peaks": [p.to_dict() for p in self.unexplained_peaks],
            "rwp": _finite(self.rwp),
            "r_exp": _finite(self.r_exp),
            "zero_shift_deg": _finite(self.zero_shift),
            "kalpha2_ratio": _finite(self.kalpha2_ratio),
            "cell_scales": {k: list(v) for k, v in self.cell_scales.items()},
            "criteria": self.criteria.to_dict(),
            "wavelength_a": self.wavelength_a,
            "composition": self.composition,
            "approximate_phases": list(self.approximate_phases),
            "notes": list(self.notes),
        }


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
