"""The record forms: typed results, uploaded raw files (analysed, shown, then saved on
confirmation), batch CSV files, corrections and retractions. Lab members and admins only.

An error is the CLI's one line, shown next to the field it names (``--formula`` is the
``formula`` field) or above the form; nothing is stored.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from loop.errors import NasiconError
from nasicon.web import actions, uploads
from nasicon.web.api_models import RECORD_MODELS, form_values
from nasicon.web.context import render, web
from nasicon.web.errors import first_line, status_of, validation_message
from nasicon.web.security import form_checked, page_role, page_session

if TYPE_CHECKING:
    from registry.repositories import WebSession

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_session)])
lab = page_role("lab")

KINDS = ("synthesis", "xrd", "conductivity")
FILE_FIELD = {"xrd": "pattern", "conductivity": "eis"}
#: Words of an error message that point at a form field when no --option is named.
FIELD_WORDS = {
    "sample": "sample", "formula": "formula", "composition": "formula", "phase": "phase",
    "proposal": "proposal", "supersede": "supersedes", "correction": "supersedes",
    "temperature": "temperature_c", "date": "date", "unit": "unit", "pellet": "thickness_mm",
}  # fmt: skip


def error_field(message: str, names: list[str]) -> str | None:
    """The form field an error message is about (None: the form as a whole)."""
    low = message.lower()
    for name in sorted(names, key=len, reverse=True):
        if f"--{name.replace('_', '-')}" in low:
            return name
    for word, name in FIELD_WORDS.items():
        if word in low and name in names:
            return name
    return None


def _form_page(
    request: Request, kind: str, values: dict[str, Any], status: int = 200,
    error: str | None = None, mode: str = "typed",
) -> Response:  # fmt: skip
    names = [*RECORD_MODELS[kind][0].model_fields]
    if RECORD_MODELS[kind][1] is not None:
        names += [*RECORD_MODELS[kind][1].model_fields, FILE_FIELD[kind]]
    field = error_field(error, names) if error else None
    return render(
        request, f"record_{kind}.html", status_code=status, kind=kind, kinds=KINDS,
        values=values, error=error, error_field=field, mode=mode,
    )  # fmt: skip


def _validated(model: type[BaseModel], fields: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(form_values(fields, model))
    except PydanticError as exc:
        raise NasiconError(validation_message(exc, option_names=True)) from None


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    """Form values to show again (files dropped)."""
    return {k: v for k, v in fields.items() if isinstance(v, str | list)}


def _done(result: Any) -> Response:
    s = result.sample
    target = f"/samples/{quote(s.sample_id, safe='')}?campaign={quote(s.campaign, safe='')}"
    return RedirectResponse(target, status_code=303)


@router.get("/record")
def record_menu() -> Response:
    """The record forms start with synthesis."""
    return RedirectResponse("/record/synthesis", status_code=303)


@router.get("/record/batch")
def batch_form(request: Request, session: WebSession = Depends(lab)) -> Response:
    """Upload a batch CSV."""
    return render(request, "record_batch.html", kinds=KINDS, kind="batch")


@router.post("/record/batch")
async def batch_submit(request: Request, session: WebSession = Depends(lab)) -> Response:
    """Store every row of the CSV in one transaction, or list every bad row."""
    from experiments.batch import BatchError

    fields = await form_checked(request, session)
    ctx = web(request)
    folder = Path(ctx.config.web.upload_dir)
    try:
        upload = await uploads.save_upload(fields.get("file"), folder, ctx.config.web.max_upload_mb)
        try:
            report = await run_in_threadpool(
                actions.record_batch, ctx.registry, ctx.config, upload.path, session.user
            )
        finally:
            uploads.discard(upload)
    except BatchError as exc:
        return render(request, "record_batch.html", status_code=422, kinds=KINDS, kind="batch",
                      error=first_line(exc), problems=exc.problems)  # fmt: skip
    except NasiconError as exc:
        return render(request, "record_batch.html", status_code=status_of(exc), kinds=KINDS,
                      kind="batch", error=first_line(exc))  # fmt: skip
    return render(request, "record_batch.html", kinds=KINDS, kind="batch", report=report)


@router.get("/record/{kind}")
def record_form(request: Request, kind: str, session: WebSession = Depends(lab)) -> Response:
    """The form of one kind, pre-filled from the query (``?sample=S-1&supersedes=4``)."""
    from registry.errors import NotFoundError

    if kind not in KINDS:
        raise NotFoundError(f"there is no record form {kind[:20]!r}")
    values = {k: v for k, v in request.query_params.items() if k != "mode"}
    mode = "file" if request.query_params.get("mode") == "file" and kind != "synthesis" else "typed"
    return _form_page(request, kind, values, mode=mode)


@router.post("/record/{kind}")
async def record_submit(
    request: Request, kind: str, session: WebSession = Depends(lab)
) -> Response:
    """Store a typed record (or a correction of one)."""
    from registry.errors import NotFoundError

    if kind not in KINDS:
        raise NotFoundError(f"there is no record form {kind[:20]!r}")
    fields = await form_checked(request, session)
    ctx = web(request)
    do = {"synthesis": actions.record_synthesis, "xrd": actions.record_xrd,
          "conductivity": actions.record_conductivity}[kind]  # fmt: skip
    try:
        body = _validated(RECORD_MODELS[kind][0], fields)
        result = await run_in_threadpool(do, ctx.registry, ctx.config, body, session.user)
    except NasiconError as exc:
        return _form_page(request, kind, _shown(fields), status_of(exc), first_line(exc))
    return _done(result)


def _analyse(ctx: Any, kind: str, body: Any, path: Path) -> Any:
    analyse = actions.analyse_xrd if kind == "xrd" else actions.analyse_conductivity
    return analyse(ctx.registry, ctx.config, body, path)


def _plot_png(measurement: Any) -> str:
    """The analysis plot as a data: URL (PNG, base64)."""
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "preview.png"
        if measurement.kind == "xrd":
            from experiments.xrd.plot import plot_analysis

            plot_analysis(measurement.analysis, png, dpi=90)
        else:
            from experiments.impedance.plot import plot_nyquist_bode

            plot_nyquist_bode(measurement.fit, png)
        return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


@router.post("/record/{kind}/preview")
async def record_preview(
    request: Request, kind: str, session: WebSession = Depends(lab)
) -> Response:
    """Analyse an uploaded pattern or spectrum and show the fit and verdict; nothing stored."""
    from registry.errors import NotFoundError

    if kind not in FILE_FIELD:
        raise NotFoundError(f"there is no raw-file form {kind[:20]!r}")
    fields = await form_checked(request, session)
    ctx = web(request)
    file = fields.pop(FILE_FIELD[kind], None)
    shown = _shown(fields)
    try:
        body = _validated(RECORD_MODELS[kind][1], fields)  # type: ignore[arg-type]
        upload = await uploads.save_upload(
            file, Path(ctx.config.web.upload_dir), ctx.config.web.max_upload_mb
        )
        measurement = await run_in_threadpool(_analyse, ctx, kind, body, upload.path)
        plot = await run_in_threadpool(_plot_png, measurement)
    except NasiconError as exc:
        return _form_page(request, kind, shown, status_of(exc), first_line(exc), mode="file")
    return render(
        request, "preview.html", kind=kind, kinds=KINDS, m=measurement, plot=plot,
        summary=measurement.summary(), values=shown, upload=upload,
    )  # fmt: skip


@router.post("/record/{kind}/confirm")
async def record_confirm(
    request: Request, kind: str, session: WebSession = Depends(lab)
) -> Response:
    """Save the previewed raw file and its record (the file is analysed again from the
    kept copy, so what is stored is what the analysis of those bytes gives)."""
    from registry.errors import NotFoundError

    if kind not in FILE_FIELD:
        raise NotFoundError(f"there is no raw-file form {kind[:20]!r}")
    fields = await form_checked(request, session)
    ctx = web(request)
    sha, name = str(fields.pop("upload_sha256", "")), str(fields.pop("upload_name", ""))
    shown = _shown(fields)
    try:
        body = _validated(RECORD_MODELS[kind][1], fields)  # type: ignore[arg-type]
        upload = uploads.find_upload(Path(ctx.config.web.upload_dir), sha, name)
        measurement = await run_in_threadpool(_analyse, ctx, kind, body, upload.path)
        result = await run_in_threadpool(
            actions.store_measurement, ctx.registry, ctx.config, measurement, session.user
        )
    except NasiconError as exc:
        return _form_page(request, kind, shown, status_of(exc), first_line(exc), mode="file")
    uploads.discard(upload)
    return _done(result)


@router.post("/retract")
async def retract_submit(request: Request, session: WebSession = Depends(lab)) -> Response:
    """Withdraw a record (kept in the history) with a reason; back to the sample."""
    fields = await form_checked(request, session)
    ctx = web(request)
    sample, campaign = str(fields.get("sample") or ""), str(fields.get("campaign") or "")
    try:
        record_id = int(str(fields.get("record_id") or "0"))
        if not 1 <= record_id < 2**31:
            raise NasiconError("--record-id must be a positive record id")
        await run_in_threadpool(
            actions.retract, ctx.registry, str(fields.get("kind") or ""), record_id,
            str(fields.get("reason") or "").strip(), session.user,
        )  # fmt: skip
    except (NasiconError, ValueError) as exc:
        message = first_line(exc) if isinstance(exc, NasiconError) else "record id is not a number"
        from nasicon.web import views

        h = await run_in_threadpool(views.history, ctx.registry, sample, campaign or None)
        return render(request, "sample.html", status_code=422 if isinstance(exc, ValueError)
                      else status_of(exc), h=h, plots={}, error=message)  # fmt: skip
    target = f"/samples/{quote(sample, safe='')}?campaign={quote(campaign, safe='')}"
    return RedirectResponse(target, status_code=303)
