"""Compositions in the registry: one row per canonical formula, with descriptors cached."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loop.chemistry import NasiconComposition, parse_nasicon
from loop.descriptors import batch_from_compositions, describe
from registry.snapshots import CompositionRecord, frozen_mapping
from registry.tables import CompositionRow

#: Rows per IN (...) query / multi-row INSERT.
CHUNK = 500


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
    rows = []
    for comp, rec in zip(comps, table.to_dict("records"), strict=True):
        rows.append(
            {
                "formula": comp.formula,
                "na": float(comp.na),
                "m_site": [[ion.element, ion.charge, float(a)] for ion, a in comp.m_site],
                "a_site": [[ion.element, ion.charge, float(a)] for ion, a in comp.a_site],
                "descriptors": {k: _plain(v) for k, v in rec.items()},
                "descriptors_version": version,
            }
        )
    return rows


def insert_ignoring_duplicates(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT rows, silently skipping those whose ``keys`` already exist (race-safe)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(rows), CHUNK):
        stmt = module.insert(table).values(rows[start : start + CHUNK])
        session.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)))


def composition_ids(session: Session, formulas: Iterable[str]) -> dict[str, int]:
    """Canonical formula -> id of those already stored."""
    wanted = list(dict.fromkeys(formulas))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        stmt = sa.select(CompositionRow.formula, CompositionRow.id).where(
            CompositionRow.formula.in_(chunk)
        )
        found.update({f: i for f, i in session.execute(stmt)})
    return found


def ensure_compositions(session: Session, comps: Sequence[NasiconComposition]) -> dict[str, int]:
    """Store the compositions not yet in the registry; canonical formula -> id of each."""
    unique = {c.formula: c for c in comps}
    known = composition_ids(session, unique)
    missing = [c for f, c in unique.items() if f not in known]
    if missing:
        insert_ignoring_duplicates(
            session, CompositionRow.__table__, composition_rows(missing), ["formula"]
        )
        known.update(composition_ids(session, [c.formula for c in missing]))
    return known


def ensure_composition(session: Session, formula: str) -> int:
    """Id of the composition of ``formula`` (any notation), stored if new.

    Raises:
        CompositionError: the formula is not a valid, charge-balanced NASICON.
    """
    comp = parse_nasicon(formula)
    return ensure_compositions(session, [comp])[comp.formula]


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


def get_composition(session: Session, formula: str) -> CompositionRecord | None:
    """The stored composition of ``formula`` (any notation), or None."""
    canonical = parse_nasicon(formula).formula
    row = session.execute(
        sa.select(CompositionRow).where(CompositionRow.formula == canonical)
    ).scalar_one_or_none()
    return None if row is None else to_record(row)


def formulas_by_id(session: Session, ids: Iterable[int]) -> Mapping[int, str]:
    """Composition id -> canonical formula."""
    wanted = list(set(ids))
    out: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):
        stmt = sa.select(CompositionRow.id, CompositionRow.formula).where(
            CompositionRow.id.in_(wanted[start : start + CHUNK])
        )
        out.update({int(i): str(f) for i, f in session.execute(stmt)})
    return out
