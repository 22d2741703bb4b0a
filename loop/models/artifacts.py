"""Model artifacts: skops files addressed by their SHA-256, refused when the hash differs.

A saved artifact is ``<dir>/<name>-<sha256[:12]>.skops`` (written atomically, never
overwritten) plus ``<file>.json`` with the metadata (model, features, parameters, the
training-data hash, library versions). :func:`load_artifact` hashes the bytes it is about
to load and refuses them unless they match the hash the registry recorded; it also refuses
a file that holds types outside scikit-learn, numpy, scipy and :mod:`loop.models`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.base import BaseEstimator

from loop.errors import DataMissingError, NasiconError

log = logging.getLogger(__name__)

#: Module prefixes of the types an artifact may hold.
TRUSTED_PREFIXES: tuple[str, ...] = ("sklearn.", "numpy.", "scipy.", "loop.models.")
_VERSIONED = ("numpy", "scipy", "scikit-learn", "pandas", "optuna", "skops", "nasicon-loop")


class ArtifactError(NasiconError):
    """A model artifact is missing, altered, or holds untrusted types."""


@dataclass(frozen=True)
class ArtifactInfo:
    """Where an artifact was written and its SHA-256 (hex)."""

    path: Path
    sha256: str
    metadata_path: Path


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def training_data_sha256(
    formulas: Iterable[str], labels: Iterable[int], weights: Iterable[float] | None = None
) -> str:
    """Order-independent hash of the training set (formula, label, weight per row)."""
    formulas = list(formulas)
    labels = [int(v) for v in labels]
    weights_list = [1.0] * len(formulas) if weights is None else [float(w) for w in weights]
    rows = sorted(
        f"{f}\t{lab}\t{w:.12g}" for f, lab, w in zip(formulas, labels, weights_list, strict=True)
    )
    return sha256_bytes("\n".join(rows).encode())


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a saved model depends on."""
    out = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_artifact(
    estimator: BaseEstimator,
    directory: str | Path,
    name: str,
    metadata: Mapping[str, Any] | None = None,
) -> ArtifactInfo:
    """Write ``estimator`` with skops as ``<directory>/<name>-<sha[:12]>.skops`` + metadata.

    The metadata JSON gets ``sha256``, ``file`` and ``library_versions`` added.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = sio.dumps(estimator)
    sha = sha256_bytes(data)
    path = directory / f"{name}-{sha[:12]}.skops"
    if not path.exists():
        _atomic_write(path, data)
    meta = {
        **(metadata or {}),
        "file": path.name,
        "sha256": sha,
        "library_versions": library_versions(),
    }
    meta_path = path.with_name(path.name + ".json")
    _atomic_write(meta_path, json.dumps(meta, indent=2, default=_jsonable).encode())
    log.info("saved %s (%d bytes, sha256 %s)", path, len(data), sha[:12])
    return ArtifactInfo(path=path, sha256=sha, metadata_path=meta_path)


def load_artifact(path: str | Path, expected_sha256: str) -> BaseEstimator:
    """Load an artifact after checking its SHA-256 against ``expected_sha256``.

    Raises:
        DataMissingError: no file at ``path``.
        ArtifactError: the hash differs (the file was changed or replaced), the file holds
            types outside :data:`TRUSTED_PREFIXES`, or it cannot be read as a skops file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(
            f"model artifact {path} not found (it is written by nasicon retrain; "
            "check models.artifacts_dir and the working directory)"
        )
    data = path.read_bytes()
    actual = sha256_bytes(data)
    if actual != expected_sha256:
        raise ArtifactError(
            f"refusing to load {path}: its SHA-256 is {actual[:16]}..., the registry recorded "
            f"{expected_sha256[:16]}... (the file was changed or replaced; retrain)"
        )
    try:
        types = sio.get_untrusted_types(data=data)
    except Exception as exc:  # only if a corrupt file was recorded with its (matching) hash
        raise ArtifactError(f"{path} is not a readable skops file: {exc}") from exc
    foreign = [t for t in types if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise ArtifactError(f"refusing to load {path}: it holds untrusted types {foreign[:3]}")
    return sio.loads(data, trusted=types)
