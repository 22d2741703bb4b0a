"""Reference phases: NASICON (R-3c and C2/c, decorated per composition), the built-in
by-products and precursors (CIFs in experiments/xrd/phases/, provenance in their headers and in
phases/README.md), and the user's own CIFs from a folder (``[xrd] reference_dir``).

A user CIF named like a built-in phase (``Na3PO4.cif``) replaces it: that is how an
approximate built-in model is swapped for a refined structure.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from experiments.xrd.nasicon import (
    DEFAULT_COMPOSITION,
    PROTOTYPE_A,
    PROTOTYPE_C,
    nasicon_monoclinic_structure,
    nasicon_structure,
)
from loop.errors import DataMissingError, ValidationError

log = logging.getLogger(__name__)

MAIN_PHASE = "NASICON"
#: The two NASICON forms tried for the main phase: name -> space group.
NASICON_FORMS = {"R-3c": "rhombohedral", "C2/c": "monoclinic"}

#: By-product / unreacted-precursor name -> CIF file in experiments/xrd/phases/.
BYPRODUCT_CIFS = {
    "m-ZrO2": "ZrO2_baddeleyite.cif",
    "t-ZrO2": "ZrO2_tetragonal.cif",
    "ZrSiO4": "ZrSiO4_zircon.cif",
    "Na3PO4": "Na3PO4_idealised.cif",
    "Na2ZrSi2O7": "Na2ZrSi2O7_parakeldyshite_idealised.cif",
    "ZrP2O7": "ZrP2O7_subcell_idealised.cif",
    "SiO2-quartz": "SiO2_quartz.cif",
    "SiO2-cristobalite": "SiO2_cristobalite.cif",
    "Na2CO3": "Na2CO3_natrite.cif",
}
#: Largest user CIF read (bytes); a crystal structure needs far less.
MAX_CIF_BYTES = 5 * 1024 * 1024

__all__ = [
    "BYPRODUCT_CIFS",
    "DEFAULT_COMPOSITION",
    "MAIN_PHASE",
    "PROTOTYPE_A",
    "PROTOTYPE_C",
    "ReferencePhase",
    "byproduct_phases",
    "nasicon_phase",
    "nasicon_structure",
    "reference_phases",
    "user_phases",
]


@dataclass(frozen=True, eq=False)
class ReferencePhase:
    """One phase the full-profile fit may use.

    ``scale_mode`` says which cell axes are refined together ("ac": a and c separately,
    "abc": all three, "iso": one isotropic scale); ``scale_bounds`` limits every scale
    factor; ``origin`` is "built-in" or "user"; ``source`` the file (or code) it came from,
    relative to experiments/xrd/ for the built-in ones.
    """

    name: str
    structure: Structure
    scale_mode: str
    scale_bounds: tuple[float, float]
    citation: str
    approximate: bool = False
    origin: str = "built-in"
    source: str = ""

    @property
    def cell_mass_amu(self) -> float:
        """Mass of the unit-cell contents Z*M (g/mol per cell, i.e. amu)."""
        return float(self.structure.composition.weight)

    @cached_property
    def space_group(self) -> str:
        """Hermann-Mauguin symbol of the structure (found with spglib, tolerance 0.01 A)."""
        try:
            with warnings.catch_warnings():  # spglib's deprecation notice on its error handling
                warnings.simplefilter("ignore")
                return SpacegroupAnalyzer(self.structure, symprec=0.01).get_space_group_symbol()
        except Exception:  # spglib can fail on odd disordered input; the symbol is only a label
            return "?"

    def describe(self) -> dict[str, str | bool]:
        """Name, formula, space group, source, origin and flags (for ``nasicon xrd phases``)."""
        return {
            "name": self.name,
            "formula": self.structure.composition.reduced_formula,
            "space_group": self.space_group,
            "source": self.source,
            "origin": self.origin,
            "approximate": self.approximate,
        }


def nasicon_phase(composition: str | None = None, form: str = "R-3c") -> ReferencePhase:
    """The main phase in one of its ``NASICON_FORMS`` ("R-3c" or "C2/c")."""
    if form == "R-3c":
        return ReferencePhase(
            name=MAIN_PHASE,
            structure=nasicon_structure(composition),
            scale_mode="ac",
            scale_bounds=(0.95, 1.07),
            citation="../shared/reference/nasicon_prototype.md (Hagman & Kierkegaard 1968)",
            source="nasicon.py: R-3c prototype",
        )
    if form == "C2/c":
        return ReferencePhase(
            name=MAIN_PHASE,
            structure=nasicon_monoclinic_structure(composition),
            scale_mode="abc",
            scale_bounds=(0.96, 1.05),
            citation="prototype in the C2/c cell of Boilot, Collin & Colomban (1987)",
            approximate=True,
            source="nasicon.py: prototype in the C2/c cell",
        )
    raise ValidationError(f"unknown NASICON form {form!r}; choose from {', '.join(NASICON_FORMS)}")


def byproduct_phases() -> list[ReferencePhase]:
    """The built-in by-products and precursors, in the order of ``BYPRODUCT_CIFS``."""
    return [_builtin(name) for name in BYPRODUCT_CIFS]


def reference_phases(
    composition: str | None = None,
    reference_dir: str | Path | None = None,
    *,
    form: str = "R-3c",
) -> list[ReferencePhase]:
    """NASICON (first, in ``form``), then the by-products, user CIFs replacing or adding.

    Raises:
        DataMissingError / ValidationError: ``reference_dir`` missing or holding a bad CIF.
        CompositionError: ``composition`` is not a NASICON formula.
    """
    phases = {p.name: p for p in byproduct_phases()}
    for phase in user_phases(reference_dir):
        phases[phase.name] = phase
    return [nasicon_phase(composition, form), *phases.values()]


def user_phases(reference_dir: str | Path | None) -> list[ReferencePhase]:
    """One phase per ``*.cif`` in ``reference_dir`` (named by the file stem), sorted by name.

    Raises:
        DataMissingError: the folder does not exist.
        ValidationError: a CIF pymatgen cannot read (the message names the file), or a file
            named NASICON.cif (the main phase is built in).
    """
    if reference_dir is None:
        return []
    folder = Path(reference_dir)
    if not folder.is_dir():
        raise DataMissingError(f"XRD reference folder {folder} does not exist")
    return [_user_phase(path) for path in sorted(folder.glob("*.cif"))]


def _user_phase(path: Path) -> ReferencePhase:
    name = path.stem
    if name.upper() == MAIN_PHASE:
        raise ValidationError(f"{path}: NASICON is built in; give the file another name")
    if path.stat().st_size > MAX_CIF_BYTES:
        raise ValidationError(f"{path}: larger than {MAX_CIF_BYTES // 2**20} MiB, not a CIF")
    structure = _parse_cif(path.read_bytes().decode("utf-8", errors="replace"), str(path))
    return ReferencePhase(
        name=name,
        structure=structure,
        scale_mode="iso",
        scale_bounds=(0.985, 1.015),
        citation=f"user CIF {path}",
        origin="user",
        source=str(path),
    )


def _parse_cif(text: str, where: str) -> Structure:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = Structure.from_str(text, fmt="cif")
    except Exception as exc:  # pymatgen raises many types for a bad CIF
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{where}: not a readable CIF ({first[:120]})") from None
    if len(structure) == 0 or structure.volume <= 0:
        raise ValidationError(f"{where}: the CIF holds no atoms")
    return structure


@cache
def _builtin(name: str) -> ReferencePhase:
    filename = BYPRODUCT_CIFS[name]
    text = _cif_text(filename)
    header = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("#")]
    citation = next((h.split(":", 1)[1].strip() for h in header if h.startswith("citation:")), "")
    return ReferencePhase(
        name=name,
        structure=_parse_cif(text, filename),
        scale_mode="iso",
        scale_bounds=(0.985, 1.015),
        citation=citation,
        approximate=any("APPROXIMATE" in h or "IDEALISED" in h for h in header),
        source=f"phases/{filename}",
    )


def _cif_text(filename: str) -> str:
    path = resources.files("experiments.xrd.phases") / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataMissingError(
            f"reference phase file {filename} is missing from the package"
        ) from None
