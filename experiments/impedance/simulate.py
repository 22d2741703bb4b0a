"""Simulated impedance spectra of the pellet circuit, with optional relative noise."""

from __future__ import annotations

import numpy as np

from experiments.impedance.circuits import CIRCUITS
from experiments.impedance.conductivity import BOLTZMANN_EV
from experiments.impedance.readers import Spectrum, make_spectrum


def simulate_spectrum(
    frequency_hz: np.ndarray,
    *,
    r0: float,
    r_b: float,
    q_b: float,
    n_b: float,
    r_gb: float | None = None,
    q_gb: float | None = None,
    n_gb: float | None = None,
    q_el: float | None = None,
    n_el: float | None = None,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Spectrum:
    """Spectrum of R0-(R_b||CPE_b)[-(R_gb||CPE_gb)][-CPE_el] (ohm, F s^(n-1)).

    ``noise`` is the standard deviation of Gaussian noise added to Z' and Z'' separately,
    as a fraction of |Z| at each frequency (0.01 = 1 %).
    """
    params = [r0, r_b, q_b, n_b]
    two_arcs = r_gb is not None
    if two_arcs:
        params += [r_gb, q_gb, n_gb]
    electrode = q_el is not None
    if electrode:
        params += [q_el, n_el]
    name = next(
        c.name
        for c in CIRCUITS.values()
        if c.n_arcs == (2 if two_arcs else 1) and c.electrode == electrode
    )
    f = np.asarray(frequency_hz, dtype=float)
    z = CIRCUITS[name].impedance(np.asarray(params, dtype=float), f)
    if noise > 0:
        rng = rng or np.random.default_rng()
        mod = np.abs(z)
        z = z + noise * mod * (rng.normal(size=f.size) + 1j * rng.normal(size=f.size))
    return make_spectrum(f, z, source_format="simulated")


def arrhenius_resistance(r_at_ref: float, ea_ev: float, t_c: float, t_ref_c: float = 25.0) -> float:
    """Resistance (ohm) at ``t_c`` (deg C) for sigma T = A exp(-Ea / kT), R(t_ref_c) = r_at_ref."""

    t, t_ref = t_c + 273.15, t_ref_c + 273.15
    # sigma ~ exp(-Ea/kT) / T, so R ~ T exp(Ea/kT)
    return float(r_at_ref * (t / t_ref) * np.exp(ea_ev / BOLTZMANN_EV * (1.0 / t - 1.0 / t_ref)))
