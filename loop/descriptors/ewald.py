"""Mean-field Ewald energy of the NASICON lattice model, as a quadratic form.

The lattice model is rhombohedral NASICON, R-3c (No. 167), hexagonal setting, after
NaZr2(PO4)3 (Hagman and Kierkegaard, 1968), a = 8.8043 A, c = 22.7585 A, six formula units
per cell (see ``../shared/reference/nasicon_prototype.md``). A composition decorates it in
the mean-field (site-averaged) way: min(x, 1) Na on Na1 (6b), (x - 1)/3 on Na2 (18e) when
x > 1, the mean M-site charge on every M (12c) site, the mean polyanion-centre charge on
every A (18e) site, and O2- on O1 and O2 (36f each).

Because the geometry is fixed, the Ewald energy of any such decoration is
E = sum_ab q_a q_b K_ab over the six sublattices, where K_ab sums pymatgen's Ewald matrix
of the template with unit charges over the sites of sublattices a and b. K is computed
once per process (about 0.1 s); evaluating it is a few multiply-adds per candidate and
agrees with pymatgen's ``EwaldSummation`` of the decorated structure to rounding.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from loop.chemistry import A_SITE_IONS
from loop.descriptors.occupancy import OccupancyBatch

LATTICE_A = 8.8043  # A
LATTICE_C = 22.7585  # A
FORMULA_UNITS_PER_CELL = 6
#: Sublattices in the order of the quadratic form: (name, Wyckoff, fractional coords).
SUBLATTICES: tuple[tuple[str, str, tuple[float, float, float]], ...] = (
    ("Na1", "6b", (0.0, 0.0, 0.0)),
    ("Na2", "18e", (0.64, 0.0, 0.25)),
    ("M", "12c", (0.0, 0.0, 0.14586)),
    ("A", "18e", (0.28943, 0.0, 0.25)),
    ("O1", "36f", (0.17654, -0.02654, 0.19291)),
    ("O2", "36f", (0.19281, 0.16806, 0.08929)),
)
ATOMS_PER_FU_WITHOUT_NA = 17.0  # 2 M + 3 A + 12 O

_A_CHARGE = np.array([float(ion.charge) for ion in A_SITE_IONS])


def nasicon_template(species: list | None = None):
    """The R-3c template as a pymatgen Structure (one species or dict per sublattice)."""
    from pymatgen.core import Lattice, Structure

    species = species or ["Na", "Na", "Zr", "P", "O", "O"]
    coords = [c for _, _, c in SUBLATTICES]
    return Structure.from_spacegroup(
        "R-3c", Lattice.hexagonal(LATTICE_A, LATTICE_C), species, coords
    )


@lru_cache(maxsize=1)
def sublattice_ewald_matrix() -> np.ndarray:
    """K (6x6, eV per unit charge squared): E_cell = q^T K q over sublattice charges."""
    from pymatgen.analysis.ewald import EwaldSummation
    from pymatgen.core import DummySpecies

    markers = ["Xa", "Xb", "Xc", "Xd", "Xf", "Xg"]
    structure = nasicon_template([DummySpecies(m, oxidation_state=1) for m in markers])
    labels = np.array([markers.index(site.specie.symbol) for site in structure])
    matrix = EwaldSummation(structure).total_energy_matrix
    onehot = np.eye(len(SUBLATTICES))[labels]  # (sites, 6)
    k = onehot.T @ matrix @ onehot
    return (k + k.T) / 2.0


def sublattice_charges(batch: OccupancyBatch) -> np.ndarray:
    """Mean formal charge of each sublattice site, (N, 6): Na1, Na2, M, A, O1, O2."""
    n = len(batch)
    q = np.empty((n, len(SUBLATTICES)))
    q[:, 0] = np.minimum(batch.na, 1.0)
    q[:, 1] = np.maximum(batch.na - 1.0, 0.0) / 3.0
    q[:, 2] = (batch.m_amount * batch.m_ions.charge[batch.m_index]).sum(1) / 2.0
    q[:, 3] = batch.a_amount @ _A_CHARGE / 3.0
    q[:, 4:] = -2.0
    return q


def ewald_ev_per_atom(batch: OccupancyBatch) -> np.ndarray:
    """Mean-field Ewald energy per atom, eV/atom, (N,)."""
    q = sublattice_charges(batch)
    k = sublattice_ewald_matrix()
    energy_cell = np.einsum("ni,ij,nj->n", q, k, q, optimize=True)
    atoms_cell = FORMULA_UNITS_PER_CELL * (batch.na + ATOMS_PER_FU_WITHOUT_NA)
    return energy_cell / atoms_cell


def decorated_structure(batch: OccupancyBatch, row: int):
    """The mean-field decorated pymatgen Structure of one row (for checks and plots)."""
    from pymatgen.core import Species

    comp = batch.composition(row)
    na = comp.na
    na1 = {Species("Na", 1): min(na, 1.0)} if na > 0 else None
    na2 = {Species("Na", 1): (na - 1.0) / 3.0} if na > 1 else None
    m = {Species(ion.element, ion.charge): a / 2.0 for ion, a in comp.m_site}
    a = {Species(ion.element, ion.charge): amt / 3.0 for ion, amt in comp.a_site}
    o = {Species("O", -2): 1.0}
    parts = [na1, na2, m, a, o, o]
    kept = [(sp, c) for sp, (_, _, c) in zip(parts, SUBLATTICES, strict=True) if sp]
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup(
        "R-3c",
        Lattice.hexagonal(LATTICE_A, LATTICE_C),
        [sp for sp, _ in kept],
        [c for _, c in kept],
    )


def pymatgen_ewald_ev_per_atom(batch: OccupancyBatch, row: int) -> float:
    """Reference value: pymatgen ``EwaldSummation`` of the decorated structure, eV/atom."""
    from pymatgen.analysis.ewald import EwaldSummation

    structure = decorated_structure(batch, row)
    return float(EwaldSummation(structure).total_energy / structure.composition.num_atoms)
