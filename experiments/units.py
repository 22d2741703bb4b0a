"""Units: what the registry stores (the unit is in each column's name) and how the bench types it.

Stored: temperatures in K, times in h, conductivities in S/cm, activation energies in eV,
relative density as a fraction, lattice parameters in angstrom (see
:mod:`registry.tables`). :data:`BENCH_INPUTS` is the one place that says how people may
type a column instead (degrees Celsius, mS/cm, %); the record constructors
(``SynthesisRecord.create``, ...) and the batch CSV both read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from loop.errors import ValidationError

ZERO_CELSIUS_K = 273.15
MAX_TEMPERATURE_K = 3000.0
SIGMA_MAX_S_CM = 1.0  # refused at or above (see experiments.plausibility)
#: Accepted conductivity units and the divisor that turns them into S/cm (mS, not MS).
SIGMA_UNITS: dict[str, float] = {"S/cm": 1.0, "mS/cm": 1000.0}
CELSIUS, PERCENT, SIGMA = "C", "%", "S/cm or mS/cm"

#: Typed name -> (stored column, unit typed), for the values the bench does not type as
#: stored: temperatures in C, conductivities in S/cm or mS/cm (the unit given with them),
#: density in %, and the batch CSV's short spellings (same unit). Any other column is
#: typed by its own name, in its stored unit.
BENCH_INPUTS: dict[str, tuple[str, str]] = {
    "calcination_c": ("calcination_temperature_k", CELSIUS),
    "sintering_c": ("sintering_temperature_k", CELSIUS),
    "temperature_c": ("temperature_k", CELSIUS),
    "sigma_total": ("sigma_total_s_cm", SIGMA),
    "sigma_bulk": ("sigma_bulk_s_cm", SIGMA),
    "sigma_gb": ("sigma_gb_s_cm", SIGMA),
    "relative_density_pct": ("relative_density", PERCENT),
    "calcination_h": ("calcination_hours", "h"),
    "sintering_h": ("sintering_hours", "h"),
    "date": ("synthesized_on", "YYYY-MM-DD"),
    "a_A": ("a_a", "A"),
    "b_A": ("b_a", "A"),
    "c_A": ("c_a", "A"),
    "ccd_mA_cm2": ("ccd_ma_cm2", "mA/cm2"),
}
#: How the conductivity columns are named in messages.
SIGMA_NAMES = {
    "sigma_total_s_cm": "total conductivity",
    "sigma_bulk_s_cm": "bulk conductivity",
    "sigma_gb_s_cm": "grain-boundary conductivity",
}


def finite(value: Any, what: str) -> float:
    """``value`` as a finite float.

    Raises:
        ValidationError: not a number, or NaN / infinite.
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ValidationError(f"{what} must be a finite number, not {value!r}")
    return x


def optional_float(value: Any, what: str) -> float | None:
    """``value`` as a finite float, None passing through."""
    return None if value is None else finite(value, what)


def text(value: str | None) -> str | None:
    """Stripped text; empty text is None."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def hours(value: float | None, what: str) -> float | None:
    """A duration in h (None passes); negative is refused."""
    value = optional_float(value, what)
    if value is not None and value < 0:
        raise ValidationError(f"{what} {value:g} h is negative")
    return value


def in_range(value: Any, what: str, low: float, high: float, unit: str) -> float | None:
    """``value`` (None passes) strictly inside (low, high)."""
    v = optional_float(value, what)
    if v is not None and not low < v < high:
        raise ValidationError(f"{what} = {v:g} {unit} is not in ({low:g}, {high:g}) {unit}")
    return v


def to_s_per_cm(value: float, unit: str) -> float:
    """Convert a conductivity to S/cm.

    Raises:
        ValidationError: ``unit`` is not S/cm or mS/cm.
    """
    divisor = SIGMA_UNITS.get(str(unit).strip())
    if divisor is None:
        raise ValidationError(f"conductivity unit {unit!r} is not S/cm or mS/cm")
    return finite(value, "conductivity") / divisor


def celsius_to_kelvin(celsius: float) -> float:
    """Degrees Celsius -> kelvin."""
    return finite(celsius, "temperature") + ZERO_CELSIUS_K


def check_temperature_k(value: float | None, what: str) -> float | None:
    """Validate a temperature in K (None passes).

    Raises:
        ValidationError: below 0 K or implausibly high.
    """
    if value is None:
        return None
    value = finite(value, what)
    if value < 0:
        raise ValidationError(
            f"{what} {value:g} K ({value - ZERO_CELSIUS_K:g} C) is below absolute zero (0 K)"
        )
    if value > MAX_TEMPERATURE_K:
        raise ValidationError(f"{what} {value:g} K is above {MAX_TEMPERATURE_K:g} K; a typo?")
    return value


def stored_value(name: str, value: Any, sigma_unit: str = "S/cm") -> tuple[str, Any]:
    """(column, value in its stored unit) of a value typed as ``name`` (see BENCH_INPUTS).

    Raises:
        ValidationError: not a number, an unknown conductivity unit, or a conductivity
            outside (0, 1) S/cm (the message shows the typed value and unit).
    """
    column, unit = BENCH_INPUTS.get(name, (name, ""))
    if unit == CELSIUS:
        return column, celsius_to_kelvin(value)
    if unit == PERCENT:
        return column, finite(value, name.replace("_", " ")) / 100
    if unit == SIGMA:
        s_cm = to_s_per_cm(value, sigma_unit)
        if not 0 < s_cm < SIGMA_MAX_S_CM:
            raise ValidationError(
                f"{SIGMA_NAMES[column]} {float(value):g} {sigma_unit.strip()} = {s_cm:g} S/cm "
                f"is outside (0, {SIGMA_MAX_S_CM:g}) S/cm"
            )
        return column, s_cm
    return column, value


def from_bench(typed: Mapping[str, Any], sigma_unit: str = "S/cm") -> dict[str, Any]:
    """Stored column -> value from what the bench typed (None means not typed).

    Raises:
        ValidationError: a value that cannot be converted, or one column typed twice (as
            ``temperature_c`` and ``temperature_k``, say).
    """
    out: dict[str, Any] = {}
    typed_as: dict[str, str] = {}
    for name, value in typed.items():
        if value is None:
            continue
        column, converted = stored_value(name, value, sigma_unit)
        if column in out:
            raise ValidationError(f"give {typed_as[column]} or {name}, not both")
        out[column], typed_as[column] = converted, name
    return out
