"""THE rule that turns lab outcomes into synthesizability labels (the only place it lives).

For one sample, from its *current* records (corrections applied, retractions dropped):

1. Its synthesis failed (``succeeded`` false)          -> 0, not synthesizable.
   A failed synthesis is an outcome, a negative label; XRD of the failed product is
   not consulted.
2. Otherwise its latest current XRD result decides:
   0. an analysed pattern's verdict ``no_nasicon`` (the strongest NASICON reflections are
      not there)                                        -> 0, the synthesis failed;
      ``inconclusive`` (the fit does not explain the pattern) -> no label: a person decides.
   a. secondary phases quantified (every phase has a weight fraction): their summed
      weight fraction <= ``impurity_threshold`` (config ``labels.impurity_threshold``,
      default 0.02)                                     -> 1, synthesizable; above -> 0.
      The threshold is the lab's labelling choice, so it overrides the stored verdict.
   b. phases not quantified: the recorded verdict, phase pure -> 1, else 0.
3. No XRD result (and no failed synthesis)             -> no label yet.

For one composition (repeats are separate samples): synthesizable (1) if any of its
labelled samples is, 0 if all labelled samples are 0, unlabelled otherwise; the
synthesizable sample shows the composition can be made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from experiments.records import is_nasicon_phase
from registry import OutcomeSnapshot, Registry

DEFAULT_IMPURITY_THRESHOLD = 0.02


@dataclass(frozen=True)
class Label:
    """A label and why: ``value`` 1 synthesizable, 0 not, None unknown."""

    value: int | None
    reason: str


def xrd_label(
    xrd: Mapping[str, Any], impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD
) -> Label:
    """Label of one XRD result (columns of the stored row)."""
    verdict = xrd.get("verdict")
    if verdict == "no_nasicon":
        return Label(0, xrd.get("verdict_reason") or "no NASICON by XRD")
    if verdict == "inconclusive" or xrd.get("phase_pure") is None:
        reason = xrd.get("verdict_reason")
        return Label(None, "XRD inconclusive, a person decides" + (f": {reason}" if reason else ""))
    impurity = xrd.get("impurity_fraction")
    if impurity is not None:
        if impurity <= impurity_threshold:
            return Label(1, f"secondary phases {impurity:.1%} <= {impurity_threshold:.1%}")
        return Label(0, f"secondary phases {impurity:.1%} > {impurity_threshold:.1%}")
    if xrd.get("phase_pure"):
        return Label(1, "phase pure by XRD")
    seen = [p["name"] for p in xrd.get("phases") or [] if not is_nasicon_phase(p["name"])]
    return Label(0, "secondary phases: " + (", ".join(seen) if seen else "seen by XRD"))


def sample_label(
    synthesis: Mapping[str, Any] | None,
    xrd_results: Sequence[Mapping[str, Any]],
    impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD,
) -> Label:
    """Label of one sample from its current synthesis record and XRD results (oldest first)."""
    if synthesis is not None and synthesis.get("succeeded") is False:
        return Label(0, "synthesis failed")
    if xrd_results:
        return xrd_label(xrd_results[-1], impurity_threshold)
    return Label(None, "no XRD result yet")


def sample_labels(
    outcomes: Iterable[OutcomeSnapshot], impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD
) -> dict[int, tuple[str, Label]]:
    """sample pk -> (formula, label) from current outcome snapshots."""
    synthesis: dict[int, Mapping[str, Any]] = {}
    xrd: dict[int, list[tuple[int, Mapping[str, Any]]]] = {}
    formulas: dict[int, str] = {}
    for snap in outcomes:
        if snap.status != "current":
            continue
        formulas[snap.sample_pk] = snap.formula
        if snap.kind == "synthesis":
            synthesis[snap.sample_pk] = snap.values
        elif snap.kind == "xrd":
            xrd.setdefault(snap.sample_pk, []).append((snap.id, snap.values))
    out = {}
    for pk, formula in formulas.items():
        results = [v for _, v in sorted(xrd.get(pk, []), key=lambda t: t[0])]
        out[pk] = (formula, sample_label(synthesis.get(pk), results, impurity_threshold))
    return out


def composition_label(labels: Iterable[int | None]) -> int | None:
    """Label of a composition from its samples' labels (1 if any sample made it)."""
    known = [v for v in labels if v is not None]
    if not known:
        return None
    return int(max(known))


def experimental_labels(
    registry: Registry, impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD
) -> pd.DataFrame:
    """Labelled compositions from current experimental records (see :func:`labels_frame`)."""
    with registry.unit_of_work(write=False) as uow:
        outcomes = uow.outcomes.find(kinds=("synthesis", "xrd"))
    return labels_frame(outcomes, impurity_threshold)


def labels_frame(
    outcomes: Iterable[OutcomeSnapshot], impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD
) -> pd.DataFrame:
    """Labelled compositions from outcome snapshots (only current ones count).

    Returns:
        Columns ``formula`` (canonical), ``label`` (0/1), ``n_samples`` (labelled
        samples), ``reason`` (of the deciding sample), sorted by formula.
    """
    per_sample = sample_labels(outcomes, impurity_threshold)
    grouped: dict[str, list[Label]] = {}
    for formula, label in per_sample.values():
        if label.value is not None:
            grouped.setdefault(formula, []).append(label)
    rows = []
    for formula in sorted(grouped):
        labels = grouped[formula]
        value = composition_label(lab.value for lab in labels)
        reason = next(lab.reason for lab in labels if lab.value == value)
        rows.append(
            {"formula": formula, "label": value, "n_samples": len(labels), "reason": reason}
        )
    return pd.DataFrame(rows, columns=["formula", "label", "n_samples", "reason"]).astype(
        {"label": int, "n_samples": int}
    )
