"""Raw measurement files (XRD patterns, impedance spectra) stored content-addressed.

A file is kept as ``<store>/<sha256[:2]>/<sha256><suffix>``: the name is its SHA-256, so
storing the same file twice keeps one copy, a record that names the hash can always be
checked against its file, and nothing is ever overwritten. The suffix is kept because
readers pick the format by it. Store the file before the database transaction that
refers to it: if that transaction fails, an unreferenced file remains, which is harmless.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loop.errors import DataMissingError, ValidationError

_BLOCK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    """A raw file in the store."""

    path: Path  # where the copy lives
    sha256: str  # hex digest of the content
    size: int  # bytes
    original_name: str


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
        DataMissingError: ``path`` is not a file.
        ValidationError: the file is empty.
    """
    src = Path(path)
    if not src.is_file():
        raise DataMissingError(f"raw data file {src} does not exist")
    size = src.stat().st_size
    if size == 0:
        raise ValidationError(f"raw data file {src} is empty")
    digest = sha256_file(src)
    dest = stored_path(store_dir, digest, src.suffix)
    if dest.is_file() and sha256_file(dest) == digest:
        return StoredFile(dest, digest, size, src.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{digest[:12]}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, _BLOCK)
            out.flush()
            os.fsync(out.fileno())
        if sha256_file(tmp) != digest:
            raise ValidationError(f"raw data file {src} changed while it was being stored")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return StoredFile(dest, digest, size, src.name)


def verify_raw_file(path: str | Path, sha256: str) -> bool:
    """Whether the stored file at ``path`` still has the content hash ``sha256``."""
    p = Path(path)
    return p.is_file() and sha256_file(p) == sha256
