"""Pellet geometry stated in an export's header, e.g. Novocontrol/WinDETA's
``Diameter[mm]: 1.300e+01  Thickness[mm]: 7.500e-01``.

Only the sample's own keys count (``Diameter``, ``Thickness``, ``Area``, optionally prefixed by
``Sample``); ``Electrode Thickness``, ``Spacer Area`` and a potentiostat's working-electrode
area are other things and are ignored. Keys are separated from each other by a tab, ``;`` or
two or more blanks; the value follows the key (``:`` or ``=`` optional), the unit is in
brackets after the key or follows the value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from experiments.plausibility import check_pellet
from loop.errors import ValidationError

_NUM = r"[+-]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][+-]?\d+)?"
_KEY = r"(?:sample\s+)?(?P<key>diameter|thickness|area)"
_UNIT = r"(?P<unit>mm\^?2|mm²|cm\^?2|cm²|mm|cm|µm|um|m)"
_BRACKETED = re.compile(rf"^{_KEY}\s*[\[(]\s*{_UNIT}\s*[\])]\s*[:=]?\s*(?P<val>{_NUM})$", re.I)
_TRAILING = re.compile(rf"^{_KEY}\s*[:=]?\s*(?P<val>{_NUM})\s*{_UNIT}$", re.I)
_LENGTH_MM = {"mm": 1.0, "cm": 10.0, "µm": 1e-3, "um": 1e-3, "m": 1e3}
_AREA_CM2 = {"mm2": 0.01, "mm^2": 0.01, "mm²": 0.01, "cm2": 1.0, "cm^2": 1.0, "cm²": 1.0}


@dataclass(frozen=True)
class PelletGeometry:
    """Pellet thickness (mm) and electrode area (cm2) as a file states them.

    ``line`` is the 1-based line they were read from; ``diameter_mm`` is set when the area
    was computed from a stated diameter (area = pi d^2 / 4).
    """

    thickness_mm: float | None
    area_cm2: float | None
    diameter_mm: float | None
    line: int

    def to_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


def find_geometry(lines: list[str]) -> PelletGeometry | None:
    """Thickness and area stated in ``lines`` (the header part of a file), or None."""
    values: dict[str, float] = {}
    line_no = 0
    for n, line in enumerate(lines, start=1):
        for segment in re.split(r"\t|;|\s{2,}", line.strip()):
            parsed = _segment(segment.strip())
            if parsed is None:
                continue
            key, value = parsed
            if key not in values and math.isfinite(value) and value > 0:
                values[key] = value
                line_no = line_no or n
    if not values:
        return None
    area = values.get("area")
    diameter = values.get("diameter")
    if area is None and diameter is not None:
        area = math.pi * (diameter / 10.0) ** 2 / 4.0
    return PelletGeometry(values.get("thickness"), area, diameter, line_no)


def _segment(text: str) -> tuple[str, float] | None:
    m = _BRACKETED.match(text) or _TRAILING.match(text)
    if m is None:
        return None
    key, unit = m.group("key").lower(), m.group("unit").replace(" ", "")
    value = float(m.group("val").replace(",", "."))
    if key == "area":
        factor = _AREA_CM2.get(unit.lower().replace("²", "2"))
        return None if factor is None else ("area", value * factor)
    factor = _LENGTH_MM.get(unit if unit in _LENGTH_MM else unit.lower())
    return None if factor is None else (key, value * factor)


@dataclass(frozen=True)
class Pellet:
    """The pellet used for conductivity: thickness (mm), area (cm2), and where each came from
    ("file" or "user")."""

    thickness_mm: float
    area_cm2: float
    thickness_from: str
    area_from: str

    def to_dict(self) -> dict[str, float | str]:
        return dict(self.__dict__)


def resolve_pellet(
    stated: PelletGeometry | None,
    thickness_mm: float | None,
    area_cm2: float | None,
    source: str = "",
) -> Pellet:
    """Thickness and area: the user's values where given, else those the file states.

    Raises:
        ValidationError: neither gives the thickness or the area, or a value is not > 0.
    """
    where = source or "the spectrum file"
    missing = []
    t_from = a_from = "user"
    if thickness_mm is None:
        thickness_mm, t_from = (stated.thickness_mm if stated else None), "file"
        if thickness_mm is None:
            missing.append("thickness (--thickness-mm)")
    if area_cm2 is None:
        area_cm2, a_from = (stated.area_cm2 if stated else None), "file"
        if area_cm2 is None:
            missing.append("electrode area (--area-cm2)")
    if missing:
        raise ValidationError(
            f"{where} does not state the pellet {' or '.join(missing)}; give it on the command line"
        )
    for name, value, unit in (("thickness", thickness_mm, "mm"), ("area", area_cm2, "cm2")):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValidationError(f"pellet {name} must be a positive number of {unit}, got {value}")
    check_pellet(float(thickness_mm), float(area_cm2))
    return Pellet(float(thickness_mm), float(area_cm2), t_from, a_from)
