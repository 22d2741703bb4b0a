"""Feature-space expansion: primary features combined by operators, streamed in chunks.

Complexity (the *rung* of SISSO, Ouyang et al.'s "complexity of two") counts how many times
the operator set is applied: complexity 1 is every ``op(a)`` and ``a op b`` of primary
features; complexity 2 applies the operators once more to primaries and complexity-1
features, so ``cbrt(n_na) + anion_q_std^2`` and ``ewald^2 * (x_minus_na * r_std)`` are
complexity-2 features.

Operators: unary exp, log, ^-1, ^2, ^3, sqrt, cbrt; binary +, -, *, / (both operand
orders) and |a - b|. ``b - a`` is the negative of ``a - b`` and is not generated.

A candidate is *invalid* when a value is not finite: log of a non-positive number, sqrt of
a negative one, division by (or ^-1 of) zero, exp overflow, or values so large that their
square overflows (|x| > ~1e154). It is *constant* when its spread is below 1e-10 of its
magnitude, and a *duplicate* when it equals an earlier feature up to an affine map
x -> alpha x + beta: such features have the same |Pearson r| with any target and give the
same 2D linear rankings. Duplicates are found by a sketch of the z-scores (their dot
products with four fixed random vectors, rounded to 1e-6, sign-normalised), so features
whose z-scores agree to ~1e-6 count as one; the first in generation order is kept.
Building blocks of the next rung are deduplicated only exactly (an affine copy such as
``r_ratio_na`` of ``r_minus_na`` builds different products).

Memory stays bounded: only the primaries and the complexity-1 building blocks are held
(a few hundred columns), each chunk holds at most ``chunk_size`` features, and the
duplicate filter keeps one 8-byte key per distinct feature.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loop.discovery.chunk_summary import CONSTANT, INVALID, OK, ChunkSummary, Projection
from loop.discovery.formulas import Rendered, render_binary, render_primary, render_unary
from loop.discovery.operators import (
    BINARY_OPERATORS,
    OPERATOR_INDEX,
    OPERATORS,
    PRIMARY,
    UNARY_OPERATORS,
    apply_binary,
    apply_unary,
)
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: Highest supported complexity (rung 3 would need the whole rung-2 space as building blocks).
MAX_COMPLEXITY = 2

__all__ = [
    "BINARY_OPERATORS",
    "CONSTANT",
    "INVALID",
    "MAX_COMPLEXITY",
    "OK",
    "UNARY_OPERATORS",
    "Block",
    "ChunkSummary",
    "FeatureSpace",
    "FeatureSpaceStats",
    "Projection",
    "expand_features",
]


@dataclass
class FeatureSpaceStats:
    """Counts of one expansion."""

    n_candidates: int = 0  # every formula tried
    n_generated: int = 0  # valid, non-constant, distinct features
    n_invalid: int = 0  # a non-finite value (log <= 0, / 0, sqrt < 0, overflow)
    n_constant: int = 0
    n_duplicate: int = 0  # equal to an earlier feature up to alpha x + beta

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class Block:
    """A group of candidate formulas evaluated together.

    ``kind`` is "primary" (``left`` = primary column indices), "unary" (``op`` applied to
    base features ``left``) or "binary" (every binary operator between base feature
    ``left[0]`` and each base feature in ``right``; "/" in both orders).
    """

    kind: str
    left: np.ndarray
    right: np.ndarray | None = None
    op: str | None = None


class FeatureSpace:
    """Expansion of named primary features by :data:`UNARY_OPERATORS` / :data:`BINARY_OPERATORS`.

    Args:
        primary: rows x primary features (the column names are used in formulas).
        complexity: 0 (primaries only), 1 or 2 (see the module docstring).
        chunk_size: most features evaluated at once (memory: chunk_size x rows x 8 bytes,
            a few times over for temporaries).
        unary, binary: operator subsets.

    :meth:`chunks` streams every valid, distinct feature; :meth:`blocks`,
    :meth:`block_values` and :meth:`values_of` are the pieces a parallel screen uses.
    :meth:`formula` renders a feature code (operator, left, right) as readable text.
    """

    def __init__(
        self,
        primary: pd.DataFrame,
        complexity: int = 2,
        chunk_size: int = 1024,
        unary: Sequence[str] = UNARY_OPERATORS,
        binary: Sequence[str] = BINARY_OPERATORS,
    ) -> None:
        if not 0 <= complexity <= MAX_COMPLEXITY:
            raise ValidationError(f"complexity must be 0..{MAX_COMPLEXITY}, got {complexity}")
        if chunk_size < 1:
            raise ValidationError(f"chunk_size must be >= 1, got {chunk_size}")
        unknown = [op for op in (*unary, *binary) if op not in OPERATOR_INDEX]
        if unknown:
            raise ValidationError(f"unknown operator(s) {unknown}; known: {', '.join(OPERATORS)}")
        if primary.shape[1] == 0 or len(primary) < 2:
            raise ValidationError("feature expansion needs at least one feature and two rows")
        self.names = [str(c) for c in primary.columns]
        bad = [n for n in self.names if not n.isidentifier()]
        if bad:
            raise ValidationError(f"primary feature names must be identifiers, not {bad}")
        self.primary_values = np.ascontiguousarray(primary.to_numpy(dtype=float).T)
        self.complexity = complexity
        self.chunk_size = chunk_size
        self.unary = tuple(unary)
        self.binary = tuple(binary)
        self._base_codes: list[tuple[int, int, int]] = []
        self._base_text: list[Rendered] = []
        self._base_rung: np.ndarray = np.empty(0, dtype=np.int64)
        self._base_values: np.ndarray = np.empty((0, self.n_rows))
        self._built = False
        self.stats = FeatureSpaceStats()

    @property
    def n_rows(self) -> int:
        return self.primary_values.shape[1]

    @property
    def n_base(self) -> int:
        """Building blocks: distinct valid primaries and (complexity 2) rung-1 features."""
        self.build()
        return len(self._base_codes)

    # ------------------------------------------------------------------ building blocks
    def build(self) -> FeatureSpace:
        """Evaluate the building blocks (primaries, and rung 1 when complexity is 2)."""
        if self._built:
            return self
        proj = Projection(self.n_rows)
        seen: set[int] = set()
        codes0 = np.array([(PRIMARY, k, -1) for k in range(len(self.names))], dtype=np.int64)
        keep = self._first_exact(proj.summarise(self.primary_values), seen)
        self._base_rung = np.zeros(0, dtype=np.int64)
        self._add_base(codes0[keep], self.primary_values[keep], rung=0)
        if self.complexity == 2:
            for block in self._rung_blocks(rung=1):
                values = self.block_values(block)
                keep = self._first_exact(proj.summarise(values), seen)
                self._add_base(self.block_codes(block)[keep], values[keep], rung=1)
        self._built = True
        log.info("feature space: %d building blocks", len(self._base_codes))
        return self

    @staticmethod
    def _first_exact(summary: ChunkSummary, seen: set[int]) -> np.ndarray:
        keep = np.zeros(len(summary.status), dtype=bool)
        for k in np.flatnonzero(summary.status == OK):
            key = int(summary.exact_key[k])
            if key not in seen:
                seen.add(key)
                keep[k] = True
        return keep

    def _add_base(self, codes: np.ndarray, values: np.ndarray, rung: int) -> None:
        for code in codes:
            code_t = (int(code[0]), int(code[1]), int(code[2]))
            self._base_codes.append(code_t)
            self._base_text.append(self._render(code_t))
        self._base_rung = np.concatenate([self._base_rung, np.full(len(codes), rung)])
        self._base_values = np.ascontiguousarray(np.vstack([self._base_values, values]))

    # ------------------------------------------------------------------ candidates
    def blocks(self) -> list[Block]:
        """Every candidate block of the space, in generation order (primaries, rung 1, rung 2)."""
        self.build()
        out = [
            Block("primary", np.arange(start, min(start + self.chunk_size, len(self.names))))
            for start in range(0, len(self.names), self.chunk_size)
        ]
        for rung in range(1, self.complexity + 1):
            out.extend(self._rung_blocks(rung))
        return out

    def _rung_blocks(self, rung: int) -> list[Block]:
        rungs = self._base_rung
        operands = np.flatnonzero(rungs == rung - 1)
        out: list[Block] = []
        for op in self.unary:
            for start in range(0, len(operands), self.chunk_size):
                out.append(Block("unary", operands[start : start + self.chunk_size], op=op))
        per_pair = sum(2 if op == "/" else 1 for op in self.binary)
        if per_pair == 0:
            return out
        step = max(1, self.chunk_size // per_pair)
        n = len(rungs) if rung == 2 else len(operands)
        for i in range(n):
            js = np.arange(i + 1, n)
            if rungs[i] != rung - 1:
                js = js[rungs[js] == rung - 1]
            for start in range(0, len(js), step):
                out.append(Block("binary", np.array([i]), js[start : start + step]))
        return out

    def block_codes(self, block: Block) -> np.ndarray:
        """(m, 3) codes of a block's features, in the order of :meth:`block_values`."""
        if block.kind == "primary":
            m = len(block.left)
            return np.column_stack([np.full(m, PRIMARY), block.left, np.full(m, -1)])
        if block.kind == "unary":
            m = len(block.left)
            return np.column_stack(
                [np.full(m, OPERATOR_INDEX[block.op]), block.left, np.full(m, -1)]
            )
        js = block.right
        assert js is not None
        i = np.full(len(js), block.left[0])
        parts = []
        for op in self.binary:
            code = np.full(len(js), OPERATOR_INDEX[op])
            parts.append(np.column_stack([code, i, js]))
            if op == "/":
                parts.append(np.column_stack([code, js, i]))
        return np.concatenate(parts).astype(np.int64)

    def block_values(self, block: Block) -> np.ndarray:
        """Values of a block's features, (m features, rows); invalid points are nan/inf."""
        with np.errstate(all="ignore"):
            if block.kind == "primary":
                return self.primary_values[block.left]
            base = self._base_values
            if block.kind == "unary":
                return apply_unary(str(block.op), base[block.left])
            a = base[block.left[0]][None, :]
            b = base[block.right]
            k = len(block.right)
            out = np.empty((self.block_size(block), self.n_rows))
            pos = 0
            diff: slice | None = None
            for op in self.binary:
                part = slice(pos, pos + k)
                if op == "+":
                    np.add(a, b, out=out[part])
                elif op == "-":
                    np.subtract(a, b, out=out[part])
                    diff = part
                elif op == "*":
                    np.multiply(a, b, out=out[part])
                elif op == "/":
                    np.divide(a, b, out=out[part])
                    pos += k
                    np.divide(b, a, out=out[pos : pos + k])
                elif diff is not None:  # |a - b| from a - b
                    np.abs(out[diff], out=out[part])
                else:
                    np.subtract(a, b, out=out[part])
                    np.abs(out[part], out=out[part])
                pos += k
            return out

    def values_of(self, codes: np.ndarray) -> np.ndarray:
        """Values of features given by codes, (m, rows)."""
        self.build()
        codes = np.asarray(codes, dtype=np.int64).reshape(-1, 3)
        out = np.empty((len(codes), self.n_rows))
        base = self._base_values
        with np.errstate(all="ignore"):
            for k, (op, left, right) in enumerate(codes):
                if op == PRIMARY:
                    out[k] = self.primary_values[left]
                elif right < 0:
                    out[k] = apply_unary(OPERATORS[op], base[left])
                else:
                    out[k] = apply_binary(OPERATORS[op], base[left], base[right])
        return out

    def expected_candidates(self) -> int:
        """Number of candidate formulas of the whole space."""
        return sum(self.block_size(b) for b in self.blocks())

    def block_size(self, block: Block) -> int:
        if block.kind != "binary":
            return len(block.left)
        assert block.right is not None
        return len(block.right) * sum(2 if op == "/" else 1 for op in self.binary)

    # ------------------------------------------------------------------ rendering
    def _render(self, code: tuple[int, int, int]) -> Rendered:
        op, left, right = code
        if op == PRIMARY:
            return render_primary(self.names[left])
        name = OPERATORS[op]
        if right < 0:
            return render_unary(name, self._base_text[left])
        return render_binary(name, self._base_text[left], self._base_text[right])

    def formula(self, code: Sequence[int] | np.ndarray) -> str:
        """Readable formula of a feature code."""
        self.build()
        op, left, right = (int(c) for c in code)
        return self._render((op, left, right)).text

    # ------------------------------------------------------------------ streaming
    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stream (codes (m, 3), values (m, rows)) of every valid, distinct feature.

        :attr:`stats` is complete once the stream is exhausted.
        """
        self.stats = FeatureSpaceStats()
        proj = Projection(self.n_rows)
        seen: set[int] = set()
        for block in self.blocks():
            values = self.block_values(block)
            summary = proj.summarise(values)
            keep = self.count(summary, seen)
            if keep.any():
                yield self.block_codes(block)[keep], values[keep]

    def count(self, summary: ChunkSummary, seen: set[int]) -> np.ndarray:
        """Add a chunk's counts to :attr:`stats`; mask of its features first seen (kept)."""
        stats = self.stats
        status = summary.status
        stats.n_candidates += len(status)
        stats.n_invalid += int((status == INVALID).sum())
        stats.n_constant += int((status == CONSTANT).sum())
        keep = np.zeros(len(status), dtype=bool)
        for k in np.flatnonzero(status == OK):
            key = int(summary.affine_key[k])
            if key not in seen:
                seen.add(key)
                keep[k] = True
        stats.n_duplicate += int((status == OK).sum() - keep.sum())
        stats.n_generated += int(keep.sum())
        return keep


def expand_features(
    primary: pd.DataFrame, complexity: int = 2, chunk_size: int = 1024
) -> tuple[pd.DataFrame, FeatureSpaceStats]:
    """The whole expanded space as one DataFrame (formula -> column): small inputs only."""
    space = FeatureSpace(primary, complexity=complexity, chunk_size=chunk_size)
    columns: dict[str, np.ndarray] = {}
    for codes, values in space.chunks():
        for code, col in zip(codes, values, strict=True):
            columns[space.formula(code)] = col
    frame = pd.DataFrame(columns, index=primary.index)
    return frame, space.stats
