"""Compositions: one row per canonical formula, with occupancies and descriptors cached."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np
import sqlalchemy as sa

from loop.chemistry import NasiconComposition, parse_nasicon
from loop.descriptors import batch_from_compositions, describe
from registry.repositories.base import Repository, chunks, insert_ignoring_duplicates
from registry.snapshots import CompositionRecord, frozen_mapping
from registry.tables import CompositionRow


def descriptors_version() -> str:
    """Version of the descriptor engine that filled the cache (the package version)."""
    try:
        return importlib_metadata.version("nasicon-loop")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON (and PostgreSQL) has no NaN
    return value


def composition_rows(comps: Sequence[NasiconComposition]) -> list[dict[str, Any]]:
    """Table rows (occupancies + descriptors) of parsed compositions, descriptors vectorised."""
    if not comps:
        return []
    table = describe(batch_from_compositions(list(comps)))
    version = descriptors_version()
    return [
        {
            "formula": comp.formula,
            "na": float(comp.na),
            "m_site": [[ion.element, ion.charge, float(a)] for ion, a in comp.m_site],
            "a_site": [[ion.element, ion.charge, float(a)] for ion, a in comp.a_site],
            "descriptors": {k: _plain(v) for k, v in rec.items()},
            "descriptors_version": version,
        }
        for comp, rec in zip(comps, table.to_dict("records"), strict=True)
    ]


def to_record(row: CompositionRow) -> CompositionRecord:
    """Snapshot of a composition row."""
    return CompositionRecord(
        id=row.id,
        formula=row.formula,
        na=row.na,
        m_site=tuple((e, int(q), float(a)) for e, q, a in row.m_site),
        a_site=tuple((e, int(q), float(a)) for e, q, a in row.a_site),
        descriptors=frozen_mapping(row.descriptors),
    )


class CompositionRepository(Repository):
    """The ``compositions`` table."""

    def ensure(self, formula: str) -> int:
        """Id of the composition of ``formula`` (any notation; stored canonically if new).

        Raises:
            CompositionError: not a valid, charge-balanced NASICON formula.
        """
        comp = parse_nasicon(formula)
        return self.ensure_parsed([comp])[comp.formula]

    def ensure_parsed(self, comps: Sequence[NasiconComposition]) -> dict[str, int]:
        """Store the parsed compositions not yet stored; canonical formula -> id of each."""
        unique = {c.formula: c for c in comps}
        known = self.ids(unique)
        missing = [c for f, c in unique.items() if f not in known]
        if missing:
            insert_ignoring_duplicates(
                self.session, CompositionRow.__table__, composition_rows(missing), ["formula"]
            )
            known.update(self.ids(c.formula for c in missing))
        return known

    def ids(self, formulas: Iterable[str]) -> dict[str, int]:
        """Canonical formula -> id of those already stored."""
        found: dict[str, int] = {}
        for part in chunks(list(dict.fromkeys(formulas))):
            stmt = sa.select(CompositionRow.formula, CompositionRow.id).where(
                CompositionRow.formula.in_(part)
            )
            found.update({f: i for f, i in self.session.execute(stmt)})
        return found

    def get(self, formula: str) -> CompositionRecord | None:
        """The stored composition of ``formula`` (any notation), or None."""
        canonical = parse_nasicon(formula).formula
        stmt = sa.select(CompositionRow).where(CompositionRow.formula == canonical)
        row = self.session.execute(stmt).scalar_one_or_none()
        return None if row is None else to_record(row)

    def by_formula(self, formulas: Iterable[str]) -> dict[str, CompositionRecord]:
        """Stored compositions of canonical ``formulas`` (unknown ones are left out)."""
        out: dict[str, CompositionRecord] = {}
        for part in chunks(list(dict.fromkeys(formulas))):
            stmt = sa.select(CompositionRow).where(CompositionRow.formula.in_(part))
            out.update({r.formula: to_record(r) for r in self.session.execute(stmt).scalars()})
        return out

    def formulas_by_id(self, ids: Iterable[int]) -> Mapping[int, str]:
        """Composition id -> canonical formula."""
        out: dict[int, str] = {}
        for part in chunks(list(set(ids))):
            stmt = sa.select(CompositionRow.id, CompositionRow.formula).where(
                CompositionRow.id.in_(part)
            )
            out.update({int(i): str(f) for i, f in self.session.execute(stmt)})
        return out

    def frame(self) -> Any:
        """Every stored composition with its cached descriptors (pandas DataFrame)."""
        import pandas as pd

        rows = self.session.execute(sa.select(CompositionRow)).scalars()
        return pd.DataFrame(
            [{"composition_id": r.id, "formula": r.formula, **r.descriptors} for r in rows]
        )
