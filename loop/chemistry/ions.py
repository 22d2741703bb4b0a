"""Ions of the NASICON sites, their default oxidation states and tabulated properties.

Oxidation-state table (documented, overridable per call):

* from the DFT data set (Ouyang et al.): Mg Ca Zn 2+; Al Ga Sc In Y La 3+;
  Ti Zr Hf Sn Ge 4+; Nb Ta 5+; polyanion centres Si 4+, P 5+, S 6+; Na 1+; O 2-.
* dopants of the entropy-stabilised NZSP paper (Zuo et al.) and other common NASICON
  M-site cations: Lu Yb Tm Er Ho Dy Tb Gd Eu Sm Nd Pr Bi Fe Cr V Mn(2+) Co Ni Cu Cd Sr
  with their usual states, Ce 4+, Sb 5+, Mo W Te 6+.

Elements with several common states list them in :data:`ALLOWED_OXIDATION_STATES`; the first
is the default, any of them (or another integer with a Shannon radius) may be chosen by an
explicit override.

Properties come from pymatgen's element data: Shannon ionic radius in octahedral (CN VI)
coordination, A (high-spin where pymatgen distinguishes spin states), and Pauling
electronegativity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from loop.errors import CompositionError

#: Na+ Shannon radius, CN VI, A (the reference of r_minus_na, r_ratio_na and t2).
R_NA = 1.02
#: Pauling electronegativity of Na.
X_NA = 0.93
#: Li+ Shannon radius, CN VI, A.
R_LI = 0.76

#: Mobile ions of the Na (A) site and their Shannon radius (CN VI, A). Only Na is in the
#: domain of the tolerance factor and the DFT models; Li is accepted for conductivity data
#: (LATP, LAGP, LiZr2(PO4)3). A formula holds one mobile ion: Li+Na mixtures are refused.
MOBILE_IONS: dict[str, float] = {"Na": R_NA, "Li": R_LI}

#: Default oxidation state of each M-site (octahedral) cation.
M_SITE_OXIDATION_STATES: dict[str, int] = {
    # the DFT data set
    "Mg": 2, "Ca": 2, "Zn": 2,
    "Al": 3, "Ga": 3, "Sc": 3, "In": 3, "Y": 3, "La": 3,
    "Ti": 4, "Zr": 4, "Hf": 4, "Sn": 4, "Ge": 4,
    "Nb": 5, "Ta": 5,
    # entropy-NZSP dopants and other common NASICON M-site cations
    "Lu": 3, "Yb": 3, "Tm": 3, "Er": 3, "Ho": 3, "Dy": 3, "Tb": 3, "Gd": 3, "Eu": 3,
    "Sm": 3, "Nd": 3, "Pr": 3, "Bi": 3, "Fe": 3, "Cr": 3, "V": 3,
    "Mn": 2, "Co": 2, "Ni": 2, "Cu": 2, "Cd": 2, "Sr": 2,
    "Ce": 4, "Sb": 5, "Mo": 6, "W": 6, "Te": 6,
}  # fmt: skip

#: Polyanion centres (the A site of (AO4) groups) and their oxidation states.
A_SITE_OXIDATION_STATES: dict[str, int] = {"Si": 4, "P": 5, "S": 6}

#: Every element's default state (Na, M, A and O).
DEFAULT_OXIDATION_STATES: dict[str, int] = {
    "Na": 1,
    "Li": 1,
    **M_SITE_OXIDATION_STATES,
    **A_SITE_OXIDATION_STATES,
    "O": -2,
}

#: Alternative states accepted for multivalent elements (default first).
ALLOWED_OXIDATION_STATES: dict[str, tuple[int, ...]] = {
    "Ti": (4, 3), "V": (3, 4, 5), "Nb": (5, 4, 3), "Sn": (4, 2), "Mn": (2, 3, 4),
    "Fe": (3, 2), "Cr": (3, 4, 6), "Co": (2, 3), "Ni": (2, 3), "Ce": (4, 3),
    "Mo": (6, 5, 4, 3), "W": (6, 5, 4), "Sb": (5, 3), "Cu": (2, 1), "Eu": (3, 2),
    "Tb": (3, 4), "Pr": (3, 4), "Ge": (4, 2), "Ta": (5, 4, 3), "Bi": (3, 5),
}  # fmt: skip


class Ion(NamedTuple):
    """An element in one oxidation state."""

    element: str
    charge: int

    def __str__(self) -> str:
        sign = "+" if self.charge >= 0 else "-"
        return f"{self.element}{abs(self.charge)}{sign}"


@dataclass(frozen=True, slots=True)
class IonProperties:
    """Tabulated properties of one ion."""

    radius_a: float  # Shannon ionic radius, CN VI, A
    electronegativity: float  # Pauling
    charge: int


#: The polyanion centres in fixed column order (Si, P, S): A-site arrays use this order.
A_SITE_IONS: tuple[Ion, ...] = tuple(Ion(e, q) for e, q in A_SITE_OXIDATION_STATES.items())


@lru_cache(maxsize=1)
def known_elements() -> frozenset[str]:
    """All element symbols of the periodic table."""
    from pymatgen.core.periodic_table import Element

    return frozenset(e.symbol for e in Element)


@cache
def shannon_radius_vi(element: str, charge: int) -> float:
    """Shannon ionic radius of ``element`` in state ``charge``, CN VI, A.

    Raises:
        CompositionError: pymatgen's table has no CN VI radius for this ion.
    """
    from pymatgen.core.periodic_table import Species

    species = Species(element, charge)
    for spin in ("", "High Spin"):
        try:
            return float(species.get_shannon_radius("VI", spin=spin))
        except (KeyError, ValueError, TypeError):
            continue
    raise CompositionError(
        f"{Ion(element, charge)} has no Shannon radius for octahedral (CN VI) coordination"
    )


@cache
def pauling_electronegativity(element: str) -> float:
    """Pauling electronegativity of ``element``."""
    from pymatgen.core.periodic_table import Element

    return float(Element(element).X)


@cache
def ion_properties(ion: Ion, needs_radius: bool = True) -> IonProperties:
    """Radius (CN VI, A), Pauling electronegativity and charge of ``ion``.

    ``needs_radius=False`` is for polyanion centres, whose radius no descriptor uses.
    """
    radius = shannon_radius_vi(ion.element, ion.charge) if needs_radius else float("nan")
    return IonProperties(radius, pauling_electronegativity(ion.element), ion.charge)
