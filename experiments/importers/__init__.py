"""Importers of published data into the registry (each idempotent, each with a report)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loop.errors import ValidationError


@dataclass(frozen=True)
class ImportReport:
    """What an import stored.

    Attributes:
        source: the data set's name.
        path: where it was read from.
        added: record kind -> rows stored by this run.
        unchanged: record kind -> rows already stored identically (skipped).
    """

    source: str
    path: str
    added: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        """Whether this run stored anything."""
        return any(self.added.values())

    def summary(self) -> str:
        """One line: what was added and what was already there."""

        def part(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "nothing"

        if not self.changed_anything:
            return f"{self.source}: nothing changed ({part(self.unchanged)} already stored)"
        text = f"{self.source}: added {part(self.added)}"
        if any(self.unchanged.values()):
            text += f"; unchanged {part(self.unchanged)}"
        return text


__all__ = ["ImportReport"]


class InvalidEntriesError(ValidationError):
    """Entries of an input file are invalid; ``problems`` lists (where, why) of each, and
    nothing was stored. ``noun`` names the entries (rows, entries), ``prefix`` their places."""

    def __init__(
        self,
        path: Path,
        problems: list[tuple[Any, str]],
        total: int,
        *,
        noun: str = "rows",
        prefix: str = "line ",
    ) -> None:
        self.problems = problems
        where, why = problems[0]
        super().__init__(
            f"{len(problems)} of {total} {noun} of {path} are invalid, nothing stored; "
            f"first: {prefix}{where}: {why}"
        )


def import_report(
    source: str, path: Path, records: Sequence[Any], written: Any, kinds: Sequence[str]
) -> ImportReport:
    """The :class:`ImportReport` of ``records`` stored with write report ``written``."""
    added = Counter(kind for _, kind, _ in written.added)
    unchanged = Counter(records[i].to_write().kind for i in written.unchanged)
    return ImportReport(
        source,
        str(path),
        added={k: added.get(k, 0) for k in kinds},
        unchanged={k: unchanged.get(k, 0) for k in kinds},
    )
