"""A minimal progress protocol so long training steps can drive a bar (rich, Prefect logs)."""

from __future__ import annotations

from typing import Protocol


class ProgressHook(Protocol):
    """Receives the steps of a retrain; ``key`` names one bar."""

    def start(self, key: str, description: str, total: int) -> None: ...

    def advance(self, key: str, amount: int = 1, description: str | None = None) -> None: ...

    def finish(self, key: str) -> None: ...


class NullProgress:
    """Progress that shows nothing."""

    def start(self, key: str, description: str, total: int) -> None:
        """Ignore."""

    def advance(self, key: str, amount: int = 1, description: str | None = None) -> None:
        """Ignore."""

    def finish(self, key: str) -> None:
        """Ignore."""
