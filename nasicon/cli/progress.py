"""Rich progress bars on stderr for the long work of ``loop`` (retrain, screening, backtest)
and for big raw files (XRD patterns, impedance spectra) read and analysed.

``loop`` reports progress through :class:`loop.progress.ProgressHook`; :func:`rich_progress`
yields a hook that draws one rich bar per key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


def shows_bars(path: str | Path, min_bytes: int) -> bool:
    """Whether reading ``path`` gets progress bars: a file of at least ``min_bytes``
    (setting ``limits.progress_min_bytes``) read with stderr on a terminal."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        return False  # the reader names the problem
    return size >= min_bytes and err_console.is_terminal


@contextmanager
def raw_file_progress(
    description: str, path: str | Path, min_bytes: int
) -> Iterator[ProgressHook | None]:
    """Rich bars (rows read, analysis stages) while a big raw file is read and analysed
    (:func:`shows_bars`); for a smaller one the transient spinner ``description`` and no hook.
    """
    from nasicon.cli.output import analysing

    if shows_bars(path, min_bytes):
        with rich_progress(enabled=True) as hook:
            yield hook
        return
    with analysing(description) as spinner:
        spinner.add_task(description, total=None)
        yield None
