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


class Stages:
    """One bar ``key`` whose steps are the named stages of a piece of work: the bar shows
    the stage under way; :meth:`next` ends it and starts the following one."""

    def __init__(self, hook: ProgressHook | None, key: str, names: list[str]) -> None:
        self.hook, self.key, self.names, self.done = hook, key, list(names), 0
        if hook is not None and self.names:
            hook.start(key, self.names[0], len(self.names))

    def next(self) -> None:
        """The current stage is done; the bar names the next one."""
        self.done += 1
        if self.hook is None:
            return
        following = self.names[self.done] if self.done < len(self.names) else None
        self.hook.advance(self.key, 1, description=following)
