"""Uploaded raw files waiting for confirmation, kept by SHA-256 in ``[web] upload_dir``.

An upload is streamed to a temporary file (refused past ``[web] max_upload_mb``), hashed,
and moved to ``<upload_dir>/<sha256>/<safe original name>`` (the readers pick the format by
the suffix). The preview page names the file by its hash; saving re-reads it from there and
removes it. Uploads older than a day are swept away on the next upload.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loop.errors import ValidationError
from nasicon.web.errors import TooLarge

log = logging.getLogger(__name__)

SHA256 = re.compile(r"[0-9a-f]{64}")
KEEP_HOURS = 24.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    """A kept upload: its SHA-256, where it is and its (safe) file name."""

    sha256: str
    path: Path

    @property
    def name(self) -> str:
        """The file name (the original's, made safe)."""
        return self.path.name


def safe_name(name: str) -> str:
    """The file name without folders or unusual characters (suffix kept), at most 100 chars."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "").name).strip("._")
    if not base:
        return "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 10:
        return f"{stem[:89]}.{suffix}" if stem else f"upload.{suffix}"
    return base[:100]


def sweep(folder: Path, hours: float = KEEP_HOURS) -> None:
    """Remove uploads older than ``hours``."""
    if not folder.is_dir():
        return
    cutoff = time.time() - hours * 3600
    for entry in folder.iterdir():
        try:
            if entry.is_dir() and SHA256.fullmatch(entry.name) and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


async def save_upload(upload: Any, folder: Path, max_mb: float) -> Upload:
    """Keep an uploaded file (a Starlette ``UploadFile``) by its SHA-256.

    Raises:
        ValidationError: no file, or an empty one; TooLarge: over ``max_mb``.
    """
    if upload is None or not hasattr(upload, "read") or not getattr(upload, "filename", None):
        raise ValidationError("choose a file to upload")
    folder.mkdir(parents=True, exist_ok=True)
    sweep(folder)
    limit = int(max_mb * 1024 * 1024)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the file is larger than {max_mb:g} MB ([web] max_upload_mb)")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationError(f"the uploaded file {safe_name(upload.filename)} is empty")
        sha = digest.hexdigest()
        target = folder / sha / safe_name(upload.filename)
        target.parent.mkdir(exist_ok=True)
        os.replace(tmp, target)
        os.utime(target.parent)
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.info("upload %s kept as %s", upload.filename, target)
    return Upload(sha, target)


def find_upload(folder: Path, sha256: str, name: str) -> Upload:
    """The kept upload of this hash and name.

    Raises:
        ValidationError: a malformed hash or name, or the file is gone (upload it again).
    """
    if not SHA256.fullmatch(sha256 or "") or safe_name(name) != name:
        raise ValidationError("the upload reference is not valid; upload the file again")
    path = folder / sha256 / name
    if not path.is_file():
        raise ValidationError(f"the uploaded file {name} is gone (kept {KEEP_HOURS:g} h); "
                              "upload it again")  # fmt: skip
    return Upload(sha256, path)


def discard(upload: Upload) -> None:
    """Remove a kept upload (after it was saved)."""
    shutil.rmtree(upload.path.parent, ignore_errors=True)
