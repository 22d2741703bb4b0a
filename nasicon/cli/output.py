"""Output helpers shared by the command modules: atomic CSV files, fit tables, problem lines
and the transient spinner shown while a raw file is analysed.

Cheap to import: pandas and ``rich.progress`` are imported by the helpers that use them.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import table as rich_table
from rich.console import Console

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress

err_console = Console(stderr=True, soft_wrap=True)


class Table(rich_table.Table):
    """A rich table that never cuts a value: a cell wider than its column folds onto the
    next line (``overflow="fold"``) instead of ending in ``…``, so a formula or a number
    stays whole in an 80-column terminal or a pipe. Every CLI table is one of these."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` through a temporary file: a whole file or none.

    The file gets the permissions of a normally created one (0666 minus the umask, e.g.
    0644), not the 0600 of a temporary file.

    Raises:
        ValidationError: ``path`` is a directory, or its folder cannot be created or
            written (one line naming why).
    """
    from loop.errors import ValidationError

    if path.is_dir():
        raise ValidationError(f"output {path} is a directory; give a file name ({path}/out.csv)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", newline="") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ValidationError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def write_csv(frame: pd.DataFrame, output: Path) -> None:
    """Write ``frame`` to stdout when ``output`` is ``-``, else atomically to the file."""
    if str(output) == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    write_csv_atomically(frame, output)


def fit_parameter_table(title: str, parameters: dict[str, Any]) -> Table:
    """Equivalent-circuit parameters (value, standard deviation, unit) as a table."""
    table = Table(title=title)
    table.add_column("parameter")
    table.add_column("value", justify="right")
    table.add_column("sd", justify="right")
    table.add_column("unit")
    for name, est in parameters.items():
        sd = f"{est.sd:.3g}" if math.isfinite(est.sd) else "-"
        table.add_row(name, f"{est.value:.4g}", sd, est.unit)
    return table


#: Refused input rows listed one per line; the rest are counted (``... and K more``).
MAX_PROBLEM_LINES = 20


def print_problems(lines: list[tuple[Any, str]], prefix: str) -> None:
    """One stderr line per refused input row, ``PREFIX WHERE: WHY``, for the first
    :data:`MAX_PROBLEM_LINES` rows, then ``... and K more``."""
    for where, why in lines[:MAX_PROBLEM_LINES]:
        err_console.print(f"{prefix} {where}: {why}", highlight=False, markup=False)
    if len(lines) > MAX_PROBLEM_LINES:
        more = len(lines) - MAX_PROBLEM_LINES
        err_console.print(f"... and {more} more", highlight=False, markup=False)


def analysing(what: str) -> Progress:
    """A transient spinner on stderr while a raw file is analysed."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    text = TextColumn(what.replace("{", "{{").replace("}", "}}"), markup=False)
    # not on a pipe or file: a transient display there leaves a blank line before the error
    return Progress(
        SpinnerColumn(), text, TimeElapsedColumn(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    )  # fmt: skip


@contextmanager
def progress_line(description: str, total: int | None = None) -> Iterator[Callable[[], None]]:
    """:func:`analysing` with one task; yields a function that advances it."""
    with analysing(description) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)
