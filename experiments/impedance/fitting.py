"""Equivalent-circuit fits of impedance spectra (own code: numpy + scipy.optimize.least_squares).

Parameters are fitted in log space (R and Q; the CPE exponents n directly, bounded), the
residual is the complex misfit divided by |Z_measured| (modulus weighting), each candidate
circuit is started from data-derived guesses plus seeded random ones, and the circuit is
chosen by the Bayesian information criterion. Uncertainties come from the Jacobian at the
optimum: cov = s^2 (J^T J)^-1 with s^2 the residual variance.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from experiments.impedance.circuits import CIRCUITS, UNITS, Circuit, arc_capacitance, arc_frequency
from experiments.impedance.prepare import drop_inductive_end, frequency_window, thin_out
from experiments.impedance.readers import Spectrum, read_spectrum
from loop.errors import ValidationError

log = logging.getLogger(__name__)

ANALYSIS_VERSION = "eis-fit-1.0"
#: An arc whose capacitance is below this (F) is a bulk (grain-interior) arc.
BULK_CAPACITANCE_MAX_F = 1e-10
#: A fit whose RMS relative residual exceeds this has not described the spectrum.
MAX_RELATIVE_RESIDUAL = 0.15


class FitDidNotConvergeError(ValidationError):
    """The equivalent-circuit fit failed to converge to a description of the spectrum."""


@dataclass(frozen=True)
class Estimate:
    """A fitted value with its standard deviation (same unit; ``sd`` is inf if undetermined)."""

    value: float
    sd: float
    unit: str = ""

    def to_dict(self) -> dict[str, float | str | None]:
        return {
            "value": self.value,
            "sd": self.sd if math.isfinite(self.sd) else None,
            "unit": self.unit,
        }


@dataclass(frozen=True, eq=False)
class ImpedanceFit:
    """Chosen circuit, its parameters (ohm, F s^(n-1), -) and the derived resistances."""

    circuit: str
    parameters: dict[str, Estimate]
    r_bulk: Estimate
    r_grain_boundary: Estimate | None
    r_total: Estimate
    capacitances_f: dict[str, float]
    residual_rms: float  # RMS of (Z_fit - Z)/|Z|, dimensionless
    bic: dict[str, float]  # every candidate circuit -> BIC of its best fit
    frequency_hz: np.ndarray
    z_measured: np.ndarray
    z_fit: np.ndarray
    temperature_c: float | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    circuit_id: str = ""  # key of the fitted circuit in CIRCUITS
    analysis_version: str = ANALYSIS_VERSION

    def impedance_at(self, frequency_hz: np.ndarray) -> np.ndarray:
        """Complex impedance (ohm) of the fitted circuit at ``frequency_hz`` (Hz)."""
        values = np.array([est.value for est in self.parameters.values()])
        return CIRCUITS[self.circuit_id].impedance(values, frequency_hz)

    def to_dict(self) -> dict:
        """JSON-ready summary (no arrays)."""
        return {
            "analysis_version": self.analysis_version,
            "source": self.source,
            "temperature_c": self.temperature_c,
            "circuit": self.circuit,
            "parameters": {k: v.to_dict() for k, v in self.parameters.items()},
            "r_bulk_ohm": self.r_bulk.value,
            "r_bulk_sd_ohm": _finite(self.r_bulk.sd),
            "r_grain_boundary_ohm": None
            if self.r_grain_boundary is None
            else self.r_grain_boundary.value,
            "r_total_ohm": self.r_total.value,
            "r_total_sd_ohm": _finite(self.r_total.sd),
            "capacitances_f": dict(self.capacitances_f),
            "residual_rms": self.residual_rms,
            "bic": dict(self.bic),
            "notes": list(self.notes),
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass
class _Candidate:
    circuit: Circuit
    x: np.ndarray  # log-space parameter vector
    cost: float
    jac: np.ndarray
    status: int


def fit_spectrum(
    spectrum: Spectrum | str | Path,
    *,
    circuits: Sequence[str] | None = None,
    n_starts: int = 8,
    seed: int = 0,
    max_nfev: int = 300,
    temperature_c: float | None = None,
    f_min_hz: float | None = None,
    f_max_hz: float | None = None,
    drop_inductive: bool = True,
) -> ImpedanceFit:
    """Fit the candidate ``circuits`` (default: all four) and keep the one with the lowest BIC.

    Only points with ``f_min_hz`` <= f <= ``f_max_hz`` (Hz) are fitted; with ``drop_inductive``
    the highest frequencies with Z'' > 0 (lead inductance) are left out; a sweep of more than
    MAX_FIT_POINTS (500) points is averaged in log-frequency bins (each step is noted).

    Raises:
        ValidationError: unreadable spectrum, a bad frequency bound, fewer than 10 points.
        FitDidNotConvergeError: no start converged, or the best fit misses the data by more
            than 15 % RMS (relative to |Z|).
    """
    spec = spectrum if isinstance(spectrum, Spectrum) else read_spectrum(spectrum)
    spec, window_note = frequency_window(spec, f_min_hz, f_max_hz)
    spec, inductive_note = drop_inductive_end(spec) if drop_inductive else (spec, None)
    spec, thin_note = thin_out(spec)
    names = list(circuits) if circuits else list(CIRCUITS)
    unknown = [n for n in names if n not in CIRCUITS]
    if unknown:
        raise ValidationError(f"unknown circuit {unknown[0]!r}; choose from {', '.join(CIRCUITS)}")
    f, z = spec.frequency_hz, spec.z
    rng = np.random.default_rng(seed)
    best: dict[str, _Candidate] = {}
    for name in names:
        cand = _fit_circuit(CIRCUITS[name], f, z, rng, n_starts, max_nfev)
        if cand is not None:
            best[name] = cand
    if not best:
        raise FitDidNotConvergeError(
            f"the equivalent-circuit fit of {spec.source or 'the spectrum'} did not converge "
            f"within {max_nfev} evaluations from any of {n_starts} starts"
        )
    n_obs = 2 * f.size
    bic = {
        name: n_obs * math.log(max(2 * c.cost, 1e-300) / n_obs) + c.x.size * math.log(n_obs)
        for name, c in best.items()
    }
    chosen = best[min(bic, key=bic.get)]
    rms = math.sqrt(2 * chosen.cost / n_obs)
    if not math.isfinite(rms) or rms > MAX_RELATIVE_RESIDUAL:
        raise FitDidNotConvergeError(
            f"the equivalent-circuit fit of {spec.source or 'the spectrum'} did not converge: "
            f"its RMS residual is {rms:.0%} of |Z| (limit {MAX_RELATIVE_RESIDUAL:.0%})"
        )
    fit = _build_result(chosen, spec, rms, bic, temperature_c)
    extra = tuple(n for n in (window_note, inductive_note, thin_note) if n)
    return dataclasses.replace(fit, notes=extra + fit.notes) if extra else fit


def _bounds(circuit: Circuit, zscale: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = [math.log(1e-9 * zscale)], [math.log(10 * zscale)]
    for _ in range(circuit.n_arcs):
        lo += [math.log(1e-6 * zscale), math.log(1e-18), 0.4]
        hi += [math.log(1e3 * zscale), math.log(1.0), 1.0]
    if circuit.electrode:
        lo += [math.log(1e-15), 0.2]
        hi += [math.log(1e3), 1.0]
    return np.array(lo), np.array(hi)


def _exponent_mask(circuit: Circuit) -> np.ndarray:
    """True for the CPE exponents n (fitted directly); the other parameters are fitted as logs."""
    mask = np.zeros(1 + 3 * circuit.n_arcs + 2 * circuit.electrode, dtype=bool)
    mask[3 : 1 + 3 * circuit.n_arcs : 3] = True
    if circuit.electrode:
        mask[-1] = True
    return mask


def _to_natural(circuit: Circuit, x: np.ndarray) -> np.ndarray:
    """Natural-unit parameters (ohm, F s^(n-1), n) from the fitted vector."""
    return np.where(_exponent_mask(circuit), x, np.exp(np.minimum(x, 700.0)))


def _residual(circuit: Circuit, f: np.ndarray, z: np.ndarray):
    """Residual (Z_fit - Z) / |Z| as [real; imag] and its analytic Jacobian in log space."""
    scale = np.abs(z)

    def fun(x: np.ndarray) -> np.ndarray:
        dz = (circuit.impedance(_to_natural(circuit, x), f) - z) / scale
        return np.concatenate([dz.real, dz.imag])

    def jac(x: np.ndarray) -> np.ndarray:
        dj = circuit.jacobian(_to_natural(circuit, x), f) / scale[:, None]
        return np.vstack([dj.real, dj.imag])

    return fun, jac


def _initial_guesses(circuit: Circuit, f: np.ndarray, z: np.ndarray, rng, n_starts: int):
    """Data-derived starting points (log space) followed by random perturbations of them."""
    order = np.argsort(f)[::-1]
    fs, zs = f[order], z[order]
    zscale = float(np.max(np.abs(z)))
    r0 = max(float(np.min(zs.real[: max(3, fs.size // 10)])), 1e-4 * zscale)
    mz = -zs.imag
    # with an electrode, the arcs end where -Z'' is lowest before the low-frequency rise
    end = int(np.argmin(mz[fs.size // 3 :]) + fs.size // 3) if circuit.electrode else fs.size - 1
    diameter = max(float(zs.real[end]) - r0, 1e-3 * zscale)
    peaks = _apex_frequencies(fs[: end + 1], mz[: end + 1])
    f_hi, f_lo = (peaks[0], peaks[1]) if len(peaks) > 1 else (3.0 * peaks[0], peaks[0] / 3.0)
    guesses = []
    for frac in (0.5, 0.3, 0.7):
        p = [math.log(max(r0, 1e-9 * zscale))]
        if circuit.n_arcs == 1:
            arcs = [(diameter, peaks[0])]
        else:
            arcs = [(frac * diameter, f_hi), ((1 - frac) * diameter, f_lo)]
        for r, fpk in arcs:
            n = 0.9
            q = 1.0 / (r * (2 * math.pi * fpk) ** n)
            p += [math.log(r), math.log(q), n]
        if circuit.electrode:
            w_lo = 2 * math.pi * fs[-1]
            q_el = 1.0 / (max(abs(zs[-1].imag), 1e-9 * zscale) * w_lo**0.8)
            p += [math.log(q_el), 0.8]
        guesses.append(np.array(p))
        if circuit.n_arcs == 1:
            break
    lo, hi = _bounds(circuit, zscale)
    starts = [np.clip(g, lo + 1e-9, hi - 1e-9) for g in guesses]
    while len(starts) < max(n_starts, len(guesses)):
        base = guesses[len(starts) % len(guesses)].copy()
        is_n = _exponent_mask(circuit)
        base[~is_n] += rng.normal(0.0, 1.5, (~is_n).sum())
        base[is_n] = rng.uniform(0.6, 1.0, is_n.sum())
        starts.append(np.clip(base, lo + 1e-9, hi - 1e-9))
    return starts[: max(n_starts, len(guesses))], (lo, hi)


def _apex_frequencies(f: np.ndarray, mz: np.ndarray) -> list[float]:
    """Frequencies (Hz, in the order of ``f``) of the one or two highest maxima of -Z''."""
    if f.size < 3:
        return [float(np.sqrt(f.max() * f.min()))]
    smooth = np.convolve(mz, np.ones(3) / 3.0, mode="same")
    inner = np.arange(1, f.size - 1)
    is_max = (smooth[inner] >= smooth[inner - 1]) & (smooth[inner] > smooth[inner + 1])
    idx = inner[is_max]
    if idx.size == 0:
        idx = np.array([int(np.argmax(smooth))])
    top = np.sort(idx[np.argsort(-smooth[idx])[:2]])
    return [float(f[i]) for i in top]


def _fit_circuit(circuit, f, z, rng, n_starts, max_nfev) -> _Candidate | None:
    fun, jac = _residual(circuit, f, z)
    starts, (lo, hi) = _initial_guesses(circuit, f, z, rng, n_starts)
    best: _Candidate | None = None
    for x0 in starts:
        try:
            res = least_squares(
                fun,
                x0,
                jac=jac,
                bounds=(lo, hi),
                method="trf",
                x_scale="jac",
                max_nfev=max_nfev,
                xtol=1e-10,
                ftol=1e-10,
                gtol=1e-10,
            )
        except (ValueError, FloatingPointError) as exc:
            log.debug("start failed for %s: %s", circuit.name, exc)
            continue
        if res.status <= 0 or not np.isfinite(res.cost):
            continue
        if best is None or res.cost < best.cost:
            best = _Candidate(circuit, res.x, float(res.cost), res.jac, res.status)
    return best


def _build_result(
    cand: _Candidate, spec: Spectrum, rms: float, bic: dict[str, float], temperature_c
) -> ImpedanceFit:
    circuit, x = cand.circuit, cand.x
    n_obs, k = 2 * spec.frequency_hz.size, x.size
    s2 = 2 * cand.cost / max(n_obs - k, 1)
    jtj = cand.jac.T @ cand.jac
    try:
        cov = np.linalg.inv(jtj) * s2
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.inf)
    sd_x = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.inf))
    p = _to_natural(circuit, x)
    sd = np.where(_exponent_mask(circuit), sd_x, p * sd_x)

    # order arcs by apex frequency (highest first) and give them roles
    arcs = sorted(
        range(circuit.n_arcs),
        key=lambda a: -arc_frequency(p[1 + 3 * a], p[2 + 3 * a], p[3 + 3 * a]),
    )
    caps = [arc_capacitance(p[1 + 3 * a], p[2 + 3 * a], p[3 + 3 * a]) for a in arcs]
    notes: list[str] = []
    if circuit.n_arcs == 2:
        roles = ("b", "gb")
    elif caps[0] < BULK_CAPACITANCE_MAX_F:
        roles = ("b",)
        notes.append("one arc with a bulk-like capacitance: grain-boundary arc not resolved")
    else:
        roles = ("gb",)
        notes.append(
            "one arc with a grain-boundary-like capacitance: bulk arc above the "
            "measured frequencies, so R_b is the series resistance R0"
        )
    perm = [0]
    for a in arcs:
        perm += [1 + 3 * a, 2 + 3 * a, 3 + 3 * a]
    if circuit.electrode:
        perm += [k - 2, k - 1]
    names = circuit.role_names(roles)
    units = [UNITS[n[0]] for n in names]
    params = {
        name: Estimate(float(p[i]), float(sd[i]), unit)
        for name, i, unit in zip(names, perm, units, strict=True)
    }

    def r_sum(indices: list[int]) -> Estimate:
        """Sum of resistances with the log-space covariance propagated."""
        vals = p[indices]
        sub = cov[np.ix_(indices, indices)]
        var = float(vals @ sub @ vals)
        return Estimate(float(vals.sum()), math.sqrt(var) if var >= 0 else math.inf, "ohm")

    arc_r = [1 + 3 * a for a in arcs]
    if roles == ("b", "gb"):
        r_b, r_gb, r_t = r_sum([arc_r[0]]), r_sum([arc_r[1]]), r_sum(arc_r)
    elif roles == ("b",):
        r_b, r_gb, r_t = r_sum([arc_r[0]]), None, r_sum([arc_r[0]])
    else:
        r_b, r_gb, r_t = r_sum([0]), r_sum([arc_r[0]]), r_sum([0, arc_r[0]])
    z_fit = circuit.impedance(p, spec.frequency_hz)
    return ImpedanceFit(
        circuit=circuit.label(roles),
        parameters=params,
        r_bulk=r_b,
        r_grain_boundary=r_gb,
        r_total=r_t,
        capacitances_f={f"C_{r}": c for r, c in zip(roles, caps, strict=True)},
        residual_rms=rms,
        bic=bic,
        frequency_hz=spec.frequency_hz,
        z_measured=spec.z,
        z_fit=z_fit,
        temperature_c=temperature_c,
        source=spec.source,
        notes=tuple(notes),
        circuit_id=circuit.name,
    )
