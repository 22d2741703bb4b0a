"""``analyze_pattern``: read (or take) a powder pattern, fit reference phases, give a verdict."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.xrd.fit import fit_profile
from experiments.xrd.readers import Pattern, make_pattern, read_pattern
from experiments.xrd.references import MAIN_PHASE, reference_phases
from loop.errors import ValidationError

log = logging.getLogger(__name__)

ANALYSIS_VERSION = "xrd-fullprofile-1.0"
DEFAULT_WAVELENGTH_A = 1.5406
DEFAULT_IMPURITY_THRESHOLD = 0.02


@dataclass(frozen=True, eq=False)
class XRDAnalysis:
    """Phase analysis of one pattern.

    ``phases`` lists (name, weight fraction) for every reference phase, main phase first;
    ``phase_pure`` is true when no secondary phase exceeds ``impurity_threshold``; ``rwp``
    is the weighted-profile R factor in %; ``zero_shift`` in deg 2theta; ``cell_scales``
    gives the refined a, b, c of each phase relative to its reference cell.
    """

    phases: tuple[tuple[str, float], ...]
    weight_fraction_sd: dict[str, float]
    phase_pure: bool
    rwp: float
    r_exp: float
    zero_shift: float
    cell_scales: dict[str, tuple[float, float, float]]
    impurity_threshold: float
    wavelength_a: float
    composition: str | None
    approximate_phases: tuple[str, ...]
    source: str
    # arrays for plotting (deg 2theta; intensities in the file's units)
    two_theta: np.ndarray
    observed: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    phase_curves: dict[str, np.ndarray]
    peak_positions: dict[str, np.ndarray]
    analysis_version: str = ANALYSIS_VERSION

    @property
    def secondary_phases(self) -> dict[str, float]:
        """Weight fractions of every phase but the main (NASICON) one."""
        return {name: wf for name, wf in self.phases if name != MAIN_PHASE}

    def to_dict(self) -> dict:
        """JSON-ready summary (no arrays)."""
        return {
            "analysis_version": self.analysis_version,
            "source": self.source,
            "phases": [{"name": n, "weight_fraction": wf} for n, wf in self.phases],
            "weight_fraction_sd": dict(self.weight_fraction_sd),
            "phase_pure": self.phase_pure,
            "impurity_threshold": self.impurity_threshold,
            "rwp": self.rwp,
            "r_exp": self.r_exp,
            "zero_shift_deg": self.zero_shift,
            "cell_scales": {k: list(v) for k, v in self.cell_scales.items()},
            "wavelength_a": self.wavelength_a,
            "composition": self.composition,
            "approximate_phases": list(self.approximate_phases),
        }


def analyze_pattern(
    path_or_arrays: str | Path | Pattern | tuple[np.ndarray, np.ndarray],
    *,
    wavelength_a: float = DEFAULT_WAVELENGTH_A,
    impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD,
    composition: str | None = None,
    kalpha2_ratio: float = 0.0,
) -> XRDAnalysis:
    """Background (SNIP), full-profile fit of NASICON + by-products, weight fractions, verdict.

    ``path_or_arrays`` is a pattern file, a :class:`Pattern`, or (2theta deg, intensity)
    arrays. ``wavelength_a`` is the (Ka1) wavelength in A; ``kalpha2_ratio`` > 0 adds a Ka2
    component of that relative intensity (0.5 for an unmonochromated Cu tube).
    ``composition`` decorates the NASICON prototype (default Na3Zr2Si2PO12).

    Raises:
        ValidationError / DataMissingError: unreadable or invalid pattern, or bad options.
        CompositionError: ``composition`` is not a NASICON formula.
    """
    if not (isinstance(wavelength_a, int | float) and 0.1 < wavelength_a < 5.0):
        raise ValidationError(f"wavelength must be between 0.1 and 5 A, got {wavelength_a}")
    if not 0.0 <= impurity_threshold <= 1.0:
        raise ValidationError(
            f"impurity threshold must be between 0 and 1, got {impurity_threshold}"
        )
    if not 0.0 <= kalpha2_ratio <= 1.0:
        raise ValidationError(f"Ka2/Ka1 ratio must be between 0 and 1, got {kalpha2_ratio}")
    pattern = _as_pattern(path_or_arrays)
    if pattern.wavelength_a and abs(pattern.wavelength_a - wavelength_a) > 1e-3:
        log.warning(
            "%s declares a wavelength of %.5f A but %.5f A is used",
            pattern.source,
            pattern.wavelength_a,
            wavelength_a,
        )
    phases = reference_phases(composition)
    fit = fit_profile(
        pattern.two_theta,
        pattern.intensity,
        phases,
        wavelength_a=wavelength_a,
        kalpha2_ratio=kalpha2_ratio,
    )
    names = fit.phase_names
    fractions = tuple((n, float(w)) for n, w in zip(names, fit.weight_fractions, strict=True))
    pure = is_phase_pure(fractions, impurity_threshold)
    log.info("XRD %s: %s, Rwp %.2f %%", pattern.source, fractions, fit.rwp)
    return XRDAnalysis(
        phases=fractions,
        weight_fraction_sd={
            n: float(s) for n, s in zip(names, fit.weight_fraction_sd, strict=True)
        },
        phase_pure=pure,
        rwp=fit.rwp,
        r_exp=fit.r_exp,
        zero_shift=fit.zero_shift,
        cell_scales=dict(zip(names, fit.cell_scales, strict=True)),
        impurity_threshold=impurity_threshold,
        wavelength_a=float(wavelength_a),
        composition=composition,
        approximate_phases=tuple(ph.name for ph in phases if ph.approximate),
        source=pattern.source,
        two_theta=pattern.two_theta,
        observed=pattern.intensity,
        calculated=fit.calculated,
        background=fit.background,
        phase_curves={n: fit.phase_curves[:, i] for i, n in enumerate(names)},
        peak_positions=dict(zip(names, fit.peak_positions, strict=True)),
    )


def is_phase_pure(phases: tuple[tuple[str, float], ...], impurity_threshold: float) -> bool:
    """True when no phase other than NASICON exceeds ``impurity_threshold`` (weight fraction)."""
    return all(w <= impurity_threshold for name, w in phases if name != MAIN_PHASE)


def _as_pattern(obj: str | Path | Pattern | tuple[np.ndarray, np.ndarray]) -> Pattern:
    if isinstance(obj, Pattern):
        return make_pattern(
            obj.two_theta, obj.intensity, source=obj.source, wavelength_a=obj.wavelength_a
        )
    if isinstance(obj, str | Path):
        return read_pattern(obj)
    try:
        x, y = obj
    except (TypeError, ValueError):
        raise ValidationError(
            "give a pattern file or a pair of (2-theta, intensity) arrays"
        ) from None
    return make_pattern(x, y, source="arrays")
