"""Crystalline phases seen by XRD: parsing ``NASICON=0.97;ZrO2=0.03`` and the impurity share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from experiments.units import finite
from loop.errors import ValidationError

WEIGHT_FRACTION_TOLERANCE = 0.02


@dataclass(frozen=True)
class Phase:
    """A crystalline phase seen by XRD; ``weight_fraction`` None when not quantified."""

    name: str
    weight_fraction: float | None = None

    @property
    def is_nasicon(self) -> bool:
        """Whether this is the target NASICON phase (its name starts with 'NASICON')."""
        return is_nasicon_phase(self.name)


def is_nasicon_phase(name: str) -> bool:
    """The naming convention of the target phase: any name beginning with 'NASICON'."""
    return name.strip().lower().startswith("nasicon")


def parse_phases(text: str | Iterable[str] | None) -> tuple[Phase, ...]:
    """``"NASICON=0.97;ZrO2=0.03"`` or ``["NASICON=0.97", "ZrO2"]`` -> phases.

    Raises:
        ValidationError: a fraction that is not a number or a phase without a name.
    """
    if text is None:
        return ()
    items = text.split(";") if isinstance(text, str) else list(text)
    phases = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, sep, frac = item.partition("=")
        name = name.strip()
        if not name:
            raise ValidationError(f"phase {item!r} has no name (write NAME or NAME=FRACTION)")
        phases.append(Phase(name, finite(frac, f"weight fraction of {name}") if sep else None))
    return tuple(phases)


def check_phases(phases: Sequence[Phase]) -> None:
    """Each phase once; weight fractions for all or none, each in [0, 1], summing to 1 +- 0.02.

    Raises:
        ValidationError: the first rule broken.
    """
    names = [p.name.lower() for p in phases]
    if len(set(names)) != len(names):
        raise ValidationError("a phase is listed twice")
    known = [p.weight_fraction is not None for p in phases]
    if any(known) and not all(known):
        raise ValidationError("give a weight fraction for every phase or for none")
    if not any(known):
        return
    for p in phases:
        if not 0.0 <= p.weight_fraction <= 1.0:
            raise ValidationError(
                f"weight fraction of {p.name} {p.weight_fraction:g} is not in [0, 1]"
            )
    total = sum(p.weight_fraction for p in phases)
    if abs(total - 1.0) > WEIGHT_FRACTION_TOLERANCE:
        raise ValidationError(
            f"weight fractions sum to {total:.3f}, not 1 +- {WEIGHT_FRACTION_TOLERANCE}"
        )


def impurity_fraction(phases: Sequence[Phase]) -> float | None:
    """Summed weight fraction of non-NASICON phases (None unless all are quantified)."""
    if not phases or any(p.weight_fraction is None for p in phases):
        return None
    return float(min(1.0, max(0.0, sum(p.weight_fraction for p in phases if not p.is_nasicon))))
