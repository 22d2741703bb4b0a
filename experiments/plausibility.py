"""Plausibility of typed and analysed outcomes: values no NASICON measurement can have are
refused with the reason; borderline ones are stored with a warning that names them.

Shared by every way a record is made (CLI, batch CSV, web API, analyses), through
:mod:`experiments.records`. The ranges (documented in README "Limits and validation"):

* conductivity: below :data:`SIGMA_MAX_S_CM` (1 S/cm; refused at or above), warned above
  :data:`SIGMA_WARN_S_CM` (0.1 S/cm, beyond the best NASICON at room temperature); the
  total conductivity (bulk and grain boundaries in series) cannot exceed the bulk or the
  grain-boundary one (2 % tolerance for rounding);
* R_wp: a percentage, at most 100;
* dates (synthesis): not after tomorrow (UTC);
* pellet geometry: thickness (0, 20] mm, electrode area (0, 20] cm2;
* a raw file given with typed numbers must read as the record's kind (an impedance export
  for a conductivity, a diffraction pattern for an XRD result).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.units import SIGMA_MAX_S_CM
from loop.errors import NasiconError, ValidationError

if TYPE_CHECKING:
    from loop.settings import LimitsConfig

log = logging.getLogger(__name__)

SIGMA_WARN_S_CM = 0.1
#: Relative tolerance of "total <= bulk" (rounded values typed from a fit).
SERIES_TOLERANCE = 0.02
MAX_RWP_PCT = 100.0
MAX_THICKNESS_MM = 20.0
MAX_AREA_CM2 = 20.0


def sigma_unit(typed: dict[str, Any], unit: str | None) -> str:
    """The unit of typed conductivities: required when one is typed (1.3 meant as mS/cm
    and stored as S/cm would be 1000x too high); S/cm when none is."""
    if unit is not None:
        return unit
    if any(typed.get(k) is not None for k in ("sigma_total", "sigma_bulk", "sigma_gb")):
        raise ValidationError(
            "give the unit of the typed conductivity: --unit S/cm or --unit mS/cm "
            "(sigma_unit in a batch file, unit in the API)"
        )
    return "S/cm"


def check_sigma(value: float, what: str) -> None:
    """Refuse a conductivity at or above 1 S/cm; warn above 0.1 S/cm."""
    if value >= SIGMA_MAX_S_CM:
        raise ValidationError(
            f"{what} {value:g} S/cm is outside (0, {SIGMA_MAX_S_CM:g}) S/cm: no solid "
            "electrolyte conducts that well (a unit slip? mS/cm typed as S/cm?)"
        )
    if value > SIGMA_WARN_S_CM:
        log.warning(
            "%s %g S/cm is above %g S/cm, beyond the best NASICON at room temperature; "
            "stored, but check the unit",
            what, value, SIGMA_WARN_S_CM,
        )  # fmt: skip


def check_series(total: float | None, bulk: float | None, gb: float | None) -> None:
    """The total conductivity cannot exceed the bulk or grain-boundary one."""
    if total is None:
        return
    for part, name in ((bulk, "bulk"), (gb, "grain-boundary")):
        if part is not None and total > part * (1 + SERIES_TOLERANCE):
            raise ValidationError(
                f"total conductivity {total:g} S/cm is above the {name} conductivity "
                f"{part:g} S/cm; the total (bulk and grain boundaries in series) cannot "
                "exceed either (swapped values?)"
            )


def check_rwp(rwp: float | None) -> None:
    """R_wp is a percentage: at most 100."""
    if rwp is not None and rwp > MAX_RWP_PCT:
        raise ValidationError(f"R_wp {rwp:g} % is above {MAX_RWP_PCT:g} %; R_wp is a percentage")


def check_not_future(value: date | None, what: str) -> None:
    """A date of something done cannot be after tomorrow (UTC)."""
    if value is None:
        return
    if value > (datetime.now(UTC) + timedelta(days=1)).date():
        raise ValidationError(f"{what} {value.isoformat()} is in the future")


def check_pellet(thickness_mm: float, area_cm2: float) -> None:
    """A pellet thicker than 20 mm or larger than 20 cm2 is a unit slip."""
    if thickness_mm > MAX_THICKNESS_MM:
        raise ValidationError(
            f"pellet thickness {thickness_mm:g} mm is above {MAX_THICKNESS_MM:g} mm "
            "(a thickness in um or m typed as mm?)"
        )
    if area_cm2 > MAX_AREA_CM2:
        raise ValidationError(
            f"electrode area {area_cm2:g} cm2 is above {MAX_AREA_CM2:g} cm2 (mm2 typed as cm2?)"
        )


def check_raw_kind(kind: str, path: str | Path, limits: LimitsConfig | None = None) -> None:
    """A raw file given with typed numbers must read as that kind of measurement (within
    the ``[limits]`` settings ``limits``; None: their defaults).

    Raises:
        ValidationError: it does not (the reader's reason is quoted).
    """
    from experiments.limits import eis_limits, xrd_limits
    from loop.settings import LimitsConfig

    cfg = limits or LimitsConfig()
    reader: Any
    if kind == "conductivity":
        from experiments.impedance import read_spectrum as reader

        what, bounds = "an impedance export", eis_limits(cfg)
    elif kind == "xrd":
        from experiments.xrd.readers import read_pattern as reader

        what, bounds = "a diffraction pattern", xrd_limits(cfg)
    else:
        return
    try:
        reader(path, limits=bounds)
    except NasiconError as exc:
        raise ValidationError(
            f"raw file {path} does not read as {what} for a {kind} record: {exc}"
        ) from None
