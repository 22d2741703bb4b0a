"""Checks on input files shared by the readers: one specific sentence for each way a path
is not a readable file (missing, a directory, a pipe or device). The check itself is the raw
store's (:func:`registry.raw_files.require_regular_file`), so a reader and the store word a
bad path alike."""

from __future__ import annotations

from registry.raw_files import require_regular_file

__all__ = ["require_regular_file"]
