"""Simulated powder patterns of phase mixtures (pymatgen's XRDCalculator, pseudo-Voigt peaks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Structure

from experiments.xrd.profile import caglioti_fwhm, render_peaks


def simulate_pattern(
    components: Sequence[tuple[Structure, float]],
    two_theta: np.ndarray,
    *,
    wavelength_a: float = 1.5406,
    caglioti_uvw: tuple[float, float, float] = (0.004, -0.002, 0.004),
    eta: float = 0.5,
    zero_shift: float = 0.0,
    peak_counts: float = 2.0e4,
    background: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Counts on the ``two_theta`` grid (deg) of a mixture given as (structure, weight fraction).

    Each phase's absolute XRDCalculator intensities are scaled by w / (Z M V) (Hill & Howard),
    broadened with a Caglioti-width pseudo-Voigt, shifted by ``zero_shift`` (deg), scaled so
    the tallest point of the peaks is ``peak_counts``; ``background`` (counts) is added and,
    when ``rng`` is given, Poisson noise drawn.
    """
    grid = np.asarray(two_theta, dtype=float)
    calc = XRDCalculator(wavelength=wavelength_a)
    lo, hi = max(grid.min() - 2.0, 0.5), min(grid.max() + 2.0, 179.0)
    total = np.zeros(grid.size)
    for structure, fraction in components:
        if fraction <= 0:
            continue
        pattern = calc.get_pattern(structure, scaled=False, two_theta_range=(lo, hi))
        tt = np.asarray(pattern.x)
        scale = fraction / (float(structure.composition.weight) * structure.volume)
        fwhm = caglioti_fwhm(tt, *caglioti_uvw)
        total += render_peaks(grid, tt + zero_shift, scale * np.asarray(pattern.y), fwhm, eta)
    counts = total * (peak_counts / total.max())
    if background is not None:
        counts = counts + np.asarray(background, dtype=float)
    if rng is not None:
        counts = rng.poisson(np.clip(counts, 0.0, None)).astype(float)
    return counts
