"""The profile model behind :mod:`experiments.xrd.fit`: phase columns, the linear solve, and
the non-linear refinement with a Jacobian that re-renders only what a parameter changes.

y(2theta) = background + sum_p S_p sum_hkl I_hkl(cell_p) [PV(2theta - 2theta1_hkl - zero)
+ r PV(2theta - 2theta2_hkl - zero)], with the scale factors S_p >= 0 and the Chebyshev
background correction solved exactly (NNLS) for every value of the non-linear parameters
(variable projection). The profile vector is [zero shift (deg), Caglioti U, V, W (deg^2),
pseudo-Voigt mixing eta, r = I(Ka2)/I(Ka1)]; the cell scales of the refined phases follow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, nnls

from experiments.xrd.profile import caglioti_fwhm, render_peaks
from experiments.xrd.references import ReferencePhase
from experiments.xrd.reflections import SCALE_MODES, ReflectionSet

log = logging.getLogger(__name__)

#: Convergence tolerances of the profile refinement (relative change of parameters / cost).
XTOL = 1e-7
FTOL = 1e-7
#: Reflections weaker than this fraction of a phase's strongest one are not drawn.
MIN_RELATIVE_INTENSITY = 1e-3
#: Cu Ka2 / Ka1 wavelength ratio, used when a Ka2 component is modelled.
KA2_OVER_KA1 = 1.54439 / 1.54056
#: Largest Ka2/Ka1 intensity ratio refined (0.5 for an unmonochromated tube).
MAX_KA2_RATIO = 0.6
#: Relative step of the finite-difference Jacobian.
DIFF_STEP = 1e-4


@dataclass(eq=False)
class Model:
    """Pattern, weights and reflection lists of the phases; see the module docstring."""

    grid: np.ndarray
    net: np.ndarray  # observed minus SNIP background
    sqrt_w: np.ndarray  # 1 / sigma of every point
    basis: np.ndarray  # Chebyshev basis (N, d+1)
    phases: list[ReferencePhase]
    refl: list[ReflectionSet]
    wavelength: float

    def columns(self, prof: np.ndarray, scales: list[np.ndarray]) -> np.ndarray:
        """Unit-scale profile of every phase, shape (N, phases), for profile vector ``prof``."""
        cols = np.empty((self.grid.size, len(self.phases)))
        for p, s in enumerate(scales):
            cols[:, p] = self.phase_profile(p, s, prof)
        return cols

    def phase_profile(self, p: int, s: np.ndarray, prof: np.ndarray) -> np.ndarray:
        """Unit-scale profile of phase ``p`` at cell scales ``s``."""
        zero, uvw, eta, ka2 = prof[0], prof[1:4], prof[4], prof[5]
        refl = self.refl[p]
        tt, area, d = refl.peaks(s, self.wavelength)
        keep = area >= MIN_RELATIVE_INTENSITY * area.max() if area.size else area > 0
        tt, area, d = tt[keep], area[keep], d[keep]
        out = render_peaks(self.grid, tt + zero, area, caglioti_fwhm(tt, *uvw), eta)
        if ka2 > 0:
            lam2 = self.wavelength * KA2_OVER_KA1
            sin2 = lam2 / (2.0 * d)
            ok = sin2 < 0.999
            tt2 = np.degrees(2.0 * np.arcsin(sin2[ok]))
            out += render_peaks(
                self.grid, tt2 + zero, ka2 * area[ok], caglioti_fwhm(tt2, *uvw), eta
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

    def cost(self, cols: np.ndarray) -> float:
        """Weighted sum of squared residuals after the linear solve."""
        return float(np.sum(self.solve_linear(cols)[2] ** 2))


def profile_vector(zero: float, fwhm: float, eta: float = 0.5, ka2: float = 0.0) -> np.ndarray:
    """[zero, U, V, W, eta, Ka2/Ka1] for a constant width ``fwhm`` (deg)."""
    return np.array([zero, 0.0, 0.0, fwhm * fwhm, eta, ka2])


def refine(
    model: Model,
    prof0: np.ndarray,
    refine_phases: list[int],
    scales0,
    h0: float,
    free_ka2: bool = False,
):
    """Least squares over the profile (Ka2/Ka1 only if ``free_ka2``) and the cell scales of
    ``refine_phases``. Returns ({"profile": 6 values, "scales": per phase}, evaluations)."""
    sizes = [model.refl[p].n_scales for p in refine_phases]
    n_prof = 6 if free_ka2 else 5
    fixed_ka2 = float(prof0[5])

    def unpack(xv: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        prof = np.r_[xv[:5], xv[5] if free_ka2 else fixed_ka2]
        scales = [np.array(s, dtype=float) for s in scales0]
        pos = n_prof
        for p, n in zip(refine_phases, sizes, strict=True):
            scales[p] = xv[pos : pos + n]
            pos += n
        return prof, scales

    owner = [None] * n_prof + [
        p for p, n in zip(refine_phases, sizes, strict=True) for _ in range(n)
    ]
    cache: dict[bytes, np.ndarray] = {}

    def cols_at(xv: np.ndarray) -> np.ndarray:
        key = xv.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = model.columns(*unpack(xv))
        return cache[key]

    def residual(xv: np.ndarray) -> np.ndarray:
        return model.solve_linear(cols_at(xv))[2]

    def jacobian(xv: np.ndarray) -> np.ndarray:
        base_cols = cols_at(xv)
        r0 = model.solve_linear(base_cols)[2]
        jac = np.empty((r0.size, xv.size))
        for j in range(xv.size):
            h = DIFF_STEP * max(abs(xv[j]), 1e-3)
            xj = xv.copy()
            xj[j] += h
            prof, scales = unpack(xj)
            if owner[j] is None:  # profile parameter: every phase changes
                cols = model.columns(prof, scales)
            else:  # a cell scale: only its own phase changes
                cols = base_cols.copy()
                cols[:, owner[j]] = model.phase_profile(owner[j], scales[owner[j]], prof)
            jac[:, j] = (model.solve_linear(cols)[2] - r0) / h
        return jac

    lb = [-0.5, 0.0, -0.1, 1e-5, 0.0] + ([0.0] if free_ka2 else [])
    ub = [0.5, 0.5, 0.1, max(1.0, 4 * h0**2), 1.0] + ([MAX_KA2_RATIO] if free_ka2 else [])
    for p, n in zip(refine_phases, sizes, strict=True):
        lo, hi = model.phases[p].scale_bounds
        lb += [lo] * n
        ub += [hi] * n
    x0 = np.r_[prof0[:n_prof], *[scales0[p] for p in refine_phases]]
    x0 = np.clip(x0, np.array(lb) + 1e-9, np.array(ub) - 1e-9)
    res = least_squares(
        residual,
        x0,
        jac=jacobian,
        bounds=(lb, ub),
        x_scale="jac",
        max_nfev=100,
        xtol=XTOL,
        ftol=FTOL,
    )
    if res.status <= 0:
        log.warning("profile refinement stopped early: %s", res.message)
    prof, scales = unpack(res.x)
    return {"profile": prof, "scales": scales}, int(res.nfev)


def weight_fractions(model: Model, state: dict):
    """Hill & Howard weight fractions W_p = S_p (ZMV)_p / sum S (ZMV) and their sd."""
    cols = model.columns(state["profile"], state["scales"])
    scales, bg, resid = model.solve_linear(cols)
    zmv = np.array(
        [
            ph.cell_mass_amu * ph.structure.volume * volume_factor(ph, s)
            for ph, s in zip(model.phases, state["scales"], strict=True)
        ]
    )
    mass = scales * zmv
    total = mass.sum()
    if not np.isfinite(total) or total <= 0:
        return None
    weights = mass / total
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


def volume_factor(ph: ReferencePhase, scales: np.ndarray) -> float:
    """V(cell) / V(reference) for the cell-scale parameters ``scales`` (angles fixed)."""
    per_axis = [scales[i] for i in SCALE_MODES[ph.scale_mode]]
    return float(np.prod(per_axis))
