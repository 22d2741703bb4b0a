"""``nasicon queue list|claim|release|abandon|reject``: the proposal queue.

Claims lapse after ``queue.claim_hours``; a lapsed claim returns the proposal to the queue.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from nasicon.cli.context import open_registry as _registry
from nasicon.cli.context import who as _who
from nasicon.cli.options import AsJson, By, OnlyRound
from nasicon.cli.output import Table

if TYPE_CHECKING:
    from registry import ProposalRecord

console = Console(soft_wrap=True)

queue_app = typer.Typer(help="The proposal queue.", no_args_is_help=True)

ProposalId = Annotated[int, typer.Argument(help="Proposal id.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept with the proposal).")]


def _proposal_dict(p: ProposalRecord) -> dict[str, Any]:
    return {
        "id": p.id, "round": p.round_number, "formula": p.formula, "status": p.status.value,
        "strategy": p.strategy, "acquisition_score": p.acquisition_score,
        "probabilities": dict(p.probabilities), "reason": p.reason,
        "status_reason": p.status_reason, "claimed_by": p.claimed_by,
        "claim_expires_at": None if p.claim_expires_at is None else p.claim_expires_at.isoformat(),
        "model_run_id": p.model_run_id,
    }  # fmt: skip


@queue_app.command("list")
def queue_list(
    ctx: typer.Context,
    status: list[str] = typer.Option(None, "--status", help="Only these statuses (repeat)."),
    all_: bool = typer.Option(
        False, "--all", help="Include finished proposals (default: open only)."
    ),
    round_number: OnlyRound = None,
    as_json: AsJson = False,
) -> None:
    """List proposals (open ones by default); lapsed claims return to the queue first."""
    from flows.services import queue

    wanted = queue.statuses(status, include_finished=all_)
    with _registry(ctx) as registry:
        rows = queue.list_proposals(registry, wanted, round_number)
    if as_json:
        typer.echo(json.dumps([_proposal_dict(p) for p in rows], indent=2))
        return
    table = Table(title=f"proposals ({len(rows)})")
    for col in ("id", "round", "formula", "status", "score", "strategy", "claimed by", "reason"):
        table.add_column(col)
    for p in rows:
        table.add_row(
            str(p.id), "" if p.round_number is None else str(p.round_number), p.formula,
            p.status.value, "" if p.acquisition_score is None else f"{p.acquisition_score:.3g}",
            p.strategy, p.claimed_by or "", p.status_reason or p.reason or "",
        )  # fmt: skip
    console.print(table)


@queue_app.command("claim")
def queue_claim(
    ctx: typer.Context,
    proposal_id: ProposalId,
    hours: float | None = typer.Option(
        None, help="How long the claim holds, h (default: config queue.claim_hours)."
    ),
    by: By = None,
) -> None:
    """Claim a queued proposal (it returns to the queue if the claim lapses)."""
    from flows.services import queue

    with _registry(ctx) as registry:
        p = queue.claim(registry, proposal_id, _who(by), hours)
    console.print(
        f"proposal {p.id} ({p.formula}) claimed by {p.claimed_by} until "
        f"{p.claim_expires_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )


@queue_app.command("release")
def queue_release(
    ctx: typer.Context,
    proposal_id: ProposalId,
    by: By = None,
    force: bool = typer.Option(
        False, "--force", help="Release someone else's claim (recorded in the history)."
    ),
) -> None:
    """Put your claimed proposal back in the queue (another's only with --force)."""
    from flows.services import queue

    with _registry(ctx) as registry:
        p = queue.release(registry, proposal_id, _who(by), force=force)
    console.print(f"proposal {p.id} ({p.formula}) is queued again", highlight=False)


@queue_app.command("abandon")
def queue_abandon(
    ctx: typer.Context,
    proposal_id: ProposalId,
    reason: Reason,
    by: By = None,
) -> None:
    """Abandon a proposal. (A failed synthesis is an outcome: record it, do not abandon.)"""
    from flows.services import queue

    with _registry(ctx) as registry:
        p = queue.abandon(registry, proposal_id, reason, _who(by))
    console.print(f"proposal {p.id} ({p.formula}) abandoned: {p.status_reason}", highlight=False)


@queue_app.command("reject")
def queue_reject(
    ctx: typer.Context,
    proposal_id: ProposalId,
    reason: Reason,
    by: By = None,
) -> None:
    """Reject a queued proposal before anyone makes it."""
    from flows.services import queue

    with _registry(ctx) as registry:
        p = queue.reject(registry, proposal_id, reason, _who(by))
    console.print(f"proposal {p.id} ({p.formula}) rejected: {p.status_reason}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``queue`` group to ``app``."""
    app.add_typer(queue_app, name="queue")
