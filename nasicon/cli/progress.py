"""Rich progress bars on stderr for the long work of ``loop`` (retrain, screening, backtest).

``loop`` reports progress through :class:`loop.progress.ProgressHook`; :func:`rich_progress`
yields a hook that draws one rich bar per key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:  # rich.progress is imported when a bar is wanted (fast start-up)
    from rich.progress import Progress

    from loop.progress import ProgressHook

err_console = Console(stderr=True)


class RichProgress:
    """:class:`loop.progress.ProgressHook` drawing rich bars on stderr.

    The display starts with the first bar, so a command refused before any work prints
    nothing but its error line.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.started = False

    def start(self, key: str, description: str, total: int) -> None:
        """Add a bar ``key`` of ``total`` steps."""
        if not self.started:
            self.progress.start()
            self.started = True
        self.tasks[key] = self.progress.add_task(description, total=total)

    def advance(self, key: str, amount: int = 1, description: str | None = None) -> None:
        """Move bar ``key`` on by ``amount`` steps (and relabel it)."""
        if key in self.tasks:
            kwargs = {} if description is None else {"description": description}
            self.progress.update(self.tasks[key], advance=amount, **kwargs)

    def finish(self, key: str) -> None:
        """Fill bar ``key``."""
        if key in self.tasks:
            task = self.progress.tasks[self.tasks[key]]
            self.progress.update(self.tasks[key], completed=task.total)

    def stop(self) -> None:
        """Stop the display (if it was started)."""
        if self.started:
            self.progress.stop()


@contextmanager
def rich_progress(enabled: bool = True) -> Iterator[ProgressHook]:
    """A rich-backed progress hook (a silent one when not ``enabled``), stopped on exit."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from loop.progress import NullProgress

    if not enabled:
        yield NullProgress()
        return
    bars = Progress(
        TextColumn("{task.description:<38}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )
    hook = RichProgress(bars)
    try:
        yield hook
    finally:
        hook.stop()
