"""``nasicon export`` and ``nasicon history``: what the registry holds, as CSV or as the
trail of one sample.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.options import AsJson, SampleCampaign
from nasicon.cli.output import Table
from nasicon.cli.output import write_csv as _write_csv

console = Console(soft_wrap=True)


def export(
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="CSV file to write ('-' for stdout)."),
    history: bool = typer.Option(
        False, "--history", help="Also superseded, retracted and retraction rows."
    ),
    descriptors: bool = typer.Option(False, "--descriptors", help="Add every cached descriptor."),
    training: bool = typer.Option(
        False, "--training", help="Write the training data (DFT + experimental labels) instead."
    ),
) -> None:
    """Write every outcome joined with its composition and label to CSV."""
    from experiments.export import outcomes_frame
    from experiments.training_data import training_frame

    cfg = _config(ctx)
    with _registry(ctx) as registry:
        if training:
            frame = training_frame(
                registry, experimental_weight=cfg.labels.experimental_weight,
                ehull_threshold_mev=cfg.labels.ehull_threshold_mev,
                impurity_threshold=cfg.labels.impurity_threshold,
            )  # fmt: skip
        else:
            frame = outcomes_frame(
                registry, include_history=history, descriptors=descriptors,
                impurity_threshold=cfg.labels.impurity_threshold,
            )  # fmt: skip
    _write_csv(frame, output)
    if str(output) != "-":
        what = "training rows" if training else "outcome records"
        console.print(f"wrote {len(frame)} {what} to {output}", highlight=False)


def _summary(kind: str, values: dict[str, Any]) -> str:
    if kind == "synthesis":
        parts = ["succeeded" if values.get("succeeded") else "FAILED"]
        for key, label in (
            ("calcination_temperature_k", "calc"),
            ("sintering_temperature_k", "sinter"),
        ):
            if values.get(key) is not None:
                parts.append(f"{label} {values[key] - 273.15:g} C")
        return ", ".join(parts)
    if kind == "xrd":
        phases = values.get("phases") or []
        text = ";".join(
            p["name"] + ("" if p.get("weight_fraction") is None else f"={p['weight_fraction']:g}")
            for p in phases
        )
        verdict = values.get("verdict") or (
            "phase pure" if values.get("phase_pure") else "not pure"
        )
        return verdict + (f" [{text}]" if text else "")
    parts = [
        f"{name} {values[key]:.3g} S/cm"
        for key, name in (
            ("sigma_total_s_cm", "total"),
            ("sigma_bulk_s_cm", "bulk"),
            ("sigma_gb_s_cm", "gb"),
        )
        if values.get(key) is not None
    ]
    if values.get("temperature_k") is not None:
        parts.append(f"at {values['temperature_k']:g} K")
    return ", ".join(parts)


def history(
    ctx: typer.Context,
    sample: str = typer.Argument(..., help="Sample id."),
    campaign: SampleCampaign = None,
    as_json: AsJson = False,
) -> None:
    """The whole trail of a sample: every record, correction and retraction, and its proposal."""
    with _registry(ctx) as registry:
        h = registry.run(lambda uow: uow.samples.history(sample, campaign), write=False)
    if as_json:
        payload = {
            "sample": {**h.sample.__dict__, "created_at": h.sample.created_at.isoformat()},
            "records": [
                {
                    "kind": r.kind,
                    "id": r.id,
                    "status": r.status,
                    "values": dict(r.values),
                    "supersedes_id": r.supersedes_id,
                    "superseded_by": r.superseded_by,
                    "reason": r.reason,
                    "recorded_by": r.recorded_by,
                    "recorded_at": r.recorded_at.isoformat(),
                }
                for r in h.records
            ],
            "proposal_events": [
                {
                    "from": e.from_status,
                    "to": e.to_status,
                    "who": e.who,
                    "reason": e.reason,
                    "at": e.at.isoformat(),
                }
                for e in h.proposal_events
            ],
        }
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    s = h.sample
    console.print(
        f"sample {s.sample_id} ({s.campaign}): {s.formula}, source {s.source}, "
        f"created {s.created_at:%Y-%m-%d %H:%M} UTC by {s.created_by}",
        highlight=False,
    )
    table = Table(title=f"history of {s.sample_id}")
    for col in ("when (UTC)", "kind", "id", "status", "what", "by", "reason"):
        table.add_column(col)
    for r in h.records:
        status = r.status + (f" by {r.superseded_by}" if r.superseded_by else "")
        what = (
            f"retracts {r.supersedes_id}" if r.is_retraction else _summary(r.kind, dict(r.values))
        )
        if r.supersedes_id and not r.is_retraction:
            what = f"corrects {r.supersedes_id}: {what}"
        table.add_row(
            f"{r.recorded_at:%Y-%m-%d %H:%M}", r.kind, str(r.id), status, what, r.recorded_by,
            r.reason or "",
        )  # fmt: skip
    console.print(table)
    if h.proposal is not None:
        console.print(
            f"proposal {h.proposal.id} (round {h.proposal.round_number}, {h.proposal.strategy}): "
            f"{h.proposal.status.value}",
            highlight=False,
        )
        for e in h.proposal_events:
            console.print(
                f"  {e.at:%Y-%m-%d %H:%M} {e.from_status or '-'} -> {e.to_status} by {e.who}"
                + (f" ({e.reason})" if e.reason else ""),
                highlight=False,
            )


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``history`` to ``app``."""
    app.command("export")(export)
    app.command("history")(history)
