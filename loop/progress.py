"""A minimal progress protocol, so long work in ``loop`` (a retrain, a screen, a backtest)
can drive a bar without touching the terminal: the caller passes a hook (the CLI a
rich-backed one, :class:`NullProgress` or None shows nothing)."""

from __future__ import annotations

from typing import Protocol


class ProgressHook(Protocol):
    """Receives the steps of long work; ``key`` names one bar."""

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
