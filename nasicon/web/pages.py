"""The read pages (queue, samples, a sample's history, raw files, rounds, campaign progress)
and the queue's buttons (claim, release, abandon, reject). Every route needs a session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from loop.errors import NasiconError
from nasicon.web import actions, views
from nasicon.web.context import render, web
from nasicon.web.errors import first_line, status_of
from nasicon.web.security import form_checked, page_role, page_session

if TYPE_CHECKING:
    from registry.repositories import WebSession

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_session)])

#: Messages after a queue action (fixed texts: nothing from the URL is shown as is).
DONE = {
    "claim": "claimed proposal {id}",
    "release": "released proposal {id}",
    "abandon": "abandoned proposal {id}",
    "reject": "rejected proposal {id}",
}


def _queue(request: Request, everything: bool = False) -> dict[str, Any]:
    from flows.services.queue import list_proposals, statuses

    wanted = statuses(None, include_finished=everything)
    proposals = list_proposals(web(request).registry, wanted)
    return {
        "proposals": proposals,
        "models": views.model_names(proposals),
        "sigma": {p.id: views.predicted_sigma(p) for p in proposals},
        "any_sigma": any(views.predicted_sigma(p) is not None for p in proposals),
        "shown": views.has_objectives(proposals),
        "everything": everything,
    }


@router.get("/queue")
def queue_page(request: Request, all: int = 0, done: str = "", id: int = 0) -> Response:
    """Open proposals (``?all=1``: every one) with each model's probability and the lease."""
    notice = DONE[done].format(id=id) if done in DONE else None
    return render(request, "queue.html", notice=notice, **_queue(request, bool(all)))


@router.post("/queue/{proposal_id}/{action}")
async def queue_post(
    request: Request,
    proposal_id: int,
    action: str,
    session: WebSession = Depends(page_role("lab")),
) -> Response:
    """Claim, release, abandon or reject a proposal as the logged-in user."""
    fields = await form_checked(request, session)
    ctx = web(request)
    hours = str(fields.get("hours") or "").strip()
    try:
        if action not in actions.QUEUE_ACTIONS:
            raise NasiconError(f"queue action {action!r} is not one of "
                               f"{', '.join(actions.QUEUE_ACTIONS)}")  # fmt: skip
        try:
            claim_hours = float(hours) if hours else None
        except ValueError:
            raise NasiconError(f"--hours {hours[:40]!r} is not a number") from None
        await run_in_threadpool(
            actions.queue_action, ctx.registry, action, proposal_id, session.user,
            hours=claim_hours, reason=str(fields.get("reason") or ""),
        )  # fmt: skip
    except NasiconError as exc:
        values = await run_in_threadpool(_queue, request)
        return render(request, "queue.html", status_code=status_of(exc), error=first_line(exc),
                      error_id=proposal_id, **values)  # fmt: skip
    return RedirectResponse(f"/queue?done={action}&id={proposal_id}", status_code=303)


@router.get("/samples")
def samples_page(request: Request) -> Response:
    """Every sample, newest first."""
    return render(request, "samples.html", samples=views.samples(web(request).registry))


@router.get("/samples/{sample_id}")
def sample_page(request: Request, sample_id: str, campaign: str | None = None) -> Response:
    """A sample's whole history: records, corrections, retractions, raw files, plots."""
    ctx = web(request)
    h = views.history(ctx.registry, sample_id, campaign or None)
    plots = {
        (r.kind, r.id): views.measurement_plot(ctx.config, r.kind, r.id) is not None
        for r in h.records
    }
    return render(request, "sample.html", h=h, plots=plots)


@router.get("/raw/{sha256}")
def raw_download(request: Request, sha256: str) -> Response:
    """Download a stored raw file by its SHA-256."""
    ctx = web(request)
    path = views.raw_file(ctx.registry, ctx.config.data.raw_store, sha256)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")


@router.get("/plots/{kind}/{record_id}.png")
def measurement_plot(request: Request, kind: str, record_id: int) -> Response:
    """The analysis plot of a record stored from a raw file."""
    from registry.errors import NotFoundError

    path = views.measurement_plot(web(request).config, kind, record_id)
    if path is None:
        raise NotFoundError(f"no plot of {kind[:20]} record {record_id}")
    return FileResponse(path, media_type="image/png")


@router.get("/rounds")
def rounds_page(request: Request) -> Response:
    """Every round: status, champion, labels used, proposals made, Prefect flow run."""
    return render(request, "rounds.html", rounds=views.rounds(web(request).registry))


@router.get("/rounds/{number}")
def round_page(request: Request, number: int) -> Response:
    """One round: leaderboard, champion, figures, the proposals it made."""
    from registry.errors import NotFoundError

    ctx = web(request)
    found = [v for v in views.rounds(ctx.registry) if v.round.number == number]
    if not found:
        raise NotFoundError(f"there is no round {number}")
    from flows.services.queue import list_proposals

    proposals = list_proposals(ctx.registry, None, number)
    return render(
        request, "round.html", view=found[0], metrics=views.METRIC_COLUMNS,
        figures=views.round_figures(ctx.config, number), proposals=proposals,
    )  # fmt: skip


@router.get("/rounds/{number}/figures/{name}")
def round_figure(request: Request, number: int, name: str) -> Response:
    """A figure of the round's reports folder."""
    return FileResponse(views.round_figure(web(request).config, number, name),
                        media_type="image/png")  # fmt: skip


@router.get("/campaign")
def campaign_page(request: Request) -> Response:
    """Campaign progress: every bench experiment in order, its label and the hits so far."""
    ctx = web(request)
    exps = views.progress(ctx.registry, ctx.config.labels.impurity_threshold)
    return render(request, "campaign.html", experiments=exps)


@router.get("/campaign/discovery.png")
def discovery_png(request: Request) -> Response:
    """The discovery curve, drawn with matplotlib on request."""
    ctx = web(request)
    exps = views.progress(ctx.registry, ctx.config.labels.impurity_threshold)
    return Response(views.discovery_png(exps), media_type="image/png")
