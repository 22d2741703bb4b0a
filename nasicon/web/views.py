"""Read-side data of the pages and the API: the queue, a sample's history, rounds, campaign
progress; plus the template filters. Reads open read-only units of work only.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop.errors import ValidationError

if TYPE_CHECKING:
    from loop.settings import NasiconConfig
    from registry import ProposalRecord, Registry, SampleHistory

#: Leaderboard columns, in this order, when a run's metrics have them.
METRIC_COLUMNS = ("f1_macro", "accuracy", "roc_auc", "brier", "log_loss", "ece")
#: Names of a proposal's predicted-conductivity field (S/cm), when the registry has one;
#: else it is 10 ** ``log10_sigma_s_cm`` (migration 0005).
CONDUCTIVITY_FIELDS = ("predicted_sigma_s_cm", "predicted_conductivity_s_cm")
#: A proposal's objective columns (migration 0005), shown and sent as stored.
OBJECTIVE_FIELDS = (
    "p_forms", "p_forms_sd", "log10_sigma_s_cm", "log10_sigma_sd", "objective", "signal",
)  # fmt: skip
FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.png")
SHA256 = re.compile(r"[0-9a-f]{64}")


# -- template filters -----------------------------------------------------------------------


def sci(value: Any, digits: int = 2) -> str:
    """``1.23e-03`` (a dash for None or a non-number)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}e}"


def num(value: Any, digits: int = 3) -> str:
    """``0.123`` (a dash for None or a non-number)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def when(value: datetime | None) -> str:
    """``2026-12-05 14:03 UTC`` (a dash for None)."""
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


# -- the queue ------------------------------------------------------------------------------


def predicted_sigma(p: ProposalRecord) -> float | None:
    """The proposal's predicted conductivity, S/cm, when the registry stores one."""
    for name in CONDUCTIVITY_FIELDS:
        value = getattr(p, name, None)
        if isinstance(value, int | float):
            return float(value)
    log_sigma = getattr(p, "log10_sigma_s_cm", None)
    if isinstance(log_sigma, int | float) and math.isfinite(log_sigma):
        return float(10.0**log_sigma)
    return None


def domain_text(p: ProposalRecord) -> str:
    """``inside``, ``outside`` or ``not checked``: whether the proposal lies in the training
    domain of its round (migration 0004)."""
    in_domain = getattr(p, "in_domain", None)
    return "not checked" if in_domain is None else "inside" if in_domain else "outside"


def has_objectives(proposals: list[ProposalRecord]) -> dict[str, bool]:
    """Which objective columns any of ``proposals`` has (the page shows only those)."""
    return {
        "domain": any(getattr(p, "in_domain", None) is not None for p in proposals),
        "p_forms": any(getattr(p, "p_forms", None) is not None for p in proposals),
    }


def model_names(proposals: list[ProposalRecord]) -> list[str]:
    """Every model with a probability in ``proposals``, in first-seen order."""
    names: dict[str, None] = {}
    for p in proposals:
        names.update(dict.fromkeys(p.probabilities))
    return list(names)


def proposal_dict(p: ProposalRecord) -> dict[str, Any]:
    """A proposal, JSON-ready."""
    return {
        "id": p.id,
        "round": p.round_number,
        "formula": p.formula,
        "status": p.status.value,
        "probabilities": dict(p.probabilities),
        "predicted_sigma_s_cm": predicted_sigma(p),
        "in_domain": getattr(p, "in_domain", None),
        "domain_reason": getattr(p, "domain_reason", None),
        **{name: getattr(p, name, None) for name in OBJECTIVE_FIELDS},
        "acquisition_score": p.acquisition_score,
        "strategy": p.strategy,
        "reason": p.reason,
        "status_reason": p.status_reason,
        "claimed_by": p.claimed_by,
        "claim_expires_at": p.claim_expires_at.isoformat() if p.claim_expires_at else None,
        "created_at": p.created_at.isoformat(),
    }


# -- samples --------------------------------------------------------------------------------


def history(registry: Registry, sample_id: str, campaign: str | None) -> SampleHistory:
    """Everything recorded about a sample (NotFoundError when it does not exist)."""
    return registry.run(lambda uow: uow.samples.history(sample_id, campaign), write=False)


def history_dict(h: SampleHistory) -> dict[str, Any]:
    """A sample's history, JSON-ready."""
    s = h.sample
    return {
        "sample_id": s.sample_id,
        "campaign": s.campaign,
        "formula": s.formula,
        "source": s.source,
        "created_at": s.created_at.isoformat(),
        "created_by": s.created_by,
        "proposal": None if h.proposal is None else proposal_dict(h.proposal),
        "records": [
            {
                "kind": r.kind, "id": r.id, "status": r.status, "values": _plain(r.values),
                "supersedes_id": r.supersedes_id, "superseded_by": r.superseded_by,
                "is_retraction": r.is_retraction, "reason": r.reason,
                "recorded_by": r.recorded_by, "recorded_at": r.recorded_at.isoformat(),
            }
            for r in h.records
        ],
        "proposal_events": [
            {"from": e.from_status.value if e.from_status else None, "to": e.to_status.value,
             "who": e.who, "reason": e.reason, "at": e.at.isoformat()}
            for e in h.proposal_events
        ],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def samples(registry: Registry) -> list[Any]:
    """Every sample, newest first."""
    rows = registry.run(lambda uow: uow.samples.all(), write=False)
    return sorted(rows, key=lambda s: s.created_at, reverse=True)


def raw_file(registry: Registry, store_dir: Path, sha256: str) -> Path:
    """The stored raw file with this SHA-256 that a record names (NotFoundError otherwise).

    Only a file under the raw store whose name is the hash is handed out.
    """
    import sqlalchemy as sa

    from registry.errors import NotFoundError
    from registry.tables import ConductivityRow, XRDRow

    if not SHA256.fullmatch(sha256):
        raise ValidationError(f"{sha256[:80]!r} is not a SHA-256 (64 hex digits)")

    def find(uow: Any) -> str | None:
        for table in (XRDRow, ConductivityRow):
            stmt = sa.select(table.raw_path).where(table.raw_sha256 == sha256).limit(1)
            found = uow.session.execute(stmt).scalar()
            if found:
                return found
        return None

    stored = registry.run(find, write=False)
    store = store_dir.resolve()
    if stored:
        path = Path(stored).resolve()
        if path.is_file() and path.is_relative_to(store) and path.name.startswith(sha256):
            return path
    raise NotFoundError(f"no stored raw file has SHA-256 {sha256}")


def measurement_plot(config: NasiconConfig, kind: str, record_id: int) -> Path | None:
    """The PNG written when a raw file of record ``record_id`` was analysed, if any."""
    folder = Path(config.data.reports_dir) / "measurements"
    if kind not in ("xrd", "conductivity") or not folder.is_dir():
        return None
    found = sorted(folder.glob(f"{kind}-{int(record_id)}-*.png"))
    return found[0] if found else None


# -- rounds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundView:
    """A round with its champion and model runs."""

    round: Any
    champion: Any
    runs: list[Any]


def rounds(registry: Registry) -> list[RoundView]:
    """Every round (newest first) with its champion and runs (best macro-F1 first)."""

    def read(uow: Any) -> list[RoundView]:
        out = []
        for r in reversed(uow.rounds.all()):
            runs = sorted(uow.model_runs.find(r.number),
                          key=lambda m: -(m.metrics.get("f1_macro") or 0.0))  # fmt: skip
            champion = next((m for m in runs if m.id == r.champion_run_id), None)
            out.append(RoundView(r, champion, runs))
        return out

    return registry.run(read, write=False)


def round_dict(view: RoundView) -> dict[str, Any]:
    """A round, JSON-ready."""
    r = view.round
    return {
        "number": r.number,
        "status": r.status,
        "flow_run_id": r.flow_run_id,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "champion": None if view.champion is None else view.champion.algorithm,
        "champion_run_id": r.champion_run_id,
        "n_new_labels": r.n_new_labels,
        "n_proposals": r.n_proposals,
        "leaderboard": [
            {"run_id": m.id, "model": m.algorithm, "is_champion": m.is_champion,
             "n_train": m.n_train,
             **{k: m.metrics.get(k) for k in METRIC_COLUMNS if k in m.metrics}}
            for m in view.runs
        ],
    }


def round_figures(config: NasiconConfig, number: int) -> list[str]:
    """The PNG names in the round's reports folder (ROC, reliability, the (t1, t2) map, ...)."""
    folder = Path(config.data.reports_dir) / f"round-{int(number)}"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.glob("*.png") if FIGURE_NAME.fullmatch(p.name))


def round_figure(config: NasiconConfig, number: int, name: str) -> Path:
    """One figure of a round's reports folder (NotFoundError for any other name)."""
    from registry.errors import NotFoundError

    if FIGURE_NAME.fullmatch(name) and name in round_figures(config, number):
        return Path(config.data.reports_dir) / f"round-{int(number)}" / name
    raise NotFoundError(f"round {number} has no figure {name[:80]!r}")


# -- campaign progress ----------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """One bench sample in the order it was made, its label and the hits so far."""

    number: int
    sample_id: str
    campaign: str
    formula: str
    label: int | None
    reason: str
    hits: int
    made_at: datetime


def progress(registry: Registry, impurity_threshold: float) -> list[Experiment]:
    """Bench samples with a synthesis or XRD record, oldest first, with the cumulative count
    of hits (samples labelled synthesizable)."""
    from experiments.labels import sample_labels

    def read(uow: Any) -> tuple[list[Any], list[Any]]:
        return uow.samples.all(), uow.outcomes.find(kinds=("synthesis", "xrd"))

    all_samples, snaps = registry.run(read, write=False)
    labels = sample_labels(snaps, impurity_threshold)
    bench = sorted((s for s in all_samples if s.source == "bench" and s.pk in labels),
                   key=lambda s: (s.created_at, s.pk))  # fmt: skip
    out, hits = [], 0
    for i, s in enumerate(bench, start=1):
        label = labels[s.pk][1]
        hits += label.value == 1
        out.append(Experiment(i, s.sample_id, s.campaign, s.formula, label.value, label.reason,
                              hits, s.created_at))  # fmt: skip
    return out


def discovery_png(experiments: list[Experiment]) -> bytes:
    """The discovery curve (hits against experiments) as PNG bytes, drawn now."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    xs = [0] + [e.number for e in experiments]
    ys = [0] + [e.hits for e in experiments]
    ax.step(xs, ys, where="post", color="tab:blue", label="hits (synthesizable)")
    ax.plot(xs, xs, ":", color="0.6", label="every experiment a hit")
    ax.set_xlabel("experiments (bench samples, in order made)")
    ax.set_ylabel("cumulative hits")
    ax.set_xlim(0, max(xs[-1], 1))
    ax.set_ylim(0, max(ys[-1], 1) * 1.1)
    ax.legend(loc="upper left")
    ax.set_title(f"discovery curve: {ys[-1]} hits in {xs[-1]} experiments")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()
