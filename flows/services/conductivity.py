"""Conductivity model service: training data from the registry, fit, artifact, prediction.

The model is an artifact of the artifact store (:mod:`registry.artifacts`) under
``<models.artifacts_dir>/conductivity/``; ``latest.json`` there names the current artifact
file and its SHA-256 (checked on every load) with the cross-validation metrics. Used by
``nasicon conductivity train|show``, by ``nasicon predict`` (``conductivity`` per formula)
and by propose with ``[proposals] conductivity_model = "trained"``
(:func:`attach_conductivity_model`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loop.conductivity.arrhenius import FITTED, MEASURED, UNUSABLE, targets_25c
from loop.conductivity.features import formula_features
from loop.conductivity.model import ConductivityModel, ForestSettings, fit_conductivity_model
from loop.errors import ValidationError
from loop.recommend import Recommender
from loop.recommend.objectives import TrainedConductivity
from loop.settings import NasiconConfig
from registry import Registry
from registry.artifacts import load_artifact, save_artifact

log = logging.getLogger(__name__)

POINTER = "latest.json"


def model_dir(config: NasiconConfig) -> Path:
    """Folder of the conductivity artifacts."""
    return Path(config.models.artifacts_dir).resolve() / "conductivity"


def conductivity_rows(registry: Registry) -> pd.DataFrame:
    """Every current conductivity record: formula, reference, campaign, temperature_k (K),
    sigma_s_cm (S/cm: total, else bulk), mobile_ion.

    The reference is the record's ``doi:...`` note (literature imports), else the campaign
    (a lab's own measurements count as one source per campaign).
    """
    with registry.unit_of_work(write=False) as uow:
        snaps = uow.outcomes.find(kinds=("conductivity",))
    rows = []
    for s in snaps:
        v = s.values
        sigma = v.get("sigma_total_s_cm") or v.get("sigma_bulk_s_cm")
        if sigma is None or v.get("temperature_k") is None:
            continue
        notes = v.get("notes") or ""
        rows.append(
            {
                "formula": s.formula,
                "reference": notes if notes.startswith("doi:") else f"campaign:{s.campaign}",
                "campaign": s.campaign,
                "temperature_k": float(v["temperature_k"]),
                "sigma_s_cm": float(sigma),
                "mobile_ion": "Li" if s.formula.startswith("Li") else "Na",
            }
        )
    cols = ["formula", "reference", "campaign", "temperature_k", "sigma_s_cm", "mobile_ion"]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class TrainingSet:
    """25 C targets with their features and what was left out."""

    targets: pd.DataFrame  # one row per (formula, reference) with a 25 C value
    features: pd.DataFrame
    ions: list[str]
    n_records: int
    n_fitted: int
    n_unusable: int


def training_set(rows: pd.DataFrame) -> TrainingSet:
    """25 C targets (measured, or an Arrhenius fit of the same composition and source)."""
    if rows.empty:
        raise ValidationError(
            "no conductivity records in the registry; run nasicon import conductivity"
        )
    groups = targets_25c(rows)
    usable = groups[groups["origin"] != UNUSABLE].reset_index(drop=True)
    features, ions = formula_features(usable["formula"].tolist())
    return TrainingSet(
        usable,
        features,
        ions,
        len(rows),
        int((groups["origin"] == FITTED).sum()),
        int((groups["origin"] == UNUSABLE).sum()),
    )


def _write_pointer(folder: Path, doc: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".latest-")
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
    os.replace(tmp, folder / POINTER)


def train_conductivity(
    registry: Registry,
    config: NasiconConfig,
    *,
    algorithm: str = "extra_trees",
    seed: int = 0,
    n_estimators: int = 300,
) -> dict[str, Any]:
    """Fit the conductivity model (``n_estimators`` trees) on the registry's records and
    store it (artifact + ``latest.json``); returns the pointer document (metrics, counts,
    artifact)."""
    data = training_set(conductivity_rows(registry))
    t = data.targets
    model = fit_conductivity_model(
        data.features,
        t["log10_sigma_25c"].to_numpy(),
        data.ions,
        t["formula"].tolist(),
        t["reference"].tolist(),
        ForestSettings(algorithm=algorithm, seed=seed, n_estimators=n_estimators),
    )
    counts = {
        "records": data.n_records,
        "targets_25c": len(t),
        "measured_25c": int((t["origin"] == MEASURED).sum()),
        "arrhenius_25c": data.n_fitted,
        "not_at_25c": data.n_unusable,
        "papers": int(t["reference"].nunique()),
        "per_ion": model.ion_counts,
    }
    folder = model_dir(config)
    info = save_artifact(model, folder, "conductivity", {"counts": counts, **model.metrics})
    doc = {
        "artifact_path": str(info.path),
        "artifact_sha256": info.sha256,
        "counts": counts,
        "metrics": model.metrics,
        "scale_68": model.scale_68,
        "scale_95": model.scale_95,
    }
    _write_pointer(folder, doc)
    log.info("conductivity model %s: %s", info.sha256[:12], counts)
    return doc


def stored_model(config: NasiconConfig) -> tuple[ConductivityModel, dict[str, Any]] | None:
    """The current conductivity model and its pointer document, or None when none is stored."""
    pointer = model_dir(config) / POINTER
    if not pointer.is_file():
        return None
    doc = json.loads(pointer.read_text())
    return load_artifact(doc["artifact_path"], doc["artifact_sha256"]), doc


def attach_conductivity_model(recommender: Recommender, config: NasiconConfig) -> Recommender:
    """Hand the stored conductivity model to ``recommender`` when it predicts conductivity
    with ``conductivity_model`` trained (objective conductivity or both); else unchanged.

    Raises:
        ValidationError: conductivity_model trained and no model stored.
    """
    if recommender.objective == "synthesis" or recommender.conductivity_model != "trained":
        return recommender
    found = stored_model(config)
    if found is None:
        raise ValidationError(
            f"conductivity_model 'trained': no conductivity model in {model_dir(config)}; run "
            "nasicon conductivity train first (or use conductivity_model gp)"
        )
    model, doc = found
    algorithm = doc.get("metrics", {}).get("algorithm", "extra_trees")
    name = f"{algorithm}, artifact sha256 {doc['artifact_sha256'][:12]}"
    recommender.conductivity = lambda seed: TrainedConductivity(model, name)
    recommender.conductivity_note = name
    return recommender


def predict_conductivity(model: ConductivityModel, formulas: list[str]) -> list[dict[str, Any]]:
    """``{log10_sigma_s_cm, sd, in_domain, reason}`` of each formula (decades, S/cm)."""
    features, _ = formula_features(formulas)
    mean, sd = model.predict(features)
    ok, reasons = model.domain(features)
    return [
        {
            "log10_sigma_s_cm": round(float(m), 3),
            "sd": round(float(s), 3),
            "in_domain": bool(o),
            "reason": r,
        }
        for m, s, o, r in zip(mean, sd, ok, reasons, strict=True)
    ]


def conductivity_of(config: NasiconConfig, formulas: list[str]) -> list[dict[str, Any]] | None:
    """:func:`predict_conductivity` with the stored model, or None when none is stored."""
    found = stored_model(config)
    return None if found is None else predict_conductivity(found[0], formulas)


__all__ = [
    "TrainingSet",
    "attach_conductivity_model",
    "conductivity_of",
    "conductivity_rows",
    "model_dir",
    "predict_conductivity",
    "stored_model",
    "train_conductivity",
    "training_set",
]
