"""Computed (DFT) records: stored once per (source, data-set formula), never overwritten."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loop.chemistry import NasiconComposition
from registry.compositions import CHUNK, ensure_compositions
from registry.errors import ConflictError
from registry.outcomes import same_value
from registry.tables import ComputedRecordRow
from registry.types import utcnow

#: Columns a computed record must provide (besides its composition).
REQUIRED = (
    "dataset_formula",
    "ehull_mev",
    "published",
    "citation",
    "source_file",
    "source_sha256",
)
OPTIONAL = (
    "split",
    "ewald_ev_per_atom",
    "formation_energy_ev_per_atom",
    "data_repository",
    "license",
)
#: Columns compared to decide whether a re-imported record is unchanged.
COMPARED = ("split", "ehull_mev", "ewald_ev_per_atom", "formation_energy_ev_per_atom", "published")


def add_computed_records(
    session: Session,
    source: str,
    compositions: Sequence[NasiconComposition],
    records: Sequence[Mapping[str, Any]],
) -> tuple[int, int]:
    """Store computed records of ``source`` (one per composition, same order).

    A record whose (source, dataset_formula) is stored already must be identical in
    value; it then counts as unchanged.

    Returns:
        (added, unchanged) counts.

    Raises:
        ConflictError: a stored record differs from the new one (the message names how
            many and the first); nothing is written.
    """
    if len(compositions) != len(records):
        raise ValueError("one composition per record")
    for rec in records:
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            raise ValueError(f"computed record lacks {missing}")
    stored: dict[str, ComputedRecordRow] = {}
    names = [r["dataset_formula"] for r in records]
    for start in range(0, len(names), CHUNK):
        stmt = sa.select(ComputedRecordRow).where(
            ComputedRecordRow.source == source,
            ComputedRecordRow.dataset_formula.in_(names[start : start + CHUNK]),
        )
        stored.update({row.dataset_formula: row for row in session.execute(stmt).scalars()})

    def differs(rec: Mapping[str, Any]) -> bool:
        row = stored.get(rec["dataset_formula"])
        return row is not None and not all(
            same_value(rec.get(c), getattr(row, c)) for c in COMPARED
        )

    differing = [r["dataset_formula"] for r in records if differs(r)]
    if differing:
        raise ConflictError(
            f"{len(differing)} computed records of {source!r} differ from the stored ones "
            f"(first: {differing[0]}); stored records are never overwritten"
        )
    new = [
        (c, r)
        for c, r in zip(compositions, records, strict=True)
        if r["dataset_formula"] not in stored
    ]
    if new:
        ids = ensure_compositions(session, [c for c, _ in new])
        now = utcnow()
        rows = [
            {
                "composition_id": ids[c.formula],
                "source": source,
                "imported_at": now,
                **{k: r[k] for k in REQUIRED},
                **{k: r.get(k) for k in OPTIONAL},
            }
            for c, r in new
        ]
        for start in range(0, len(rows), CHUNK):
            session.execute(sa.insert(ComputedRecordRow), rows[start : start + CHUNK])
    return len(new), len(records) - len(new)
