"""Reference phases: the NASICON prototype (decorated per composition) and the by-product CIFs."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pymatgen.core import Composition, Lattice, Structure

from loop.errors import CompositionError, DataMissingError

log = logging.getLogger(__name__)

MAIN_PHASE = "NASICON"
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

#: By-product name -> CIF file in experiments/xrd/phases/.
BYPRODUCT_CIFS = {
    "m-ZrO2": "ZrO2_baddeleyite.cif",
    "ZrSiO4": "ZrSiO4_zircon.cif",
    "Na3PO4": "Na3PO4_idealised.cif",
    "Na2ZrSi2O7": "Na2ZrSi2O7_parakeldyshite_idealised.cif",
}


@dataclass(frozen=True, eq=False)
class ReferencePhase:
    """One phase the full-profile fit may use.

    ``scale_mode`` says which cell axes are refined together ("ac": a and c separately,
    "iso": one isotropic scale); ``scale_bounds`` limits every scale factor.
    """

    name: str
    structure: Structure
    scale_mode: str
    scale_bounds: tuple[float, float]
    citation: str
    approximate: bool = False

    @property
    def cell_mass_amu(self) -> float:
        """Mass of the unit-cell contents Z*M (g/mol per cell, i.e. amu)."""
        return float(self.structure.composition.weight)


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


def reference_phases(composition: str | None = None) -> list[ReferencePhase]:
    """NASICON (first) and the by-products, each with its structure and refinement limits."""
    main = ReferencePhase(
        name=MAIN_PHASE,
        structure=nasicon_structure(composition),
        scale_mode="ac",
        scale_bounds=(0.95, 1.07),
        citation="../shared/reference/nasicon_prototype.md (Hagman & Kierkegaard 1968)",
    )
    return [main, *(_byproduct(name) for name in BYPRODUCT_CIFS)]


@cache
def _byproduct(name: str) -> ReferencePhase:
    text = _cif_text(BYPRODUCT_CIFS[name])
    header = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("#")]
    citation = next((h.split(":", 1)[1].strip() for h in header if h.startswith("citation:")), "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure = Structure.from_str(text, fmt="cif")
    return ReferencePhase(
        name=name,
        structure=structure,
        scale_mode="iso",
        scale_bounds=(0.985, 1.015),
        citation=citation,
        approximate=any("APPROXIMATE" in h for h in header),
    )


def _cif_text(filename: str) -> str:
    path = resources.files("experiments.xrd.phases") / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataMissingError(
            f"reference phase file {filename} is missing from the package"
        ) from None
