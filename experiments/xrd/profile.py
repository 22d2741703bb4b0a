"""Peak shapes: area-normalised pseudo-Voigt peaks with a Caglioti width, drawn on a 2theta grid.

All angles are in degrees 2theta; widths are full widths at half maximum (FWHM, deg).
"""

from __future__ import annotations

import numpy as np

#: Peaks are drawn out to this many FWHM either side of their centre.
WINDOW_FWHM = 15.0

_LN2 = np.log(2.0)
_G_NORM = 2.0 * np.sqrt(_LN2 / np.pi)


def caglioti_fwhm(two_theta: np.ndarray, u: float, v: float, w: float) -> np.ndarray:
    """FWHM (deg) from H^2 = U tan^2(theta) + V tan(theta) + W (U, V, W in deg^2)."""
    t = np.tan(np.radians(np.asarray(two_theta, dtype=float) / 2.0))
    h2 = u * t * t + v * t + w
    return np.sqrt(np.maximum(h2, 1e-8))


def pseudo_voigt(dx: np.ndarray, fwhm: np.ndarray, eta: float) -> np.ndarray:
    """Unit-area pseudo-Voigt at offsets ``dx`` (deg) from the centre: eta L + (1 - eta) G."""
    x2 = (dx / fwhm) ** 2
    gauss = _G_NORM / fwhm * np.exp(-4.0 * _LN2 * x2)
    lorentz = 2.0 / (np.pi * fwhm) / (1.0 + 4.0 * x2)
    return eta * lorentz + (1.0 - eta) * gauss


def render_peaks(
    grid: np.ndarray,
    centres: np.ndarray,
    areas: np.ndarray,
    fwhm: np.ndarray,
    eta: float,
) -> np.ndarray:
    """Sum of pseudo-Voigt peaks (integrated intensity ``areas``) sampled on a sorted ``grid``.

    Each peak is evaluated only within +-``WINDOW_FWHM`` FWHM of its centre, so the cost is
    proportional to the number of points under the peaks, not to peaks x grid points.
    """
    grid = np.asarray(grid, dtype=float)
    centres = np.asarray(centres, dtype=float)
    areas = np.asarray(areas, dtype=float)
    fwhm = np.broadcast_to(np.asarray(fwhm, dtype=float), centres.shape)
    out = np.zeros(grid.size)
    keep = (areas != 0) & np.isfinite(centres)
    if not keep.any():
        return out
    centres, areas, fwhm = centres[keep], areas[keep], fwhm[keep]
    half = WINDOW_FWHM * fwhm
    lo = np.searchsorted(grid, centres - half, side="left")
    hi = np.searchsorted(grid, centres + half, side="right")
    counts = hi - lo
    nonempty = counts > 0
    if not nonempty.any():
        return out
    lo, counts = lo[nonempty], counts[nonempty]
    centres, areas, fwhm = centres[nonempty], areas[nonempty], fwhm[nonempty]
    peak = np.repeat(np.arange(counts.size), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(lo, counts) + (np.arange(peak.size) - starts)
    values = areas[peak] * pseudo_voigt(grid[idx] - centres[peak], fwhm[peak], eta)
    return np.bincount(idx, weights=values, minlength=grid.size)
