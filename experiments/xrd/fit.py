"""Full-profile fit of reference phases to a powder pattern (Rietveld-like, structures fixed).

The model and its refinement are in :mod:`experiments.xrd.model`. Weights are 1/sigma^2 from
the noise model of :mod:`experiments.xrd.detect` (Poisson counts: 1/y). Weight fractions
follow Hill and Howard (1987): W_p = S_p (ZMV)_p / sum_i S_i (ZMV)_i.

Stages: (1) profile, zero shift and the main phase's cell from its starting cell (the NASICON
line test's, or a grid search), by-products at their reference cells; (2) each by-product
that takes part gets its isotropic cell on a 0.001 grid; (3) all of it refined together.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np

from experiments.xrd.background import chebyshev_basis, snip_background
from experiments.xrd.detect import Noise, noise_model
from experiments.xrd.model import Model, profile_vector, refine, weight_fractions
from experiments.xrd.references import ReferencePhase
from experiments.xrd.reflections import SCALE_MODES, build_reflections
from experiments.xrd.resolution import estimate_fwhm
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: Degree of the Chebyshev polynomial refined on top of the SNIP background.
BACKGROUND_DEGREE = 4
#: Cu Ka1 wavelength (A); Ka2 is modelled for it only (Ka2/Ka1 wavelengths in model.py).
CU_KA1_A = 1.5406
#: Starting I(Ka2)/I(Ka1) when it is refined.
KA2_START = 0.25
#: Secondary phases above this weight fraction get their cell scale refined too.
REFINE_CELL_ABOVE = 0.003


@dataclass(frozen=True, eq=False)
class ProfileFit:
    """Result of :func:`fit_profile` (angles in deg 2theta, intensities in input units)."""

    phase_names: tuple[str, ...]
    scale_factors: np.ndarray  # S_p, >= 0
    weight_fractions: np.ndarray
    weight_fraction_sd: np.ndarray
    cell_scales: tuple[tuple[float, ...], ...]  # scales of a, b, c per phase
    zero_shift: float
    caglioti_uvw: tuple[float, float, float]
    eta: float
    kalpha2_ratio: float  # I(Ka2)/I(Ka1), refined or as given
    background: np.ndarray
    calculated: np.ndarray
    phase_curves: np.ndarray  # (N, n_phases), scaled contributions without background
    peak_positions: tuple[np.ndarray, ...]  # observed-scale 2theta of each phase's reflections
    rwp: float  # %
    r_exp: float  # %
    n_evaluations: int
    sigma: np.ndarray = field(default_factory=lambda: np.empty(0))  # per point, input units
    messages: tuple[str, ...] = field(default=())


def fit_profile(
    two_theta: np.ndarray,
    intensity: np.ndarray,
    phases: list[ReferencePhase],
    *,
    wavelength_a: float = 1.5406,
    kalpha2_ratio: float | None = 0.0,
    main_scales: np.ndarray | None = None,
    noise: Noise | None = None,
) -> ProfileFit:
    """Fit ``phases`` (the first is the main phase) to a pattern; see the module docstring.

    ``kalpha2_ratio`` None refines I(Ka2)/I(Ka1) in [0, 0.6] for Cu Ka1 (1.5406 A) and uses
    none for other wavelengths; a number fixes it. ``main_scales`` starts the main phase's
    cell (else a grid search finds it).

    Raises:
        ValidationError: no reference phase accounts for any intensity.
    """
    # The matrices here are small (points x ~10): a single BLAS thread is faster, and far
    # faster on a loaded machine, than a thread pool that has to synchronise on every call.
    with _single_blas_thread():
        return _fit(two_theta, intensity, phases, wavelength_a, kalpha2_ratio, main_scales, noise)


def _single_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _fit(x, y, phases, wavelength_a, kalpha2_ratio, main_scales, noise) -> ProfileFit:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    bg0 = snip_background(x, y)
    noise = noise or noise_model(y, bg0)
    sigma = noise.sigma(y)
    sin_max = np.sin(np.radians(min(x.max() + 2.0, 178.0) / 2.0))
    refl = [
        build_reflections(
            ph.structure,
            d_min_a=wavelength_a / (2.0 * sin_max) * ph.scale_bounds[0],
            scale_mode=ph.scale_mode,
        )
        for ph in phases
    ]
    basis = chebyshev_basis(x, BACKGROUND_DEGREE)
    model = Model(x, y - bg0, 1.0 / sigma, basis, phases, refl, wavelength_a)
    free_ka2 = kalpha2_ratio is None and abs(wavelength_a - CU_KA1_A) < 1e-3
    ka2 = KA2_START if free_ka2 else float(kalpha2_ratio or 0.0)
    h0 = estimate_fwhm(x, y)
    if main_scales is None:
        main_scales = _grid_search_cell(model, h0)
    else:
        main_scales = np.asarray(main_scales, dtype=float)
        if phases[0].scale_mode != "abc":  # cheap: polish the given cell on a fine grid
            main_scales = _fine_cell(model, h0, main_scales)
    log.info("cell start: %s = %s, FWHM %.3f deg", phases[0].name, main_scales, h0)

    nominal = [np.ones(r.n_scales) for r in refl]
    nominal[0] = main_scales
    prof0 = profile_vector(0.0, h0, ka2=ka2)
    state, nfev = refine(model, prof0, [0], nominal, h0, free_ka2)
    first = weight_fractions(model, state)
    if first is None:
        raise ValidationError("no reference phase fits the pattern (every scale factor is zero)")
    present = [p for p in range(1, len(phases)) if first[0][p] > REFINE_CELL_ABOVE]
    if present:
        state["scales"] = _grid_search_byproduct_cells(model, state, present)
        state, nfev2 = refine(model, state["profile"], [0, *present], state["scales"], h0, free_ka2)
        nfev += nfev2
    return _result(model, state, bg0, y, sigma, nfev)


def _grid_search_cell(model: Model, h0: float) -> np.ndarray:
    """Main-phase cell by a coarse-to-fine grid on the NNLS misfit (a = b tied for "abc")."""
    ph = model.phases[0]
    lo, hi = ph.scale_bounds
    n = model.refl[0].n_scales
    expand = (lambda v: np.array([v[0], v[0], v[1]])) if n == 3 else (lambda v: np.asarray(v))
    dims = 2 if n == 3 else n

    def cost(s: np.ndarray, h: float) -> float:
        return model.cost(model.phase_profile(0, expand(s), profile_vector(0.0, h))[:, None])

    grid1 = np.arange(lo, hi + 1e-9, 0.003)
    costs = [cost(np.full(dims, s), max(h0, 0.25)) for s in grid1]
    best = np.full(dims, grid1[int(np.argmin(costs))])
    for half, step, h in ((0.024, 0.004, max(h0, 0.1)), (0.005, 0.001, h0)):
        axes = [np.clip(np.arange(b - half, b + half + 1e-9, step), lo, hi) for b in best]
        mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
        best = mesh[int(np.argmin([cost(s, h) for s in mesh]))]
    return expand(best)


def _fine_cell(model: Model, h0: float, start: np.ndarray) -> np.ndarray:
    """Main-phase cell on a 0.001 grid within +-0.005 of ``start``."""
    lo, hi = model.phases[0].scale_bounds
    axes = [np.clip(np.arange(b - 0.005, b + 0.0051, 0.001), lo, hi) for b in start]
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    prof = profile_vector(0.0, h0)
    costs = [model.cost(model.phase_profile(0, s, prof)[:, None]) for s in mesh]
    return mesh[int(np.argmin(costs))]


def _grid_search_byproduct_cells(model: Model, state: dict, which: list[int]) -> list[np.ndarray]:
    """Isotropic cell scale of the by-products ``which`` on a 0.001 grid, others held fixed."""
    prof = state["profile"]
    scales = [np.array(s, dtype=float) for s in state["scales"]]
    cols = model.columns(prof, scales)
    for p in which:
        lo, hi = model.phases[p].scale_bounds
        best_cost, best_s = np.inf, scales[p]
        for s in np.arange(lo, hi + 1e-9, 0.001):
            trial = np.full(model.refl[p].n_scales, s)
            cols[:, p] = model.phase_profile(p, trial, prof)
            cost = model.cost(cols)
            if cost < best_cost:
                best_cost, best_s = cost, trial
        scales[p] = best_s
        cols[:, p] = model.phase_profile(p, best_s, prof)
    return scales


def _result(model: Model, state: dict, bg0, y, sigma, nfev: int) -> ProfileFit:
    solved = weight_fractions(model, state)
    if solved is None:
        raise ValidationError("no reference phase fits the pattern (every scale factor is zero)")
    weights, weight_sd, scales, bg, cols, _ = solved
    prof = state["profile"]
    background = bg0 + model.basis @ bg
    curves = cols * scales
    calculated = background + curves.sum(axis=1)
    w = 1.0 / sigma**2
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
        kalpha2_ratio=float(prof[5]),
        background=background,
        calculated=calculated,
        phase_curves=curves,
        peak_positions=tuple(peaks),
        rwp=float(rwp),
        r_exp=float(r_exp),
        n_evaluations=nfev,
        sigma=sigma,
    )
