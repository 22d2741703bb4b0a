"""Site occupancies of many compositions as arrays: the input of every descriptor.

A batch of N compositions holds

* ``na``: (N,) Na per formula unit,
* ``m_index``, ``m_amount``: (N, k) indices into ``m_ions`` and amounts per formula unit
  (padded with amount 0 where a composition has fewer than k M-site cations),
* ``a_amount``: (N, 3) amounts of Si, P, S (:data:`loop.chemistry.A_SITE_IONS` order),
* ``mobile_ion``: optional (N,) "Na" or "Li" of each row (None: every row is Na; ``na`` is
  then the amount of that mobile ion),

so descriptors are gathers and reductions over small fixed-width arrays, with memory
linear in N and independent of how many different ions the batch holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from loop.chemistry import A_SITE_IONS, Ion, NasiconComposition, parse_nasicon
from loop.chemistry.ions import ion_properties
from loop.errors import CompositionError, DescriptorError


@dataclass(frozen=True)
class IonTable:
    """Property vectors of the M-site ions a batch refers to (index = position)."""

    ions: tuple[Ion, ...]
    radius_a: np.ndarray = field(repr=False)  # Shannon CN VI radius, A
    electronegativity: np.ndarray = field(repr=False)  # Pauling
    charge: np.ndarray = field(repr=False)

    @classmethod
    def from_ions(cls, ions: Sequence[Ion]) -> IonTable:
        """Look up the properties of ``ions`` once (raises for an ion with no radius)."""
        props = [ion_properties(ion) for ion in ions]
        return cls(
            tuple(ions),
            np.array([p.radius_a for p in props], dtype=float),
            np.array([p.electronegativity for p in props], dtype=float),
            np.array([p.charge for p in props], dtype=float),
        )


@dataclass(frozen=True)
class OccupancyBatch:
    """Occupancies of N NASICON compositions (per formula unit of 12 O)."""

    na: np.ndarray
    m_index: np.ndarray
    m_amount: np.ndarray
    a_amount: np.ndarray
    m_ions: IonTable
    mobile_ion: np.ndarray | None = None  # (N,) "Na"/"Li"; None = all Na

    def __post_init__(self) -> None:
        n = self.na.shape[0]
        if self.mobile_ion is not None and self.mobile_ion.shape != (n,):
            raise DescriptorError("mobile_ion must have shape (N,)")
        if self.m_index.shape != self.m_amount.shape or self.m_index.shape[0] != n:
            raise DescriptorError("m_index and m_amount must both have shape (N, k)")
        if self.a_amount.shape != (n, len(A_SITE_IONS)):
            raise DescriptorError(f"a_amount must have shape (N, {len(A_SITE_IONS)})")

    def __len__(self) -> int:
        return int(self.na.shape[0])

    def mobile_ions(self) -> np.ndarray:
        """(N,) mobile ion of each row, "Na" or "Li"."""
        if self.mobile_ion is None:
            return np.full(len(self), "Na", dtype=object)
        return self.mobile_ion

    @classmethod
    def from_arrays(
        cls,
        na: np.ndarray,
        m_ions: Sequence[Ion],
        m_index: np.ndarray,
        m_amount: np.ndarray,
        a_amount: np.ndarray,
        *,
        validate: bool = True,
        tolerance: float = 1e-6,
    ) -> OccupancyBatch:
        """Build a batch from arrays, checking site totals, Na range and charge balance.

        Raises:
            DescriptorError: a row violates M = 2, A = 3, 0 <= Na <= 4 or charge balance
                (the message names the first such row).
        """
        batch = cls(
            np.asarray(na, dtype=float),
            np.asarray(m_index, dtype=np.intp),
            np.asarray(m_amount, dtype=float),
            np.asarray(a_amount, dtype=float),
            IonTable.from_ions(m_ions),
        )
        if validate:
            batch.validate(tolerance)
        return batch

    def validate(self, tolerance: float = 1e-6) -> None:
        """Raise DescriptorError for the first row that is not a valid NASICON."""
        checks = {
            "M-site total != 2": np.abs(self.m_amount.sum(1) - 2.0) > tolerance,
            "A-site total != 3": np.abs(self.a_amount.sum(1) - 3.0) > tolerance,
            "Na outside 0..4": (self.na < -tolerance) | (self.na > 4 + tolerance),
            "net charge != 0": np.abs(self.net_charge()) > 10 * tolerance,
            "negative amount": (self.m_amount < 0).any(1) | (self.a_amount < 0).any(1),
        }
        for what, bad in checks.items():
            if bad.any():
                row = int(np.argmax(bad))
                raise DescriptorError(f"row {row}: {what}")

    def net_charge(self) -> np.ndarray:
        """Net formal charge per formula unit, (N,)."""
        a_charge = np.array([ion.charge for ion in A_SITE_IONS], dtype=float)
        return (
            self.na
            + (self.m_amount * self.m_ions.charge[self.m_index]).sum(1)
            + self.a_amount @ a_charge
            - 24.0
        )

    def take(self, rows: np.ndarray | slice) -> OccupancyBatch:
        """The sub-batch of ``rows``."""
        mobile = None if self.mobile_ion is None else self.mobile_ion[rows]
        return OccupancyBatch(
            self.na[rows], self.m_index[rows], self.m_amount[rows], self.a_amount[rows],
            self.m_ions, mobile,
        )  # fmt: skip

    def composition(self, row: int) -> NasiconComposition:
        """The :class:`NasiconComposition` of one row."""
        m_site = tuple(
            (self.m_ions.ions[i], float(a))
            for i, a in zip(self.m_index[row], self.m_amount[row], strict=True)
            if a > 0
        )
        a_site = tuple(
            (ion, float(a)) for ion, a in zip(A_SITE_IONS, self.a_amount[row], strict=True) if a > 0
        )
        m_site = tuple(sorted(m_site, key=lambda ia: (-round(ia[1], 9), ia[0].element)))
        mobile = "Na" if self.mobile_ion is None else str(self.mobile_ion[row])
        return NasiconComposition(float(self.na[row]), m_site, a_site, mobile_ion=mobile)

    def formulas(self) -> list[str]:
        """Canonical formula of every row."""
        return [self.composition(i).formula for i in range(len(self))]


def batch_from_compositions(compositions: Sequence[NasiconComposition]) -> OccupancyBatch:
    """Pack parsed compositions into arrays (no re-validation needed)."""
    ions: dict[Ion, int] = {}
    width = max((len(c.m_site) for c in compositions), default=1)
    n = len(compositions)
    na = np.empty(n)
    m_index = np.zeros((n, width), dtype=np.intp)
    m_amount = np.zeros((n, width))
    a_amount = np.zeros((n, len(A_SITE_IONS)))
    a_col = {ion.element: j for j, ion in enumerate(A_SITE_IONS)}
    for row, comp in enumerate(compositions):
        na[row] = comp.na
        for j, (ion, amt) in enumerate(comp.m_site):
            m_index[row, j] = ions.setdefault(ion, len(ions))
            m_amount[row, j] = amt
        for ion, amt in comp.a_site:
            a_amount[row, a_col[ion.element]] = amt
    if not ions:
        ions[Ion("Zr", 4)] = 0  # empty batch: any valid table
    mobile = np.array([c.mobile_ion for c in compositions], dtype=object)
    if not (mobile != "Na").any():
        mobile = None  # all sodium: the default, as batches built from arrays
    return OccupancyBatch(
        na, m_index, m_amount, a_amount, IonTable.from_ions(list(ions)), mobile
    )


@dataclass
class ParsedFormulas:
    """Result of parsing many formulas: the valid rows as a batch, the rest as errors."""

    batch: OccupancyBatch
    rows: np.ndarray  # input row of each batch row
    errors: list[tuple[int, str, str]]  # (input row, formula, reason)
    compositions: list[NasiconComposition]  # one per batch row

    def formulas(self) -> list[str]:
        """Canonical formula of every valid row."""
        return [comp.formula for comp in self.compositions]


def parse_formulas(
    formulas: Iterable[str], oxidation_states: Mapping[str, int] | None = None
) -> ParsedFormulas:
    """Parse many formulas; invalid ones are collected with their reason, not raised."""
    comps: list[NasiconComposition] = []
    rows: list[int] = []
    errors: list[tuple[int, str, str]] = []
    for i, formula in enumerate(formulas):
        try:
            comps.append(parse_nasicon(str(formula), oxidation_states))
            rows.append(i)
        except CompositionError as exc:
            errors.append((i, str(formula), str(exc)))
    return ParsedFormulas(
        batch_from_compositions(comps), np.asarray(rows, dtype=np.intp), errors, comps
    )
