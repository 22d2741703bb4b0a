"""NASICON reference structures: the R-3c prototype decorated for a composition, and the
room-temperature monoclinic C2/c form of Na3Zr2Si2PO12 derived from it.

Monoclinic NASICON (Na1+xZr2SixP3-xO12 with x near 2) is a small distortion of the R-3c
framework: C2/c is a maximal (translationengleiche) subgroup of R-3c. Its cell, in terms of the
hexagonal axes of the R-3c cell, is a_m = 2a_h + b_h, b_m = -b_h, c_m = -(2a_h + b_h + c_h)/3
(Z = 4; |a_m| = sqrt(3) a_h, |b_m| = a_h). The model keeps the prototype's fractional
coordinates in that cell and imposes the published monoclinic lattice parameters; the small
atomic displacements of the true structure (Na ordering, polyhedral tilts) are not modelled,
so peak positions and splittings are right and intensities are those of the parent framework.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Composition, Lattice, Structure

from loop.errors import CompositionError

DEFAULT_COMPOSITION = "Na3Zr2Si2PO12"

#: Hexagonal cell of the prototype, A (NaZr2(PO4)3 after Hagman and Kierkegaard, 1968).
PROTOTYPE_A = 8.8043
PROTOTYPE_C = 22.7585
#: Fractional coordinates of ../shared/reference/nasicon_prototype.md (R-3c, hexagonal setting).
PROTOTYPE_SITES = {
    "Na1": (0.0, 0.0, 0.0),
    "Na2": (0.64, 0.0, 0.25),
    "M": (0.0, 0.0, 0.14586),
    "A": (0.28943, 0.0, 0.25),
    "O1": (0.17654, -0.02654, 0.19291),
    "O2": (0.19281, 0.16806, 0.08929),
}
#: Polyanion centres that go on the A site; every other cation but Na goes on M.
A_SITE_ELEMENTS = frozenset({"Si", "P", "S", "Ge", "As"})

#: C2/c cell of Na3Zr2Si2PO12 at room temperature: a, b, c (A), beta (deg); J. P. Boilot,
#: G. Collin and Ph. Colomban, Mater. Res. Bull. 22 (1987) 669-676 ("the true NASICON").
MONOCLINIC_CELL = (15.6513, 9.0550, 9.2198, 123.742)
#: Rows: the C2/c cell vectors in hexagonal fractional coordinates of the R-3c cell.
HEX_TO_MONOCLINIC = np.array([[2.0, 1.0, 0.0], [0.0, -1.0, 0.0], [-2 / 3, -1 / 3, -1 / 3]])


def nasicon_structure(composition: str | None = None) -> Structure:
    """The R-3c prototype with site-averaged occupancies for ``composition`` (O normalised to 12).

    Raises:
        CompositionError: the formula does not fit the NASICON sites (2 M, 3 A, 0-4 Na, 12 O).
    """
    formula = composition or DEFAULT_COMPOSITION
    try:
        comp = Composition(formula)
    except (ValueError, KeyError) as exc:
        raise CompositionError(f"cannot parse composition {formula!r}: {exc}") from None
    if comp["O"] <= 0:
        raise CompositionError(f"composition {formula!r} has no oxygen, so it is not a NASICON")
    comp = comp * (12.0 / comp["O"])
    na = sum(comp[el] for el in ("Na", "Li", "K"))
    a_site = {el.symbol: amt for el, amt in comp.items() if el.symbol in A_SITE_ELEMENTS}
    m_site = {
        el.symbol: amt
        for el, amt in comp.items()
        if el.symbol not in A_SITE_ELEMENTS | {"Na", "Li", "K", "O"}
    }
    if abs(sum(a_site.values()) - 3.0) > 0.15 or abs(sum(m_site.values()) - 2.0) > 0.15:
        raise CompositionError(
            f"composition {formula!r} does not have 2 M and 3 (Si, P, S) per 12 O of a NASICON"
        )
    if not 0.0 <= na <= 4.05:
        raise CompositionError(f"composition {formula!r} has {na:.2f} Na per 12 O, outside 0-4")
    alkali = {el: comp[el] / na for el in ("Na", "Li", "K") if comp[el] > 0} if na else {}
    species, coords = [], []
    for site, occ in (("Na1", min(na, 1.0)), ("Na2", max(na - 1.0, 0.0) / 3.0)):
        if occ > 1e-6:
            species.append({el: occ * frac for el, frac in alkali.items()})
            coords.append(PROTOTYPE_SITES[site])
    species += [
        {el: amt / 2.0 for el, amt in m_site.items()},
        {el: amt / 3.0 for el, amt in a_site.items()},
        {"O": 1.0},
        {"O": 1.0},
    ]
    coords += [PROTOTYPE_SITES[s] for s in ("M", "A", "O1", "O2")]
    lattice = Lattice.hexagonal(PROTOTYPE_A, PROTOTYPE_C)
    return Structure.from_spacegroup("R-3c", lattice, species, coords)


def nasicon_monoclinic_structure(composition: str | None = None) -> Structure:
    """The C2/c form: the decorated prototype in the monoclinic cell, with MONOCLINIC_CELL.

    Raises:
        CompositionError: as :func:`nasicon_structure`.
    """
    hexagonal = nasicon_structure(composition)
    species, frac = to_monoclinic_cell(hexagonal)
    a, b, c, beta = MONOCLINIC_CELL
    return Structure(Lattice.from_parameters(a, b, c, 90.0, beta, 90.0), species, frac)


def to_monoclinic_cell(hexagonal: Structure) -> tuple[list, np.ndarray]:
    """Species and fractional coordinates of an R-3c structure in its C2/c cell (Z 6 -> 4)."""
    inverse = np.linalg.inv(HEX_TO_MONOCLINIC)  # hexagonal fractional = monoclinic @ ...
    shifts = np.array([[i, j, k] for i in range(-3, 4) for j in range(-3, 4) for k in range(-2, 3)])
    species, coords = [], []
    for site in hexagonal:
        images = site.frac_coords[None, :] + shifts  # hexagonal fractional coordinates
        mono = images @ inverse  # same points in monoclinic fractional coordinates
        inside = np.all((mono > -1e-6) & (mono < 1 - 1e-6), axis=1)
        for point in mono[inside]:
            species.append(site.species)
            coords.append(np.mod(point, 1.0))
    coords_arr = np.array(coords)
    expected = round(len(hexagonal) * 2 / 3)
    if coords_arr.shape[0] != expected:  # a wrong transformation would show here
        raise RuntimeError(f"monoclinic cell has {coords_arr.shape[0]} sites, not {expected}")
    return species, coords_arr


def pseudo_hexagonal_cell(a_m: float, b_m: float, c_m: float) -> tuple[float, float]:
    """(a_h, c_h) in A of the R-3c cell a monoclinic cell corresponds to: a_h from the mean of
    a_m / sqrt(3) and b_m, c_h = sqrt(9 c_m^2 - a_m^2) (exact for the undistorted cell)."""
    a_h = 0.5 * (a_m / np.sqrt(3.0) + b_m)
    return float(a_h), float(np.sqrt(max(9.0 * c_m**2 - a_m**2, 0.0)))
