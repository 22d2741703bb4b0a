"""Checks on input files shared by the readers: one specific sentence for each way a path
is not a readable file (missing, a directory, a pipe or device)."""

from __future__ import annotations

from pathlib import Path

from loop.errors import DataMissingError, ValidationError


def require_regular_file(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`Path` if it is a regular file.

    Raises:
        DataMissingError: nothing is there.
        ValidationError: a directory, or not a regular file (FIFO, device, socket).
    """
    p = Path(path)
    if not p.exists():
        raise DataMissingError(f"{what} {p} does not exist")
    if p.is_dir():
        raise ValidationError(f"{what} {p} is a directory, not a file")
    if not p.is_file():
        raise ValidationError(f"{what} {p} is not a regular file (a pipe, device or socket)")
    return p
