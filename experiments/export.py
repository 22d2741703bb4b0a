"""Every outcome joined with its sample, composition and label, as one flat table (CSV export)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from experiments.labels import DEFAULT_IMPURITY_THRESHOLD, sample_labels
from registry import OutcomeSnapshot, Registry

LEADING = (
    "record_kind",
    "record_id",
    "status",
    "sample_id",
    "campaign",
    "formula",
    "na",
    "m_site",
    "a_site",
    "sample_label",
    "label_reason",
)
TRAILING = ("supersedes_id", "superseded_by", "reason", "recorded_by", "recorded_at")


def _site_text(site: Any) -> str:
    return " ".join(f"{el}{q:+d}:{amount:g}" for el, q, amount in site)


def _phases_text(phases: Any) -> Any:
    if not phases:
        return None
    return ";".join(
        p["name"] if p.get("weight_fraction") is None else f"{p['name']}={p['weight_fraction']:g}"
        for p in phases
    )


def outcomes_frame(
    registry: Registry,
    *,
    include_history: bool = False,
    impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD,
    descriptors: bool = False,
) -> pd.DataFrame:
    """One row per outcome record (current only unless ``include_history``).

    Columns: the record (kind, id, status), its sample and campaign, the composition
    (canonical formula, Na, M- and A-site occupancies, optionally every cached
    descriptor), the sample's current label and its reason (from
    :mod:`experiments.labels`), the record's values in canonical units (temperatures
    K, conductivities S/cm, ...; XRD phases as ``NAME=fraction;...``) and its
    correction trail (supersedes, superseded_by, reason, who, when).
    """
    with registry.unit_of_work(write=False) as uow:  # one consistent snapshot
        snaps: list[OutcomeSnapshot] = uow.outcomes.find(include_history=include_history)
        current = uow.outcomes.find(kinds=("synthesis", "xrd")) if include_history else snaps
        comps = uow.compositions.by_formula({s.formula for s in snaps})
    labels = sample_labels(current, impurity_threshold)
    rows = []
    value_names: dict[str, None] = {}
    for snap in snaps:
        values = dict(snap.values)
        if "phases" in values:
            values["phases"] = _phases_text(values["phases"])
        value_names.update(dict.fromkeys(values))
        comp = comps[snap.formula]
        label = labels.get(snap.sample_pk, (None, None))[1]
        row = {
            "record_kind": snap.kind,
            "record_id": snap.id,
            "status": snap.status,
            "sample_id": snap.sample_id,
            "campaign": snap.campaign,
            "formula": snap.formula,
            "na": comp.na,
            "m_site": _site_text(comp.m_site),
            "a_site": _site_text(comp.a_site),
            "sample_label": None if label is None else label.value,
            "label_reason": None if label is None else label.reason,
            **values,
            "supersedes_id": snap.supersedes_id,
            "superseded_by": snap.superseded_by,
            "reason": snap.reason,
            "recorded_by": snap.recorded_by,
            "recorded_at": snap.recorded_at.isoformat(),
        }
        if descriptors:
            row.update({f"descriptor_{k}": v for k, v in comp.descriptors.items()})
        rows.append(row)
    extra = sorted({k for r in rows for k in r if k.startswith("descriptor_")})
    columns = [*LEADING, *value_names, *TRAILING, *extra]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(
        {"sample_label": "Int64", "supersedes_id": "Int64", "superseded_by": "Int64"}
    )
