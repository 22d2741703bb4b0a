"""Is NASICON there at all? A direct test on its strongest lines, before any quantification.

1. Noise: var(y) = g * y with the gain g estimated from second differences of neighbouring
   points near the background (Poisson counts give g = 1; count rates or averaged data give
   their own g).
2. Observed peaks: maxima of the background-subtracted pattern, smoothed over half a FWHM,
   with their height and significance (height / its standard deviation).
3. NASICON's strongest lines: its reflections are merged into resolved lines (closer than 0.7
   FWHM) and the K strongest within the scan are taken (K <= 8, each >= 15 % of the
   strongest). Over a grid of cell scales (the allowed range of the reference, which covers
   doping and thermal strain; every axis of the form free) and with one common
   zero offset (median of the line offsets, at most MAX_ZERO_OFFSET_DEG), each line is matched
   to the nearest observed peak within half a FWHM (at least 0.05 deg); one peak explains one
   line.
4. NASICON is present when, at the best cell, every one of the K lines is matched by a peak of
   at least ``min_significance`` and the net areas under the lines agree with NASICON's
   relative intensities within a factor 1 / MIN_INTENSITY_RATIO (texture, overlap allowance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks as _scipy_find_peaks

from experiments.xrd.reflections import ReflectionSet

#: Median of a chi-square variable with one degree of freedom.
_CHI2_1_MEDIAN = 0.454936
#: NASICON lines tested: those above this fraction of the strongest, at most MAX_LINES.
LINE_FRACTION = 0.15
MAX_LINES = 8
MIN_LINES = 3
#: Observed heights may differ from NASICON's relative intensities by up to 1/this factor.
MIN_INTENSITY_RATIO = 0.2
#: Largest common 2theta offset (zero shift, sample displacement) allowed, deg.
MAX_ZERO_OFFSET_DEG = 0.2
#: Grid step of the cell scales searched.
SCALE_STEP = 0.002
#: Reflections closer than this many FWHM appear as one peak and are merged into one line.
MERGE_FWHM = 0.7
#: Observed peaks below this significance are not candidates at all.
CANDIDATE_SIGMA = 3.0


@dataclass(frozen=True)
class Noise:
    """Noise model var(y) = gain * max(y, floor), in the pattern's intensity units."""

    gain: float
    floor: float

    def sigma(self, y: np.ndarray) -> np.ndarray:
        return np.sqrt(self.gain * np.maximum(np.asarray(y, dtype=float), self.floor))


def noise_model(intensity: np.ndarray, background: np.ndarray | None = None) -> Noise:
    """Gain g of var(y) = g * y from second differences, (y_i-1 - 2 y_i + y_i+1)^2 / (6 y_i),
    whose median is insensitive to slopes; with ``background``, only points within 3 sigma of
    it count (peak curvature would inflate g)."""
    y = np.asarray(intensity, dtype=float)
    positive = y[y > 0]
    floor = max(float(np.percentile(positive, 5)) if positive.size else 1.0, 1e-300)
    level = np.maximum(y[1:-1], floor)
    ratio = (y[:-2] - 2.0 * y[1:-1] + y[2:]) ** 2 / (6.0 * level)
    gain = float(np.median(ratio)) / _CHI2_1_MEDIAN
    if background is not None:
        quiet = (y - np.asarray(background, dtype=float))[1:-1] < 3.0 * np.sqrt(gain * level)
        if quiet.sum() > 20:
            gain = float(np.median(ratio[quiet])) / _CHI2_1_MEDIAN
    return Noise(max(gain, 1e-12 * max(float(y.max()), 1e-300)), floor)


@dataclass(frozen=True)
class Peak:
    """An observed peak: position (deg 2theta), net height (intensity units), significance."""

    two_theta: float
    height: float
    significance: float

    def to_dict(self) -> dict[str, float]:
        return {"two_theta": self.two_theta, "height": self.height, "sigma": self.significance}


def find_peaks(
    two_theta: np.ndarray,
    net: np.ndarray,
    sigma: np.ndarray,
    fwhm_deg: float,
    min_significance: float = CANDIDATE_SIGMA,
) -> list[Peak]:
    """Maxima of ``net`` (smoothed over half ``fwhm_deg``) at least ``min_significance`` times
    their standard deviation ``sigma`` (per point, before smoothing) high and as prominent."""
    x = np.asarray(two_theta, dtype=float)
    step = float(np.median(np.diff(x)))
    k = max(1, round(0.5 * fwhm_deg / step))
    smooth = uniform_filter1d(np.asarray(net, dtype=float), k)
    s_smooth = uniform_filter1d(np.asarray(sigma, dtype=float), k) / np.sqrt(k)
    idx, props = _scipy_find_peaks(smooth, prominence=0.0)
    sig = smooth[idx] / s_smooth[idx]
    keep = (sig >= min_significance) & (props["prominences"] >= min_significance * s_smooth[idx])
    return [
        Peak(float(x[i]), float(smooth[i]), float(z))
        for i, z in zip(idx[keep], sig[keep], strict=True)
    ]


@dataclass(frozen=True)
class LineCheck:
    """One of NASICON's strongest lines at the best cell: expected 2theta (deg), relative
    intensity (strongest = 1), the matched observed peak (None if none), its significance and
    the net area observed around the line (intensity x deg / step)."""

    two_theta: float
    relative_intensity: float
    observed: float | None
    significance: float
    height: float

    def to_dict(self) -> dict[str, float | None]:
        return {
            "two_theta": round(self.two_theta, 3),
            "relative_intensity": round(self.relative_intensity, 3),
            "observed_two_theta": None if self.observed is None else round(self.observed, 3),
            "sigma": round(self.significance, 1),
        }


@dataclass(frozen=True)
class Detection:
    """Outcome of the test for one NASICON form."""

    present: bool
    form: str
    scales: np.ndarray
    zero_offset: float
    lines: tuple[LineCheck, ...]
    reason: str


@dataclass(frozen=True, eq=False)
class LineSet:
    """The resolved lines of one NASICON form, membership fixed at a reference cell.

    ``weights`` (lines x reflection groups) averages the groups' 2theta into each line's
    position, so positions at any cell are one matrix product; ``relative`` is each line's
    intensity relative to the strongest (at the reference cell), strongest first.
    """

    refl: ReflectionSet
    weights: np.ndarray  # (lines, member groups)
    members: np.ndarray  # indices of the member groups in refl
    relative: np.ndarray
    wavelength: float

    def positions(self, scales: np.ndarray) -> np.ndarray:
        """Line positions (deg 2theta), shape (lines, cells), for scales of shape (cells, n)."""
        s = np.atleast_2d(np.asarray(scales, dtype=float))
        denom = np.stack([s[:, p] * s[:, q] for p, q in self.refl.term_pairs], axis=0)
        inv_d2 = self.refl.q_terms[self.members] @ (1.0 / denom)  # (members, cells)
        sin_t = np.clip(self.wavelength * np.sqrt(inv_d2) / 2.0, 0.0, 0.999)
        return self.weights @ np.degrees(2.0 * np.arcsin(sin_t))


def line_set(
    refl: ReflectionSet,
    reference_scales: np.ndarray,
    wavelength: float,
    x_range: tuple[float, float],
    fwhm: float,
) -> LineSet:
    """Reflections within MERGE_FWHM of each other merged into lines; the strongest kept."""
    tt, area, _ = refl.peaks(reference_scales, wavelength)
    groups = np.arange(tt.size)  # peaks() keeps every group inside the limiting sphere
    inside = (tt > x_range[0] + fwhm) & (tt < x_range[1] - fwhm)
    tt, area, groups = tt[inside], area[inside], groups[inside]
    order = np.argsort(tt)
    tt, area, groups = tt[order], area[order], groups[order]
    if tt.size == 0:
        return LineSet(refl, np.zeros((0, 0)), np.empty(0, int), np.empty(0), wavelength)
    label = np.concatenate([[0], np.cumsum(np.diff(tt) > MERGE_FWHM * fwhm)])
    total = np.bincount(label, weights=area)
    relative = total / total.max()
    n = min(MAX_LINES, max(MIN_LINES, int(np.sum(relative >= LINE_FRACTION))))
    keep = np.argsort(-total)[:n]
    chosen = np.isin(label, keep)
    members = groups[chosen]
    weights = np.zeros((keep.size, members.size))
    for row, line in enumerate(keep):
        mine = label[chosen] == line
        weights[row, mine] = area[chosen][mine] / total[line]
    return LineSet(refl, weights, members, relative[keep], wavelength)


def detect_form(
    form: str,
    lines: LineSet,
    bounds: tuple[float, float],
    peaks: list[Peak],
    fwhm: float,
    min_significance: float,
    net: tuple[np.ndarray, np.ndarray],
    x_range: tuple[float, float],
) -> Detection:
    """The line test of one NASICON form (see the module docstring).

    Every cell-scale parameter of the form is searched independently within ``bounds``
    (coarse grid, then fine around the best cell). ``net`` is (2theta, background-subtracted
    intensity): the intensity test compares the net area under each line with NASICON's
    relative intensities.
    """
    tol = max(0.5 * fwhm, 0.05)
    n_scales = lines.refl.n_scales
    step = SCALE_STEP if n_scales <= 2 else 2 * SCALE_STEP
    coarse = np.arange(bounds[0], bounds[1] + 1e-9, step)
    cell, _ = _search(lines, [coarse] * n_scales, peaks, tol)
    # re-merge the lines at that cell (which reflections are resolved depends on the cell),
    # then search finely around it
    lines = line_set(lines.refl, cell, lines.wavelength, x_range, fwhm)
    fine = [
        np.clip(np.arange(c - 3 * SCALE_STEP, c + 3.5 * SCALE_STEP, SCALE_STEP), *bounds)
        for c in cell
    ]
    cell, offset = _search(lines, fine, peaks, tol)
    centre = lines.positions(cell)[:, 0]
    pos = np.array([p.two_theta for p in peaks])
    checks = []
    used: set[int] = set()
    x, y = net
    for c, r in zip(centre, lines.relative, strict=True):
        j = int(np.argmin(np.abs(pos - c - offset))) if pos.size else -1
        area = float(np.sum(y[np.abs(x - c - offset) <= max(fwhm, 0.1)]))
        if j >= 0 and j not in used and abs(pos[j] - c - offset) <= tol:
            used.add(j)
            p = peaks[j]
            checks.append(LineCheck(float(c), float(r), p.two_theta, p.significance, area))
        else:
            checks.append(LineCheck(float(c), float(r), None, 0.0, area))
    present, reason = _verdict(form, checks, min_significance, tol)
    return Detection(present, form, cell, offset, tuple(checks), reason)


def _search(lines: LineSet, grids: list[np.ndarray], peaks: list[Peak], tol: float):
    """(cell scales, zero offset) matching the most lines to distinct observed peaks."""
    mesh = np.meshgrid(*grids, indexing="ij")
    cells = np.stack([m.ravel() for m in mesh], axis=1)
    pos = np.array([p.two_theta for p in peaks])
    if pos.size == 0 or lines.relative.size == 0:
        return cells[cells.shape[0] // 2], 0.0
    centre = lines.positions(cells)  # (lines, cells)
    nearest = _nearest(pos, centre)
    d = pos[nearest] - centre
    offsets = np.clip(np.median(d, axis=0), -MAX_ZERO_OFFSET_DEG, MAX_ZERO_OFFSET_DEG)
    miss = np.abs(d - offsets[None, :]) / tol
    hit = miss <= 1.0
    sig = np.minimum(np.array([p.significance for p in peaks]), 50.0)[nearest]
    # most lines first; among equals, strong peaks close to the lines
    score = _distinct_hits(nearest, hit) * 1e6 + np.sum(sig * (1.0 - miss) * hit, axis=0)
    best = int(np.argmax(score))
    return cells[best], float(offsets[best])


def _nearest(sorted_pos: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Index of the nearest entry of ``sorted_pos`` to every element of ``centre``."""
    right = np.clip(np.searchsorted(sorted_pos, centre), 0, sorted_pos.size - 1)
    left = np.clip(right - 1, 0, sorted_pos.size - 1)
    use_left = np.abs(sorted_pos[left] - centre) < np.abs(sorted_pos[right] - centre)
    return np.where(use_left, left, right)


def _distinct_hits(nearest: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Per cell, the number of distinct observed peaks hit (one peak explains one line)."""
    marked = np.where(hit, nearest, -1)
    ordered = np.sort(marked, axis=0)
    new = np.vstack([ordered[:1] >= 0, (np.diff(ordered, axis=0) != 0) & (ordered[1:] >= 0)])
    return new.sum(axis=0)


def _verdict(form: str, checks: list[LineCheck], min_sig: float, tol: float) -> tuple[bool, str]:
    n = len(checks)
    weak = [c for c in checks if c.significance < min_sig]
    if not checks:
        return False, f"{form} NASICON has no line inside the scanned range"
    if weak:
        where = ", ".join(f"{c.two_theta:.2f}" for c in weak)
        return False, (
            f"{len(weak)} of the {n} strongest {form} NASICON lines have no peak of "
            f"{min_sig:g} sigma within {tol:.2f} deg, even at the best-matching cell in the "
            f"allowed range (missing at {where} deg)"
        )
    ratios = np.array([max(c.height, 0.0) / c.relative_intensity for c in checks])
    spread = float(ratios.min() / max(np.median(ratios), 1e-300))
    if spread < MIN_INTENSITY_RATIO:
        worst = checks[int(np.argmin(ratios))]
        return False, (
            f"peaks sit at the {n} strongest {form} NASICON lines, but the one at "
            f"{worst.two_theta:.2f} deg is {1 / spread:.0f}x weaker than NASICON's relative "
            f"intensities allow (limit {1 / MIN_INTENSITY_RATIO:.0f}x)"
        )
    weakest = min(c.significance for c in checks)
    return True, (
        f"the {n} strongest {form} NASICON lines are all observed "
        f"({', '.join(f'{c.observed:.2f}' for c in checks if c.observed is not None)} deg; "
        f"weakest {weakest:.0f} sigma)"
    )
