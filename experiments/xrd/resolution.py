"""The instrument's resolution, found cheaply, and patterns rebinned to it before fitting.

A scan recorded with a step far below the peak width holds no more information per degree
than one with about eight points across the narrowest peak, but costs proportionally more to
fit. Consecutive points are averaged in groups (intensities stay in the file's units, the
noise model sees the averaged noise), never to a step coarser than MAX_STEP_DEG.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from experiments.xrd.readers import Pattern

#: Points kept across the FWHM of the sharpest peak after rebinning.
POINTS_PER_FWHM = 8
#: Rebinning never makes the step coarser than this (deg 2theta).
MAX_STEP_DEG = 0.02
#: Widths outside this range (deg) are clipped: no lab pattern has sharper or broader lines.
FWHM_RANGE_DEG = (0.02, 1.0)


def estimate_fwhm(two_theta: np.ndarray, intensity: np.ndarray) -> float:
    """FWHM (deg) of the strongest peak, from a lightly smoothed copy above a rolling minimum.

    Cost is linear in the number of points (no baseline fit), so it runs on the raw scan.
    """
    x = np.asarray(two_theta, dtype=float)
    y = np.asarray(intensity, dtype=float)
    step = float(np.median(np.diff(x)))
    smooth = uniform_filter1d(y, size=max(1, round(0.01 / step)) | 1)
    window = max(3, round(2.0 / step))
    base = uniform_filter1d(minimum_filter1d(smooth, window), window)
    net = smooth - np.minimum(base, smooth)
    i = int(np.argmax(net))
    half = net[i] / 2.0
    left = i
    while left > 0 and net[left] > half:
        left -= 1
    right = i
    while right < net.size - 1 and net[right] > half:
        right += 1
    return float(np.clip(x[right] - x[left], *FWHM_RANGE_DEG))


def rebin(pattern: Pattern, fwhm_deg: float) -> tuple[Pattern, str | None]:
    """``pattern`` averaged over groups of consecutive points so that about POINTS_PER_FWHM
    remain across ``fwhm_deg`` (deg), and a note; unchanged (no note) when already coarse."""
    x, y = pattern.two_theta, pattern.intensity
    step = float(np.median(np.diff(x)))
    target = min(fwhm_deg / POINTS_PER_FWHM, MAX_STEP_DEG)
    group = int(target // step)
    if group < 2:
        return pattern, None
    n = (x.size // group) * group
    xb = x[:n].reshape(-1, group).mean(axis=1)
    yb = y[:n].reshape(-1, group).mean(axis=1)
    note = (
        f"{x.size:,} points averaged in groups of {group} to {xb.size:,} "
        f"(step {step * group:.4f} deg; sharpest peak FWHM {fwhm_deg:.3f} deg)"
    )
    return dataclasses.replace(pattern, two_theta=xb, intensity=yb), note
