"""Raw measurement files (XRD patterns, impedance spectra) stored content-addressed.

A file is kept as ``<store>/<sha256[:2]>/<sha256><suffix>``: the name is its SHA-256, so
storing the same file twice keeps one copy, a record that names the hash can always be
checked against its file, and nothing is ever overwritten. The suffix is kept because
readers pick the format by it. Store the file before the database transaction that
refers to it: if that transaction fails, an unreferenced file remains, which is harmless.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loop.errors import DataMissingError, NasiconError, ValidationError

_BLOCK = 1 << 20


class RawStoreError(NasiconError, OSError):
    """The raw-file store cannot take a file (not a folder, read-only, full); one line."""


def _store_error(exc: OSError, store_dir: Path) -> RawStoreError:
    """One sentence for an operating-system error while writing into the store."""
    where = f"the raw-file store {store_dir} (setting data.raw_store, env NASICON_RAW_STORE)"
    blocker = next((p for p in (store_dir, *store_dir.parents) if p.is_file()), None)
    if blocker is not None:
        why = f"{where} is not a folder: {blocker} is a file"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"cannot write to {where}: permission denied or read-only"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = f"{where} is full (no space left on the device)"
    else:
        why = f"cannot write to {where}: {exc.strerror or exc}"
    return RawStoreError(f"{why}; nothing was recorded")


@dataclass(frozen=True)
class StoredFile:
    """A raw file in the store."""

    path: Path  # where the copy lives
    sha256: str  # hex digest of the content
    size: int  # bytes
    original_name: str


def require_regular_file(path: str | Path, what: str = "raw data file") -> Path:
    """``path`` as a :class:`Path` if it is a regular file, else one specific sentence.

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


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's content (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def stored_path(store_dir: str | Path, sha256: str, suffix: str = "") -> Path:
    """Where the file with this hash (and suffix) lives in the store."""
    return Path(store_dir) / sha256[:2] / f"{sha256}{suffix.lower()}"


def store_raw_file(path: str | Path, store_dir: str | Path) -> StoredFile:
    """Copy ``path`` into the content-addressed store (once) and return where and its hash.

    Raises:
        DataMissingError: ``path`` does not exist.
        ValidationError: ``path`` is a directory or not a regular file, or empty.
        RawStoreError: the store is not a folder, read-only or full.
    """
    src = require_regular_file(path)
    size = src.stat().st_size
    if size == 0:
        raise ValidationError(f"raw data file {src} is empty")
    digest = sha256_file(src)
    dest = stored_path(store_dir, digest, src.suffix)
    if dest.is_file() and sha256_file(dest) == digest:
        return StoredFile(dest, digest, size, src.name)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{digest[:12]}.", dir=dest.parent)
    except OSError as exc:
        raise _store_error(exc, Path(store_dir)) from exc
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, _BLOCK)
            out.flush()
            os.fsync(out.fileno())
        if sha256_file(tmp) != digest:
            raise ValidationError(f"raw data file {src} changed while it was being stored")
        os.replace(tmp, dest)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, NasiconError):
            raise _store_error(exc, Path(store_dir)) from exc
        raise
    return StoredFile(dest, digest, size, src.name)


def verify_raw_file(path: str | Path, sha256: str) -> bool:
    """Whether the stored file at ``path`` still has the content hash ``sha256``."""
    p = Path(path)
    return p.is_file() and sha256_file(p) == sha256
