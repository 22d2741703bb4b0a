"""What every repository shares: the unit of work it runs in and a few query helpers."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from registry.unit_of_work import UnitOfWork

T = TypeVar("T")

#: Rows per IN (...) query / multi-row INSERT.
CHUNK = 500


class Repository:
    """Queries of one table inside a unit of work (the transaction is the unit's, not ours).

    Methods hand out frozen snapshots (:mod:`registry.snapshots`), never ORM rows.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def session(self) -> Session:
        """The unit of work's session."""
        return self.uow.session


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size`` (for IN lists and multi-row INSERTs)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_ignoring_duplicates(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT rows, silently skipping those whose ``keys`` already exist (race-safe)."""
    if not rows:
        return
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for part in chunks(rows):
        stmt = module.insert(table).values(list(part))
        session.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)))


def same_value(a: Any, b: Any) -> bool:
    """Whether two stored values are equal (floats to 1e-9 relative, JSON deeply)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and isinstance(a, bool) == isinstance(b, bool)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, date | datetime) or isinstance(b, date | datetime):
        return str(a) == str(b)
    return a == b
