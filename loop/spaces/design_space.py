"""A design space built from its spec: lazy enumeration in chunks, exact size, membership.

Enumeration never builds formula strings: for each number of M-site metals k it crosses
blocks of metal subsets (k-combinations of the pool that hold the required elements) with
the M amount vectors and polyanion mixtures, solves the charge balance for Na as one array
expression, keeps the rows whose Na is on the grid and yields them as an
:class:`~loop.descriptors.occupancy.OccupancyBatch`. Every composition appears once.

The size is counted without enumerating: how many (amount vector, polyanion) pairs give a
valid Na depends only on the multiset of the subset's charges, so the count is a sum over
charge multisets weighted by how many subsets share each one.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from loop.chemistry import A_SITE_IONS, Ion
from loop.descriptors.composition_descriptors import entropy_class
from loop.descriptors.occupancy import IonTable, OccupancyBatch
from loop.errors import CompositionError
from loop.spaces.grids import amount_vectors, multiset_picks
from loop.spaces.spec import SpaceError, SpaceSpec

log = logging.getLogger(__name__)

M_TOTAL = 2
A_TOTAL = 3
O_CHARGE_TOTAL = 24.0  # 12 O2- per formula unit
TOLERANCE = 1e-6
DEFAULT_CHUNK_SIZE = 262_144

_A_CHARGE = np.array([float(ion.charge) for ion in A_SITE_IONS])
_A_COLUMN = {ion.element: j for j, ion in enumerate(A_SITE_IONS)}


def _mixing_entropy(amounts: np.ndarray) -> np.ndarray:
    w = amounts / M_TOTAL
    with np.errstate(divide="ignore", invalid="ignore"):
        s = -np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0).sum(1)
    return np.maximum(s, 0.0)


def _on_step(values: np.ndarray, step: float) -> np.ndarray:
    if step <= 0:
        return np.ones(values.shape, dtype=bool)
    ratio = values / step
    return np.abs(ratio - np.round(ratio)) < TOLERANCE


@dataclass(frozen=True)
class CountBreakdown:
    """Size of a space split by number of M-site metals."""

    by_cations: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.by_cations.values())


@dataclass
class DesignSpace:
    """A built design space: the pool, grids and filters of a :class:`SpaceSpec`.

    Build one with :func:`build_space` (or :func:`loop.spaces.load_space`); iterate it with
    :meth:`chunks`; ``len(space)`` is its exact size.
    """

    spec: SpaceSpec
    ions: tuple[Ion, ...]
    required: tuple[int, ...]
    m_vectors: dict[int, np.ndarray] = field(repr=False)
    a_options: np.ndarray = field(repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def width(self) -> int:
        """Columns of the M-site arrays of every chunk (= max_cations)."""
        return self.spec.metals.max_cations

    @cached_property
    def table(self) -> IonTable:
        return IonTable.from_ions(self.ions)

    @cached_property
    def breakdown(self) -> CountBreakdown:
        """Exact number of compositions per number of M-site metals."""
        charges = self.table.charge
        req = list(self.required)
        others = [i for i in range(len(self.ions)) if i not in req]
        values, counts = np.unique(charges[others], return_counts=True) if others else ([], [])
        by_k: dict[int, int] = {}
        for k, vectors in self.m_vectors.items():
            free = k - len(req)
            total = 0
            for picks in multiset_picks(list(counts), free):
                mult = math.prod(math.comb(int(c), n) for c, n in zip(counts, picks, strict=True))
                if mult == 0:
                    continue
                q = np.concatenate([charges[req], np.repeat(np.asarray(values, float), picks)])
                total += mult * int(self._valid(q[None, :], vectors).sum())
            by_k[k] = total
        return CountBreakdown(by_k)

    def __len__(self) -> int:
        return self.breakdown.total

    @property
    def size(self) -> int:
        """Number of compositions in the space."""
        return self.breakdown.total

    def _sodium(
        self, charges: np.ndarray, vectors: np.ndarray, options: np.ndarray | None = None
    ) -> np.ndarray:
        """Na of every (subset, amount vector, polyanion option), (s, p, t)."""
        metal = charges @ vectors.T  # (s, p)
        a_charge = (self.a_options if options is None else options) @ _A_CHARGE  # (t,)
        return O_CHARGE_TOTAL - a_charge[None, None, :] - metal[:, :, None]

    def _valid(self, charges: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        na = self._sodium(charges, vectors)
        sodium = self.spec.sodium
        return (
            (na >= sodium.min - TOLERANCE)
            & (na <= sodium.max + TOLERANCE)
            & _on_step(na, sodium.step)
        )

    def _subsets(self, k: int) -> Iterator[tuple[int, ...]]:
        req = self.required
        others = [i for i in range(len(self.ions)) if i not in req]
        for combo in itertools.combinations(others, k - len(req)):
            yield tuple(sorted((*req, *combo)))

    def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[OccupancyBatch]:
        """Yield the whole space as batches of at most ``chunk_size`` rows.

        Every batch has M-site arrays of width :attr:`width` (padded with amount 0) and the
        space's ion table, so batches can be concatenated. Small pieces are merged, so a
        batch holds more than half of ``chunk_size`` rows except at the very end.
        """
        if chunk_size < 1:
            raise SpaceError("chunk_size must be at least 1")
        pending: list[OccupancyBatch] = []
        n_pending = 0
        for piece in self._pieces(chunk_size):
            if n_pending + len(piece) > chunk_size and pending:
                yield concat_batches(pending, self.table, self.width)
                pending, n_pending = [], 0
            pending.append(piece)
            n_pending += len(piece)
        if pending:
            yield concat_batches(pending, self.table, self.width)

    def _pieces(self, chunk_size: int) -> Iterator[OccupancyBatch]:
        """Valid rows of blocks of (subsets x amount vectors x polyanions), each <= chunk_size."""
        t = len(self.a_options)
        charges_all = self.table.charge
        sodium = self.spec.sodium
        for k in sorted(self.m_vectors):
            vectors = self.m_vectors[k]
            p = len(vectors)
            if p == 0:
                continue
            v_block = min(p, max(1, chunk_size // t))
            t_block = min(t, chunk_size)
            s_block = max(1, chunk_size // (v_block * t))
            subsets = self._subsets(k)
            while True:
                block = list(itertools.islice(subsets, s_block))
                if not block:
                    break
                index = np.asarray(block, dtype=np.intp)  # (s, k)
                charges = charges_all[index]
                for v0 in range(0, p, v_block):
                    vecs = vectors[v0 : v0 + v_block]
                    for a0 in range(0, t, t_block):
                        options = self.a_options[a0 : a0 + t_block]
                        na = self._sodium(charges, vecs, options)
                        ok = (
                            (na >= sodium.min - TOLERANCE)
                            & (na <= sodium.max + TOLERANCE)
                            & _on_step(na, sodium.step)
                        )
                        i_s, i_v, i_t = np.nonzero(ok)
                        if len(i_s):
                            yield self._batch(index[i_s], vecs[i_v], options[i_t], na[ok])

    def _batch(
        self, index: np.ndarray, amounts: np.ndarray, a_amount: np.ndarray, na: np.ndarray
    ) -> OccupancyBatch:
        n, k = index.shape
        m_index = np.zeros((n, self.width), dtype=np.intp)
        m_amount = np.zeros((n, self.width))
        m_index[:, :k] = index
        m_amount[:, :k] = amounts
        na = np.where(np.abs(na) < TOLERANCE, 0.0, na)
        return OccupancyBatch(na, m_index, m_amount, np.ascontiguousarray(a_amount), self.table)

    def all(self, limit: int = 5_000_000) -> OccupancyBatch:
        """The whole space as one batch (refused above ``limit`` rows: stream it instead)."""
        if self.size > limit:
            raise SpaceError(
                f"space {self.name!r} has {self.size:,} compositions, more than {limit:,}; "
                "stream it with chunks()"
            )
        return concat_batches(list(self.chunks()), self.table, self.width)

    def contains(self, batch: OccupancyBatch) -> np.ndarray:
        """Whether each row of ``batch`` is a composition of this space, (N,) bool."""
        n = len(batch)
        if n == 0:
            return np.zeros(0, dtype=bool)
        pool_pos = {ion: i for i, ion in enumerate(self.ions)}
        mapped = np.array([pool_pos.get(ion, -1) for ion in batch.m_ions.ions], dtype=np.intp)
        present = batch.m_amount > TOLERANCE
        pos = np.where(present, mapped[batch.m_index], -2)
        ok = ~(present & (pos < 0)).any(1)
        k = present.sum(1)
        ok &= np.isin(k, [kk for kk, v in self.m_vectors.items() if len(v)])
        for r in self.required:
            ok &= (pos == r).any(1)
        amounts = np.where(present, batch.m_amount, 0.0)
        lattice = np.zeros(n, dtype=bool)
        for d in self.spec.metals.amount_denominators:
            lattice |= _on_step(amounts * d, 1.0).all(1)
        ok &= lattice
        classes = entropy_class(_mixing_entropy(amounts))
        ok &= np.isin(classes, list(self.spec.constraints.entropy_classes))
        diff = np.abs(batch.a_amount[:, None, :] - self.a_options[None, :, :]).max(2)
        ok &= (diff < TOLERANCE).any(1)
        sodium = self.spec.sodium
        ok &= (batch.na >= sodium.min - TOLERANCE) & (batch.na <= sodium.max + TOLERANCE)
        ok &= _on_step(batch.na, sodium.step)
        ok &= np.abs(batch.net_charge()) < 10 * TOLERANCE
        return ok

    def summary(self) -> dict[str, object]:
        """Facts a user checks first: type, pool, grids, size (JSON-friendly)."""
        spec = self.spec
        return {
            "name": spec.name,
            "type": spec.type,
            "description": spec.description,
            "size": self.size,
            "size_by_cations": {str(k): v for k, v in self.breakdown.by_cations.items()},
            "pool": [str(ion) for ion in self.ions],
            "required": [self.ions[i].element for i in self.required],
            "cations": [spec.metals.min_cations, spec.metals.max_cations],
            "m_amount_denominators": list(spec.metals.amount_denominators),
            "polyanion_options": len(self.a_options),
            "sodium": spec.sodium.model_dump(),
            "entropy_classes": list(spec.constraints.entropy_classes),
        }


def concat_batches(
    batches: Sequence[OccupancyBatch], table: IonTable, width: int
) -> OccupancyBatch:
    """One batch of several batches that share ``table`` (M-site arrays padded to ``width``)."""
    if not batches:
        return OccupancyBatch(
            np.zeros(0), np.zeros((0, width), np.intp), np.zeros((0, width)),
            np.zeros((0, len(A_SITE_IONS))), table,
        )  # fmt: skip

    def pad(a: np.ndarray, dtype: type) -> np.ndarray:
        out = np.zeros((a.shape[0], width), dtype=dtype)
        out[:, : a.shape[1]] = a
        return out

    return OccupancyBatch(
        np.concatenate([b.na for b in batches]),
        np.concatenate([pad(b.m_index, np.intp) for b in batches]),
        np.concatenate([pad(b.m_amount, float) for b in batches]),
        np.concatenate([b.a_amount for b in batches]),
        table,
    )


def _a_options(spec: SpaceSpec) -> np.ndarray:
    site = spec.polyanions
    if site.fixed is not None:
        row = np.zeros(len(A_SITE_IONS))
        for el, amt in site.fixed.items():
            row[_A_COLUMN[el]] = amt
        return row[None, :]
    rows = []
    for j in range(1, min(site.max_centres, len(site.centres)) + 1):
        vectors = amount_vectors(A_TOTAL, j, site.amount_denominators)
        for combo in itertools.combinations(site.centres, j):
            block = np.zeros((len(vectors), len(A_SITE_IONS)))
            block[:, [_A_COLUMN[e] for e in combo]] = vectors
            rows.append(block)
    return np.concatenate(rows) if rows else np.zeros((0, len(A_SITE_IONS)))


def build_space(spec: SpaceSpec, *, allow_empty: bool = False) -> DesignSpace:
    """Resolve a spec into a :class:`DesignSpace` and check that it holds compositions.

    Raises:
        SpaceError: the pool is empty, a required element is not in the pool, more required
            elements than max_cations, an ion with no CN VI radius, or (unless
            ``allow_empty``) no composition satisfies the grids and constraints.
    """
    pool = spec.pool()
    if not pool:
        raise SpaceError(f"design space {spec.name!r} is empty: no metal left in its pool")
    elements = [ion.element for ion in pool]
    missing = [e for e in spec.required() if e not in elements]
    if missing:
        raise SpaceError(
            f"design space {spec.name!r} is infeasible: required element(s) "
            f"{', '.join(missing)} not in the pool ({', '.join(elements)})"
        )
    required = tuple(elements.index(e) for e in spec.required())
    metals = spec.metals
    if len(required) > metals.max_cations:
        raise SpaceError(
            f"design space {spec.name!r} is infeasible: {len(required)} required elements "
            f"but max_cations = {metals.max_cations}"
        )
    try:
        IonTable.from_ions(pool)
    except CompositionError as exc:
        raise SpaceError(f"design space {spec.name!r}: {exc}") from exc
    m_vectors: dict[int, np.ndarray] = {}
    allowed = list(spec.constraints.entropy_classes)
    for k in range(
        max(metals.min_cations, len(required), 1), min(metals.max_cations, len(pool)) + 1
    ):
        vectors = amount_vectors(M_TOTAL, k, metals.amount_denominators)
        keep = np.isin(entropy_class(_mixing_entropy(vectors)), allowed)
        m_vectors[k] = vectors[keep]
    space = DesignSpace(spec, pool, required, m_vectors, _a_options(spec))
    if not allow_empty and space.size == 0:
        raise SpaceError(
            f"design space {spec.name!r} is empty: no charge-balanced composition has "
            f"{metals.min_cations}-{metals.max_cations} metals from {', '.join(elements)}, "
            f"Na within {spec.sodium.min:g}..{spec.sodium.max:g}"
            + (f" on steps of {spec.sodium.step:g}" if spec.sodium.step else "")
            + f" and entropy class {'/'.join(allowed)}"
        )
    log.info("design space %s: %d compositions", spec.name, space.size)
    return space
