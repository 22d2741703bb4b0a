"""The JSON API under ``/api/v1``: ``Authorization: Bearer TOKEN`` (``nasicon users token``).

Bodies take the fields the CLI options name; errors are ``{"error": "<the CLI's line>"}``
with a 4xx status (401 no valid token, 403 role, 404, 409, 413, 415, 422). XRD and
conductivity take JSON (typed values) or ``multipart/form-data`` with the raw file
(``pattern`` / ``eis``) analysed and stored at once. The schema is
``GET /api/v1/openapi.json`` (with a token).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from loop.errors import ValidationError
from nasicon.web import actions, uploads, views
from nasicon.web.api_models import (
    ClaimIn,
    ConductivityFileIn,
    ConductivityIn,
    ReasonIn,
    SynthesisIn,
    XRDFileIn,
    XRDIn,
)
from nasicon.web.context import web
from nasicon.web.errors import error_json, validation_message
from nasicon.web.security import api_role, api_user

if TYPE_CHECKING:
    from registry.repositories import UserRecord


class ErrorOut(BaseModel):
    """An error: the CLI's one line."""

    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in [(401, "no valid API token"), (403, "the role may not do this"),
                       (404, "not found"), (409, "conflicts with what is stored"),
                       (422, "refused input")]
}  # fmt: skip

router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS,
                   dependencies=[Depends(api_user)])  # fmt: skip
lab = api_role("lab")


def _user_dict(u: UserRecord) -> dict[str, Any]:
    return {"name": u.name, "role": u.role}


@router.get("/me", summary="The token's user and role.")
def me(user: UserRecord = Depends(api_user)) -> dict[str, Any]:
    return _user_dict(user)


@router.get("/queue", summary="Proposals: the open ones (all=true: every one).")
def queue(request: Request, all: bool = False) -> list[dict[str, Any]]:
    from flows.services.queue import list_proposals, statuses

    found = list_proposals(web(request).registry, statuses(None, include_finished=all))
    return [views.proposal_dict(p) for p in found]


def _queue(request: Request, action: str, proposal_id: int, user: UserRecord, **kw: Any) -> Any:
    if not 1 <= proposal_id < 2**31:
        raise ValidationError(f"proposal id {proposal_id} is out of range")
    p = actions.queue_action(web(request).registry, action, proposal_id, user, **kw)
    return views.proposal_dict(p)


@router.post("/queue/{proposal_id}/claim", summary="Claim a queued proposal (nasicon queue claim).")
def claim(
    request: Request, proposal_id: int, body: ClaimIn | None = Body(None),
    user: UserRecord = Depends(lab),
) -> dict[str, Any]:  # fmt: skip
    return _queue(request, "claim", proposal_id, user, hours=body.hours if body else None)


@router.post("/queue/{proposal_id}/release", summary="Put a claimed proposal back in the queue.")
def release(request: Request, proposal_id: int, user: UserRecord = Depends(lab)) -> dict[str, Any]:
    return _queue(request, "release", proposal_id, user)


@router.post("/queue/{proposal_id}/abandon", summary="Abandon a proposal, with a reason.")
def abandon(
    request: Request, proposal_id: int, body: ReasonIn, user: UserRecord = Depends(lab)
) -> dict[str, Any]:
    return _queue(request, "abandon", proposal_id, user, reason=body.reason)


@router.post("/queue/{proposal_id}/reject", summary="Reject a queued proposal, with a reason.")
def reject(
    request: Request, proposal_id: int, body: ReasonIn, user: UserRecord = Depends(lab)
) -> dict[str, Any]:
    return _queue(request, "reject", proposal_id, user, reason=body.reason)


def _created(result: Any, user: UserRecord) -> JSONResponse:
    return JSONResponse(actions.result_dict(result, user.name), status_code=201)


@router.post("/outcomes/synthesis", status_code=201,
             summary="Record a synthesis (nasicon record synthesis); creates the sample.")
def synthesis(request: Request, body: SynthesisIn, user: UserRecord = Depends(lab)) -> Any:
    ctx = web(request)
    return _created(actions.record_synthesis(ctx.registry, ctx.config, body, user), user)


def _body_schemas(typed: type[BaseModel], with_file: type[BaseModel], file: str) -> dict:
    multipart = with_file.model_json_schema()
    multipart["properties"][file] = {"type": "string", "format": "binary"}
    multipart["required"] = [*multipart.get("required", []), file]
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": typed.model_json_schema()},
        "multipart/form-data": {"schema": multipart},
    }}}  # fmt: skip


async def _record_either(
    request: Request, kind: str, user: UserRecord, typed: type[BaseModel],
    with_file: type[BaseModel], file_field: str,
) -> JSONResponse:  # fmt: skip
    ctx = web(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        fields = {k: v for k, v in form.multi_items()}
        file = fields.pop(file_field, None)
        if not hasattr(file, "filename"):
            raise ValidationError(f"--{file_field}: send the raw file as the form field "
                                  f"{file_field!r}")  # fmt: skip
        body = _validate(with_file, {k: v for k, v in fields.items() if v != ""})
        upload = await uploads.save_upload(
            file, Path(ctx.config.web.upload_dir), ctx.config.web.max_upload_mb
        )
        try:
            analyse = actions.analyse_xrd if kind == "xrd" else actions.analyse_conductivity
            m = await run_in_threadpool(analyse, ctx.registry, ctx.config, body, upload.path)
            result = await run_in_threadpool(
                actions.store_measurement, ctx.registry, ctx.config, m, user
            )
        finally:
            uploads.discard(upload)
        out = actions.result_dict(result, user.name)
        out["analysis"] = _json_ready(m.summary())
        return JSONResponse(out, status_code=201)
    if ctype not in ("application/json", ""):
        return error_json(f"send application/json or multipart/form-data, not {ctype[:60]}", 415)
    try:
        raw = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("the request body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ValidationError("the request body must be a JSON object")
    body = _validate(typed, raw)
    do = actions.record_xrd if kind == "xrd" else actions.record_conductivity
    result = await run_in_threadpool(do, ctx.registry, ctx.config, body, user)
    return _created(result, user)


def _validate(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        raise ValidationError(validation_message(exc)) from None


def _json_ready(value: Any) -> Any:
    from experiments.measurement_store import json_ready

    return json_ready(value)


@router.post(
    "/outcomes/xrd", status_code=201, openapi_extra=_body_schemas(XRDIn, XRDFileIn, "pattern"),
    summary="Record a powder XRD result: typed phases (JSON) or a pattern file analysed now "
    "(multipart, field 'pattern').",
)
async def xrd(request: Request, user: UserRecord = Depends(lab)) -> JSONResponse:
    return await _record_either(request, "xrd", user, XRDIn, XRDFileIn, "pattern")


@router.post("/outcomes/conductivity", status_code=201,
             openapi_extra=_body_schemas(ConductivityIn, ConductivityFileIn, "eis"),
             summary="Record an ionic conductivity: typed (JSON) or an impedance spectrum fitted "
             "now (multipart, field 'eis').")  # fmt: skip
async def conductivity(request: Request, user: UserRecord = Depends(lab)) -> JSONResponse:
    return await _record_either(request, "conductivity", user, ConductivityIn,
                                ConductivityFileIn, "eis")  # fmt: skip


@router.post("/outcomes/{kind}/{record_id}/retract", status_code=201,
             summary="Withdraw a record (kept in the history), with a reason.")
def retract(
    request: Request, kind: str, record_id: int, body: ReasonIn, user: UserRecord = Depends(lab)
) -> dict[str, Any]:
    if not 1 <= record_id < 2**31:
        raise ValidationError(f"record id {record_id} is out of range")
    rid = actions.retract(web(request).registry, kind, record_id, body.reason, user)
    return {"kind": kind, "record_id": record_id, "retraction_id": rid}


@router.get("/samples/{sample_id}", summary="A sample's whole history (nasicon history).")
def sample(request: Request, sample_id: str, campaign: str | None = None) -> dict[str, Any]:
    from nasicon.web.api_models import _clean

    try:
        _clean(sample_id), _clean(campaign or "")
    except ValueError as exc:
        raise ValidationError(f"sample: {exc}") from None
    return views.history_dict(views.history(web(request).registry, sample_id, campaign or None))


@router.get("/rounds", summary="Every round with its champion and leaderboard.")
def rounds(request: Request) -> list[dict[str, Any]]:
    return [views.round_dict(v) for v in views.rounds(web(request).registry)]
