"""Computed (DFT) records: stored once per (source, data-set formula), never overwritten."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from loop.chemistry import parse_nasicon
from registry.errors import ConflictError
from registry.repositories.base import Repository, chunks, same_value
from registry.tables import CompositionRow, ComputedRecordRow
from registry.types import utcnow

#: Columns the importer fills itself.
_FILLED = ("id", "composition_id", "source", "imported_at")
_FIELDS = {n: f for n, f in ComputedRecordRow.model_fields.items() if n not in _FILLED}
#: Columns a computed record must provide / may provide (besides its formula).
REQUIRED = tuple(n for n, f in _FIELDS.items() if f.is_required())
OPTIONAL = tuple(n for n, f in _FIELDS.items() if not f.is_required())
#: The computed values (the rest is provenance): what decides whether a re-import changed.
COMPARED = ("split", "ehull_mev", "ewald_ev_per_atom", "formation_energy_ev_per_atom", "published")


class ComputedRecordRepository(Repository):
    """The ``computed_records`` table."""

    def add(self, source: str, records: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
        """Store computed records of ``source``; (added, unchanged) counts.

        Each record has ``formula`` (any notation), the :data:`REQUIRED` columns of
        :class:`registry.tables.ComputedRecordRow` and any of the :data:`OPTIONAL` ones.
        Idempotent: a record whose (source, dataset_formula) is stored already must be
        identical in value (:data:`COMPARED`) and then counts as unchanged.

        Raises:
            ValueError: a record lacks a required column.
            CompositionError: a formula that is not a valid NASICON.
            ConflictError: a stored record differs from the new one (the message names how
                many and the first); nothing is written.
        """
        for rec in records:
            missing = [k for k in ("formula", *REQUIRED) if k not in rec]
            if missing:
                raise ValueError(f"computed record lacks {missing}")
        comps = [parse_nasicon(str(r["formula"])) for r in records]
        stored: dict[str, ComputedRecordRow] = {}
        for part in chunks([r["dataset_formula"] for r in records]):
            stmt = sa.select(ComputedRecordRow).where(
                ComputedRecordRow.source == source, ComputedRecordRow.dataset_formula.in_(part)
            )
            stored.update({r.dataset_formula: r for r in self.session.execute(stmt).scalars()})

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
            for c, r in zip(comps, records, strict=True)
            if r["dataset_formula"] not in stored
        ]
        if new:
            ids = self.uow.compositions.ensure_parsed([c for c, _ in new])
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
            for part in chunks(rows):
                self.session.execute(sa.insert(ComputedRecordRow), list(part))
        return len(new), len(records) - len(new)

    def frame(self, source: str | None = None) -> Any:
        """Computed records (of ``source``, or all) with canonical formulas (pandas DataFrame)."""
        import pandas as pd

        stmt = sa.select(ComputedRecordRow, CompositionRow.formula).join(
            CompositionRow, ComputedRecordRow.composition_id == CompositionRow.id
        )
        if source is not None:
            stmt = stmt.where(ComputedRecordRow.source == source)
        columns = [c.name for c in ComputedRecordRow.__table__.columns]
        rows = [
            {"formula": formula, **{c: getattr(row, c) for c in columns}}
            for row, formula in self.session.execute(stmt.order_by(ComputedRecordRow.id))
        ]
        return pd.DataFrame(rows)
