"""Equivalent circuits of a solid-electrolyte pellet between ion-blocking electrodes.

Elements: R (ohm); CPE with Z = 1 / (Q (j omega)^n), Q in F s^(n-1), 0 < n <= 1.
An arc is R || CPE: Z = R / (1 + R Q (j omega)^n); its equivalent capacitance is
C = (R Q)^(1/n) / R (F) and its apex frequency f = 1 / (2 pi (R Q)^(1/n)) (Hz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNITS = {"R": "ohm", "Q": "F s^(n-1)", "n": ""}


@dataclass(frozen=True)
class Circuit:
    """A series chain: R0, then ``n_arcs`` R||CPE arcs, then optionally an electrode CPE."""

    name: str
    n_arcs: int
    electrode: bool

    def role_names(self, arc_roles: tuple[str, ...]) -> tuple[str, ...]:
        """Parameter names with each arc labelled by its role ("b" bulk, "gb" grain boundary)."""
        names = ["R0"]
        for role in arc_roles:
            names += [f"R_{role}", f"Q_{role}", f"n_{role}"]
        if self.electrode:
            names += ["Q_el", "n_el"]
        return tuple(names)

    def label(self, arc_roles: tuple[str, ...]) -> str:
        """Circuit string with arcs labelled by role, e.g. R0-(R_b||CPE_b)-CPE_el."""
        parts = ["R0", *(f"(R_{r}||CPE_{r})" for r in arc_roles)]
        if self.electrode:
            parts.append("CPE_el")
        return "-".join(parts)

    def impedance(self, params: np.ndarray, frequency_hz: np.ndarray) -> np.ndarray:
        """Complex impedance (ohm) at ``frequency_hz`` for parameters in natural units."""
        w = 2.0 * np.pi * np.asarray(frequency_hz, dtype=float)
        z = np.full(w.shape, params[0], dtype=complex)
        for k in range(self.n_arcs):
            r, q, n = params[1 + 3 * k : 4 + 3 * k]
            z += r / (1.0 + r * q * (1j * w) ** n)
        if self.electrode:
            q, n = params[-2:]
            z += 1.0 / (q * (1j * w) ** n)
        return z

    def jacobian(self, params: np.ndarray, frequency_hz: np.ndarray) -> np.ndarray:
        """dZ/dx (complex, shape (N, k)) for x = (ln R0, [ln R, ln Q, n] per arc, [ln Q, n]).

        Arc: Z = R / D with D = 1 + R Q s^n, s = j omega, so dZ/dlnR = R / D^2,
        dZ/dlnQ = -R^2 Q s^n / D^2 and dZ/dn = -R^2 Q s^n ln(s) / D^2.
        Electrode CPE: dZ/dlnQ = -Z_el, dZ/dn = -Z_el ln(s).
        """
        w = 2.0 * np.pi * np.asarray(frequency_hz, dtype=float)
        s = 1j * w
        log_s = np.log(w) + 0.5j * np.pi
        jac = np.empty((w.size, params.size), dtype=complex)
        jac[:, 0] = params[0]
        for k in range(self.n_arcs):
            r, q, n = params[1 + 3 * k : 4 + 3 * k]
            rqs = r * q * s**n
            d2 = (1.0 + rqs) ** 2
            jac[:, 1 + 3 * k] = r / d2
            jac[:, 2 + 3 * k] = -r * rqs / d2
            jac[:, 3 + 3 * k] = -r * rqs * log_s / d2
        if self.electrode:
            q, n = params[-2:]
            z_el = 1.0 / (q * s**n)
            jac[:, -2] = -z_el
            jac[:, -1] = -z_el * log_s
        return jac


CIRCUITS: dict[str, Circuit] = {
    c.name: c
    for c in (
        Circuit("R0-(R1||CPE1)", 1, False),
        Circuit("R0-(R1||CPE1)-CPE_el", 1, True),
        Circuit("R0-(R1||CPE1)-(R2||CPE2)", 2, False),
        Circuit("R0-(R1||CPE1)-(R2||CPE2)-CPE_el", 2, True),
    )
}


def arc_capacitance(r_ohm: float, q: float, n: float) -> float:
    """Equivalent capacitance (F) of an R||CPE arc: C = (R Q)^(1/n) / R."""
    return float((r_ohm * q) ** (1.0 / n) / r_ohm)


def arc_frequency(r_ohm: float, q: float, n: float) -> float:
    """Apex frequency (Hz) of an R||CPE arc: f = 1 / (2 pi (R Q)^(1/n))."""
    return float(1.0 / (2.0 * np.pi * (r_ohm * q) ** (1.0 / n)))
