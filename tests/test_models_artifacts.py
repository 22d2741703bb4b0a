"""Artifacts: skops files with their SHA-256; a changed file is refused."""

from __future__ import annotations

import fractions
import json

import numpy as np
import pytest

from loop.errors import DataMissingError
from loop.models import MODELS
from loop.training.data import training_data_sha256
from registry.artifacts import (
    ArtifactError,
    artifact_status,
    library_versions,
    load_artifact,
    save_artifact,
)
from registry.raw_files import sha256_file


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0.4).astype(int)
    return MODELS["tolerance_factor"].build().fit(X, y), X


def test_roundtrip_with_hash_and_metadata(fitted, tmp_path) -> None:
    model, X = fitted
    info = save_artifact(model, tmp_path / "round-1", "tolerance_factor",
                         {"training_data_sha256": "ab" * 32, "features": ["t1", "t2"]})
    assert info.path.name == f"tolerance_factor-{info.sha256[:12]}.skops"
    assert sha256_file(info.path) == info.sha256
    assert artifact_status(info.path, info.sha256) == "ok"
    meta = json.loads(info.metadata_path.read_text())
    assert meta["sha256"] == info.sha256 and meta["training_data_sha256"] == "ab" * 32
    assert meta["library_versions"]["scikit-learn"] == library_versions()["scikit-learn"]
    loaded = load_artifact(info.path, info.sha256)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert (loaded.a_, loaded.b_) == (model.a_, model.b_)


def test_changed_file_is_refused(fitted, tmp_path) -> None:
    model, _ = fitted
    info = save_artifact(model, tmp_path, "tolerance_factor")
    data = bytearray(info.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    info.path.write_bytes(bytes(data))
    assert artifact_status(info.path, info.sha256) == "hash mismatch"
    with pytest.raises(ArtifactError, match=r"refusing to load .* SHA-256 is .* registry recorded"):
        load_artifact(info.path, info.sha256)


def test_replaced_file_is_refused(fitted, tmp_path) -> None:
    model, _ = fitted
    a = save_artifact(model, tmp_path, "a")
    b = save_artifact(MODELS["gnb"].build(), tmp_path, "b")
    b.path.replace(a.path)  # someone swaps the file
    with pytest.raises(ArtifactError, match="changed or replaced"):
        load_artifact(a.path, a.sha256)


def test_untrusted_types_and_missing_files_are_refused(tmp_path) -> None:
    info = save_artifact({"x": fractions.Fraction(1, 3)}, tmp_path, "odd")
    with pytest.raises(ArtifactError, match=r"untrusted types \['fractions\.Fraction'\]"):
        load_artifact(info.path, info.sha256)
    with pytest.raises(DataMissingError, match="not found"):
        load_artifact(tmp_path / "nope.skops", "0" * 64)
    assert artifact_status(tmp_path / "nope.skops", "0" * 64) == "missing"
    assert artifact_status(None, None) == "none"


def test_training_data_hash_is_order_independent_and_content_sensitive() -> None:
    base = training_data_sha256(["A", "B", "C"], [1, 0, 0], [1.0, 1.0, 5.0])
    assert base == training_data_sha256(["C", "A", "B"], [0, 1, 0], [5.0, 1.0, 1.0])
    assert base != training_data_sha256(["A", "B", "C"], [1, 1, 0], [1.0, 1.0, 5.0])
    assert base != training_data_sha256(["A", "B", "C"], [1, 0, 0], [1.0, 1.0, 1.0])
    assert len(base) == 64
