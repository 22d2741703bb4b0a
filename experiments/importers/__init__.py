"""Importers of published data into the registry (each idempotent, each with a report)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
