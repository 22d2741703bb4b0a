"""Reflection lists whose intensities and positions can be re-evaluated for a strained cell.

The structure factor of every reflection is written as F(h) = sum_e f_e(s) E_e(h), with
E_e(h) = sum_{j in e} occ_j exp(2 pi i h.x_j) computed once per element e. When the cell
axes are rescaled (angles and fractional coordinates fixed), only the atomic scattering
factors f_e(s) and the Bragg angles change, so the sum of |F|^2 over a group of reflections
with identical d-spacing is f^T G f with a small fixed matrix G per group. This is exactly
what pymatgen's XRDCalculator computes (same scattering factors, Lorentz-polarisation
factor, no Debye-Waller), but cheap enough to call inside a least-squares fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.diffraction.xrd import ATOMIC_SCATTERING_PARAMS
from pymatgen.core import Structure

from loop.errors import ValidationError

#: Cell-scale modes: which scale parameter multiplies each of the lattice vectors a, b, c.
SCALE_MODES: dict[str, tuple[int, int, int]] = {
    "iso": (0, 0, 0),  # one scale for the whole cell
    "ac": (0, 0, 1),  # a = b scaled together, c on its own (hexagonal, tetragonal)
    "abc": (0, 1, 2),  # a, b and c each on its own, angles fixed (monoclinic)
}


@dataclass(frozen=True, eq=False)
class ReflectionSet:
    """Symmetry-merged reflection groups of one structure, ready for fast re-evaluation."""

    elements: tuple[str, ...]
    atomic_numbers: np.ndarray  # (n_el,)
    sf_coeffs: np.ndarray  # (n_el, 4, 2): pymatgen's a_k, b_k of f(s)
    q_terms: np.ndarray  # (n_groups, n_terms): 1/d^2 = sum_t q_t / (s_p s_q), A^-2
    term_pairs: tuple[tuple[int, int], ...]  # scale-parameter pair (p, q) of each term
    gram: np.ndarray  # (n_groups, n_el, n_el): sum over the group of Re(E_e E_e'*)
    hkl: np.ndarray  # (n_groups, 3): one representative reflection per group
    multiplicity: np.ndarray  # (n_groups,): reflections in the group (both Friedel mates)
    n_scales: int

    def d_spacing(self, scales: np.ndarray) -> np.ndarray:
        """d-spacings (A) of every group for cell-scale parameters ``scales``."""
        s = np.asarray(scales, dtype=float)
        denom = np.array([s[p] * s[q] for p, q in self.term_pairs])
        q = self.q_terms @ (1.0 / denom)
        return 1.0 / np.sqrt(q)

    def peaks(
        self, scales: np.ndarray, wavelength_a: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(2theta deg, integrated intensity, d A) of every group inside the limiting sphere.

        Intensity is 2 f^T G f x (1 + cos^2 2theta) / (sin^2 theta cos theta), the same
        absolute scale as ``XRDCalculator.get_pattern(..., scaled=False)``.
        """
        d = self.d_spacing(scales)
        sin_t = wavelength_a / (2.0 * d)
        ok = sin_t < 0.999
        d, sin_t = d[ok], sin_t[ok]
        theta = np.arcsin(sin_t)
        s2 = (1.0 / (2.0 * d)) ** 2
        a = self.sf_coeffs[:, :, 0][None, :, :]
        b = self.sf_coeffs[:, :, 1][None, :, :]
        f = self.atomic_numbers[None, :] - 41.78214 * s2[:, None] * np.sum(
            a * np.exp(-b * s2[:, None, None]), axis=2
        )
        f_sq = np.einsum("ge,gef,gf->g", f, self.gram[ok], f)
        cos2t = np.cos(2.0 * theta)
        lorentz = (1.0 + cos2t**2) / (sin_t**2 * np.cos(theta))
        return np.degrees(2.0 * theta), 2.0 * f_sq * lorentz, d


def build_reflections(
    structure: Structure,
    *,
    d_min_a: float,
    scale_mode: str = "iso",
) -> ReflectionSet:
    """Enumerate reflections with d >= ``d_min_a`` (A) and merge those that stay degenerate.

    Reflections are merged only when their 1/d^2 terms are identical for *any* values of the
    cell-scale parameters of ``scale_mode``, so a refined (strained) cell splits nothing
    that should split.
    """
    if scale_mode not in SCALE_MODES:
        raise ValidationError(f"unknown cell-scale mode {scale_mode!r}")
    axis_param = SCALE_MODES[scale_mode]
    n_scales = max(axis_param) + 1
    lattice = structure.lattice
    gstar = lattice.reciprocal_lattice_crystallographic.metric_tensor
    g_max = 1.0 / d_min_a
    h_max = np.floor(g_max * np.asarray(lattice.abc)).astype(int) + 1
    grids = np.meshgrid(*[np.arange(-m, m + 1) for m in h_max], indexing="ij")
    hkl = np.stack([g.ravel() for g in grids], axis=1)
    h, k, l_ = hkl.T
    half = (h > 0) | ((h == 0) & (k > 0)) | ((h == 0) & (k == 0) & (l_ > 0))
    hkl = hkl[half]
    q_full = np.einsum("ni,ij,nj->n", hkl, gstar, hkl)
    hkl = hkl[q_full <= g_max**2]

    pairs = sorted({(min(p, q), max(p, q)) for p in range(n_scales) for q in range(n_scales)})
    q_terms = np.zeros((hkl.shape[0], len(pairs)))
    for i in range(3):
        for j in range(3):
            p, q = sorted((axis_param[i], axis_param[j]))
            q_terms[:, pairs.index((p, q))] += hkl[:, i] * hkl[:, j] * gstar[i, j]

    elements, coords, occus = _element_sites(structure)
    phase_sums = np.stack(
        [np.exp(2j * np.pi * (hkl @ coords[e].T)) @ occus[e] for e in range(len(elements))],
        axis=1,
    )  # (n_refl, n_el)

    keys = np.round(q_terms * 1e9).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    n_groups = first.size
    outer = np.real(phase_sums[:, :, None] * np.conj(phase_sums[:, None, :]))
    gram = np.zeros((n_groups, len(elements), len(elements)))
    np.add.at(gram, inverse, outer)
    multiplicity = 2 * np.bincount(inverse, minlength=n_groups)

    return ReflectionSet(
        elements=tuple(elements),
        atomic_numbers=np.array([_z(el) for el in elements], dtype=float),
        sf_coeffs=np.array([_coeffs(el) for el in elements], dtype=float),
        q_terms=q_terms[first],
        term_pairs=tuple(pairs),
        gram=gram,
        hkl=hkl[first],
        multiplicity=multiplicity,
        n_scales=n_scales,
    )


def _element_sites(
    structure: Structure,
) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    by_el: dict[str, tuple[list[np.ndarray], list[float]]] = {}
    for site in structure:
        for sp, occ in site.species.items():
            symbol = getattr(sp, "symbol", str(sp))
            coords, occs = by_el.setdefault(symbol, ([], []))
            coords.append(site.frac_coords)
            occs.append(float(occ))
    elements = sorted(by_el)
    coords = [np.array(by_el[e][0]) for e in elements]
    occus = [np.array(by_el[e][1]) for e in elements]
    return elements, coords, occus


def _coeffs(symbol: str) -> list[list[float]]:
    try:
        return ATOMIC_SCATTERING_PARAMS[symbol]
    except KeyError:
        raise ValidationError(f"no X-ray scattering factors for element {symbol}") from None


def _z(symbol: str) -> int:
    from pymatgen.core import Element

    return Element(symbol).Z
