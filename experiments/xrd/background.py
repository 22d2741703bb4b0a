"""Background of a powder pattern: SNIP (pybaselines) plus a smooth Chebyshev correction basis."""

from __future__ import annotations

import numpy as np
from pybaselines import Baseline

#: Half width (deg 2theta) of the widest feature SNIP clips; wider features count as background.
SNIP_HALF_WIDTH_DEG = 2.0


def snip_background(two_theta: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """SNIP baseline (same units as ``intensity``) of a pattern on a 2theta grid (deg).

    The square-root transform makes the clipping act on roughly constant Poisson noise;
    a short moving average keeps the noise from pulling the baseline down.
    """
    x = np.asarray(two_theta, dtype=float)
    y = np.clip(np.asarray(intensity, dtype=float), 0.0, None)
    step = float(np.median(np.diff(x)))
    half_window = max(3, round(SNIP_HALF_WIDTH_DEG / step))
    half_window = min(half_window, max(3, (x.size - 1) // 4))
    smooth = max(1, round(0.05 / step))
    root = np.sqrt(y)
    base, _ = Baseline(x).snip(
        root, max_half_window=half_window, decreasing=True, smooth_half_window=smooth
    )
    return np.minimum(np.clip(base, 0.0, None) ** 2, y.max())


def chebyshev_basis(two_theta: np.ndarray, degree: int) -> np.ndarray:
    """Chebyshev polynomials T_0..T_degree on the pattern's 2theta range, shape (N, degree+1)."""
    x = np.asarray(two_theta, dtype=float)
    u = 2.0 * (x - x.min()) / max(x.max() - x.min(), 1e-12) - 1.0
    return np.polynomial.chebyshev.chebvander(u, degree)
