"""Full-profile fit of reference phases to a powder pattern (Rietveld-like, structures fixed).

Model: y(2theta) = background + sum_p S_p sum_hkl I_hkl(cell_p) PV(2theta - 2theta_hkl - zero),
with 2theta_hkl from the (refined) cell of phase p.
Scale factors S_p >= 0 and the Chebyshev background correction are linear and solved exactly
(non-negative least squares) inside every evaluation of the non-linear parameters: the zero
shift (deg 2theta), Caglioti U, V, W (deg^2), pseudo-Voigt mixing eta and the cell scales of
each phase. Weights are Poisson-like, w = 1/y_obs. Weight fractions follow Hill and Howard
(1987): W_p = S_p (ZMV)_p / sum_i S_i (ZMV)_i.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, nnls

from experiments.xrd.background import chebyshev_basis, snip_background
from experiments.xrd.profile import caglioti_fwhm, render_peaks
from experiments.xrd.references import ReferencePhase
from experiments.xrd.reflections import SCALE_MODES, ReflectionSet, build_reflections
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: Degree of the Chebyshev polynomial refined on top of the SNIP background.
BACKGROUND_DEGREE = 4
#: Secondary phases above this weight fraction get their cell scale refined too.
REFINE_CELL_ABOVE = 0.003
#: Convergence tolerances of the profile refinement (relative change of parameters / cost).
XTOL = 1e-7
FTOL = 1e-7
#: Reflections weaker than this fraction of a phase's strongest one are not drawn.
MIN_RELATIVE_INTENSITY = 1e-4
#: Cu Ka2 / Ka1 wavelength ratio, used when a Ka2 component is modelled.
KA2_OVER_KA1 = 1.54439 / 1.54056


@dataclass(frozen=True, eq=False)
class ProfileFit:
    """Result of :func:`fit_profile` (angles in deg 2theta, intensities in input units)."""

    phase_names: tuple[str, ...]
    scale_factors: np.ndarray  # S_p, >= 0
    weight_fractions: np.ndarray
    weight_fraction_sd: np.ndarray
    cell_scales: tuple[tuple[float, float, float], ...]  # scales of a, b, c per phase
    zero_shift: float
    caglioti_uvw: tuple[float, float, float]
    eta: float
    background: np.ndarray
    calculated: np.ndarray
    phase_curves: np.ndarray  # (N, n_phases), scaled contributions without background
    peak_positions: tuple[np.ndarray, ...]  # observed-scale 2theta of each phase's reflections
    rwp: float  # %
    r_exp: float  # %
    n_evaluations: int
    messages: tuple[str, ...] = field(default=())


@dataclass(eq=False)
class _Model:
    grid: np.ndarray
    net: np.ndarray  # observed minus SNIP background
    sqrt_w: np.ndarray
    basis: np.ndarray  # Chebyshev basis (N, d+1)
    phases: list[ReferencePhase]
    refl: list[ReflectionSet]
    wavelength: float
    ka2_ratio: float

    def columns(self, zero: float, uvw: np.ndarray, eta: float, scales: list[np.ndarray]):
        cols = np.empty((self.grid.size, len(self.phases)))
        for p, (refl, s) in enumerate(zip(self.refl, scales, strict=True)):
            cols[:, p] = self.phase_profile(refl, s, zero, uvw, eta)
        return cols

    def phase_profile(self, refl, s, zero, uvw, eta) -> np.ndarray:
        tt, area, d = refl.peaks(s, self.wavelength)
        strong = area > MIN_RELATIVE_INTENSITY * area.max() if area.size else area > 0
        tt, area, d = tt[strong], area[strong], d[strong]
        out = render_peaks(self.grid, tt + zero, area, caglioti_fwhm(tt, *uvw), eta)
        if self.ka2_ratio > 0:
            lam2 = self.wavelength * KA2_OVER_KA1
            sin2 = lam2 / (2.0 * d)
            ok = sin2 < 0.999
            tt2 = np.degrees(2.0 * np.arcsin(sin2[ok]))
            out += render_peaks(
                self.grid, tt2 + zero, self.ka2_ratio * area[ok], caglioti_fwhm(tt2, *uvw), eta
            )
        return out

    def solve_linear(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """NNLS for phase scales (>= 0) and free-sign background coefficients."""
        design = np.hstack([cols, self.basis, -self.basis]) * self.sqrt_w[:, None]
        norms = np.linalg.norm(design, axis=0)
        norms[norms == 0] = 1.0
        coef, _ = nnls(design / norms, self.net * self.sqrt_w, maxiter=50 * design.shape[1])
        coef = coef / norms
        n_p, n_b = cols.shape[1], self.basis.shape[1]
        scales = coef[:n_p]
        bg = coef[n_p : n_p + n_b] - coef[n_p + n_b :]
        resid = self.sqrt_w * (self.net - cols @ scales - self.basis @ bg)
        return scales, bg, resid


def fit_profile(
    two_theta: np.ndarray,
    intensity: np.ndarray,
    phases: list[ReferencePhase],
    *,
    wavelength_a: float = 1.5406,
    kalpha2_ratio: float = 0.0,
) -> ProfileFit:
    """Fit ``phases`` (the first is the main phase) to a pattern; see the module docstring.

    Raises:
        ValidationError: no reference phase accounts for any intensity.
    """
    # The matrices here are small (points x ~10): a single BLAS thread is faster, and far
    # faster on a loaded machine, than a thread pool that has to synchronise on every call.
    with _single_blas_thread():
        return _fit_profile(two_theta, intensity, phases, wavelength_a, kalpha2_ratio)


def _single_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _fit_profile(two_theta, intensity, phases, wavelength_a, kalpha2_ratio) -> ProfileFit:
    x = np.asarray(two_theta, dtype=float)
    y = np.asarray(intensity, dtype=float)
    bg0 = snip_background(x, y)
    floor = max(0.1 * float(np.median(y[y > 0])) if np.any(y > 0) else 1.0, 1e-12)
    sqrt_w = 1.0 / np.sqrt(np.maximum(y, floor))
    sin_max = np.sin(np.radians(min(x.max() + 2.0, 178.0) / 2.0))
    refl = []
    for ph in phases:
        d_min = wavelength_a / (2.0 * sin_max) * ph.scale_bounds[0]
        refl.append(build_reflections(ph.structure, d_min_a=d_min, scale_mode=ph.scale_mode))
    model = _Model(
        x,
        y - bg0,
        sqrt_w,
        chebyshev_basis(x, BACKGROUND_DEGREE),
        phases,
        refl,
        wavelength_a,
        kalpha2_ratio,
    )

    nominal = [np.ones(r.n_scales) for r in refl]
    h0 = _estimate_fwhm(x, y - bg0)
    main_scales = _grid_search_cell(model, h0)
    log.info("cell search: %s = %s, FWHM %.3f deg", phases[0].name, main_scales, h0)

    # Stage 1: profile, zero shift and the main phase's cell; by-products at nominal cells.
    refine = [0]
    x0 = np.r_[0.0, 0.0, 0.0, h0**2, 0.5, main_scales]
    state, nfev1 = _refine(model, x0, refine, nominal, h0)
    # Each by-product's cell on a grid (its column alone changes), so that a slightly strained
    # minor phase is not under-counted before the cell refinement below.
    state["scales"] = _grid_search_byproduct_cells(model, state)
    weights = _weight_fractions(model, state)[0]
    # Stage 2: also the cells of by-products that are present.
    refine = [0] + [p for p in range(1, len(phases)) if weights[p] > REFINE_CELL_ABOVE]
    nfev2 = 0
    if len(refine) > 1:
        x0 = np.r_[state["profile"], *[state["scales"][p] for p in refine]]
        state, nfev2 = _refine(model, x0, refine, state["scales"], h0)
    return _result(model, state, bg0, y, nfev1 + nfev2)


def _estimate_fwhm(x: np.ndarray, net: np.ndarray) -> float:
    """FWHM (deg) of the strongest peak of the background-subtracted pattern."""
    i = int(np.argmax(net))
    half = net[i] / 2.0
    left = i
    while left > 0 and net[left] > half:
        left -= 1
    right = i
    while right < net.size - 1 and net[right] > half:
        right += 1
    return float(np.clip(x[right] - x[left], 0.02, 1.0))


def _grid_search_cell(model: _Model, h0: float) -> np.ndarray:
    """Cell scales of the main phase by a coarse-to-fine grid on the NNLS misfit."""
    ph, refl = model.phases[0], model.refl[0]
    lo, hi = ph.scale_bounds
    uvw_for = {h: np.array([0.0, 0.0, h * h]) for h in (max(h0, 0.25), max(h0, 0.1), h0)}

    def cost(s: np.ndarray, h: float) -> float:
        col = model.phase_profile(refl, s, 0.0, uvw_for[h], 0.5)[:, None]
        return float(np.sum(model.solve_linear(col)[2] ** 2))

    grid1 = np.arange(lo, hi + 1e-9, 0.003)
    costs = [cost(np.full(refl.n_scales, s), max(h0, 0.25)) for s in grid1]
    best = np.full(refl.n_scales, grid1[int(np.argmin(costs))])
    for half, step, h in ((0.024, 0.004, max(h0, 0.1)), (0.005, 0.001, h0)):
        axes = [np.clip(np.arange(b - half, b + half + 1e-9, step), lo, hi) for b in best]
        mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
        costs = [cost(s, h) for s in mesh]
        best = mesh[int(np.argmin(costs))]
    return best


def _grid_search_byproduct_cells(model: _Model, state: dict) -> list[np.ndarray]:
    """Isotropic cell scale of every by-product on a 0.001 grid, other phases held fixed."""
    prof = state["profile"]
    scales = [np.array(s, dtype=float) for s in state["scales"]]
    cols = model.columns(prof[0], prof[1:4], prof[4], scales)
    for p in range(1, len(model.phases)):
        lo, hi = model.phases[p].scale_bounds
        best_cost, best_s = np.inf, scales[p]
        for s in np.arange(lo, hi + 1e-9, 0.001):
            trial = np.full(model.refl[p].n_scales, s)
            cols[:, p] = model.phase_profile(model.refl[p], trial, prof[0], prof[1:4], prof[4])
            cost = float(np.sum(model.solve_linear(cols)[2] ** 2))
            if cost < best_cost:
                best_cost, best_s = cost, trial
        scales[p] = best_s
        cols[:, p] = model.phase_profile(model.refl[p], best_s, prof[0], prof[1:4], prof[4])
    return scales


def _refine(model: _Model, x0: np.ndarray, refine: list[int], scales0, h0: float):
    """Least squares over [zero, U, V, W, eta, cell scales of ``refine``] (variable projection)."""
    sizes = [model.refl[p].n_scales for p in refine]

    def unpack(xv: np.ndarray) -> list[np.ndarray]:
        scales = [np.array(s, dtype=float) for s in scales0]
        pos = 5
        for p, n in zip(refine, sizes, strict=True):
            scales[p] = xv[pos : pos + n]
            pos += n
        return scales

    def residual(xv: np.ndarray) -> np.ndarray:
        cols = model.columns(xv[0], xv[1:4], xv[4], unpack(xv))
        return model.solve_linear(cols)[2]

    lb = [-0.5, 0.0, -0.1, 1e-5, 0.0]
    ub = [0.5, 0.5, 0.1, max(1.0, 4 * h0**2), 1.0]
    for p, n in zip(refine, sizes, strict=True):
        lo, hi = model.phases[p].scale_bounds
        lb += [lo] * n
        ub += [hi] * n
    x0 = np.clip(x0, np.array(lb) + 1e-9, np.array(ub) - 1e-9)
    res = least_squares(
        residual,
        x0,
        bounds=(lb, ub),
        diff_step=1e-4,
        x_scale="jac",
        max_nfev=200,
        xtol=XTOL,
        ftol=FTOL,
    )
    if res.status <= 0:
        log.warning("profile refinement stopped early: %s", res.message)
    return {"profile": res.x[:5], "scales": unpack(res.x)}, res.nfev


def _weight_fractions(model: _Model, state: dict):
    prof = state["profile"]
    cols = model.columns(prof[0], prof[1:4], prof[4], state["scales"])
    scales, bg, resid = model.solve_linear(cols)
    zmv = np.array(
        [
            ph.cell_mass_amu * ph.structure.volume * _volume_factor(ph, s)
            for ph, s in zip(model.phases, state["scales"], strict=True)
        ]
    )
    mass = scales * zmv
    total = mass.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValidationError("no reference phase fits the pattern (every scale factor is zero)")
    weights = mass / total
    # Covariance of the active scale factors from the weighted linear design.
    active = np.flatnonzero(scales > 0)
    design = np.hstack([cols[:, active], model.basis]) * model.sqrt_w[:, None]
    dof = max(model.grid.size - design.shape[1] - 5, 1)
    sigma2 = float(resid @ resid) / dof
    cov = np.linalg.pinv(design.T @ design) * sigma2
    cov_s = np.zeros((scales.size, scales.size))
    cov_s[np.ix_(active, active)] = cov[: active.size, : active.size]
    jac = (np.diag(zmv) * total - np.outer(mass, zmv)) / total**2
    weight_sd = np.sqrt(np.clip(np.diag(jac @ cov_s @ jac.T), 0.0, None))
    return weights, weight_sd, scales, bg, cols, resid


def _volume_factor(ph: ReferencePhase, scales: np.ndarray) -> float:
    per_axis = [scales[i] for i in SCALE_MODES[ph.scale_mode]]
    return float(np.prod(per_axis))


def _result(model: _Model, state: dict, bg0: np.ndarray, y: np.ndarray, nfev: int) -> ProfileFit:
    weights, weight_sd, scales, bg, cols, _ = _weight_fractions(model, state)
    prof = state["profile"]
    background = bg0 + model.basis @ bg
    curves = cols * scales
    calculated = background + curves.sum(axis=1)
    w = model.sqrt_w**2
    rwp = 100.0 * np.sqrt(np.sum(w * (y - calculated) ** 2) / np.sum(w * y**2))
    r_exp = 100.0 * np.sqrt(max(y.size - 5 - scales.size, 1) / np.sum(w * y**2))
    peaks = []
    for refl, s in zip(model.refl, state["scales"], strict=True):
        tt, area, _ = refl.peaks(s, model.wavelength)
        strong = (area > 0.005 * area.max()) & (tt >= model.grid[0]) & (tt <= model.grid[-1])
        peaks.append(np.sort(tt[strong] + prof[0]))
    cells = tuple(
        tuple(float(s[i]) for i in SCALE_MODES[ph.scale_mode])
        for ph, s in zip(model.phases, state["scales"], strict=True)
    )
    return ProfileFit(
        phase_names=tuple(ph.name for ph in model.phases),
        scale_factors=scales,
        weight_fractions=weights,
        weight_fraction_sd=weight_sd,
        cell_scales=cells,
        zero_shift=float(prof[0]),
        caglioti_uvw=(float(prof[1]), float(prof[2]), float(prof[3])),
        eta=float(prof[4]),
        background=background,
        calculated=calculated,
        phase_curves=curves,
        peak_positions=tuple(peaks),
        rwp=float(rwp),
        r_exp=float(r_exp),
        n_evaluations=nfev,
    )
