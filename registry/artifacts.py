"""Model artifacts: skops files addressed by their SHA-256, refused when the hash differs.

A saved artifact is ``<dir>/<name>-<sha256[:12]>.skops`` (written atomically, never
overwritten) plus ``<file>.json`` with the metadata (model, features, parameters, the
training-data hash, library versions). :func:`load_artifact` hashes the bytes it is about
to load and refuses them unless they match the hash the registry recorded; it also refuses
a file that holds types outside scikit-learn, numpy, scipy and :mod:`loop.models`.

A retrain's artifacts go to ``<artifacts_dir>/round-<n>`` (:func:`save_artifacts`); if the
model-run transaction then fails, :func:`remove_new_artifacts` deletes the files this
retrain created (and keeps those that were already there).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio

from loop.errors import DataMissingError, NasiconError
from loop.training.records import artifact_metadata
from loop.training.retrain import RetrainResult
from registry.raw_files import sha256_file

log = logging.getLogger(__name__)

#: Module prefixes of the types an artifact may hold.
TRUSTED_PREFIXES: tuple[str, ...] = (
    "sklearn.", "numpy.", "scipy.", "loop.models.", "loop.conductivity.",
)  # fmt: skip
#: Built-in types an artifact may hold besides those (the applicability domain's elements).
TRUSTED_TYPES: frozenset[str] = frozenset({"builtins.frozenset"})
_VERSIONED = ("numpy", "scipy", "scikit-learn", "pandas", "optuna", "skops", "nasicon-loop")


class ArtifactError(NasiconError):
    """A model artifact is missing, altered, or holds untrusted types."""


@dataclass(frozen=True)
class ArtifactInfo:
    """Where an artifact was written and its SHA-256 (hex)."""

    path: Path
    sha256: str
    metadata_path: Path


@dataclass(frozen=True)
class SavedArtifacts:
    """Artifacts of one retrain, and which files it created (vs found already there)."""

    by_model: dict[str, ArtifactInfo]
    created: tuple[Path, ...]

    def refs(self) -> dict[str, tuple[Path, str]]:
        """model name -> (path, SHA-256), the plain data model-run rows take."""
        return {name: (info.path, info.sha256) for name, info in self.by_model.items()}


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


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
    estimator: Any,
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


def load_artifact(path: str | Path, expected_sha256: str) -> Any:
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
    foreign = [t for t in types if not t.startswith(TRUSTED_PREFIXES) and t not in TRUSTED_TYPES]
    if foreign:
        raise ArtifactError(f"refusing to load {path}: it holds untrusted types {foreign[:3]}")
    return sio.loads(data, trusted=types)


def artifact_status(path: str | Path | None, sha256: str | None) -> str:
    """``none`` (no artifact recorded), ``missing``, ``ok`` or ``hash mismatch``."""
    if path is None:
        return "none"
    if not Path(path).is_file():
        return "missing"
    return "ok" if sha256_file(path) == sha256 else "hash mismatch"


# -- the artifacts of one retrain ---------------------------------------------------------


def round_dir(base: str | Path, round_number: int | None) -> Path:
    """``<base>/round-<n>`` (``round-none`` outside rounds)."""
    return Path(base) / f"round-{'none' if round_number is None else int(round_number)}"


def save_artifacts(result: RetrainResult, base_dir: str | Path) -> SavedArtifacts:
    """Save every fitted model of ``result`` under ``round_dir(base_dir, round)``.

    If one save fails, the files saved before it are removed again and the error raised.
    """
    directory = round_dir(base_dir, result.round_number)
    by_model: dict[str, ArtifactInfo] = {}
    created: list[Path] = []
    try:
        for name, r in result.models.items():
            if r.estimator is None:
                raise ValueError(f"model {name} was not fitted")
            existed = set(directory.glob(f"{name}-*.skops")) if directory.exists() else set()
            info = save_artifact(r.estimator, directory, name, artifact_metadata(result, r))
            by_model[name] = info
            if info.path not in existed:
                created.append(info.path)
    except BaseException:
        remove_new_artifacts(SavedArtifacts(by_model, tuple(created)))
        raise
    return SavedArtifacts(by_model, tuple(created))


def remove_new_artifacts(saved: SavedArtifacts) -> None:
    """Delete the artifact files (and metadata) a failed retrain created."""
    for path in saved.created:
        for p in (path, path.with_name(path.name + ".json")):
            p.unlink(missing_ok=True)
        log.info("removed %s", path)
