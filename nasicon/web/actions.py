"""Every write of the web page and the API, through :mod:`flows.services` (the functions
the CLI calls): one transaction each, the CLI's validation and its one-line errors, and
the logged-in user as ``recorded_by`` / ``who``.

The request models (:mod:`nasicon.web.api_models`) name the CLI's options; here they become
the same records the CLI builds.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop.errors import ValidationError

if TYPE_CHECKING:
    from experiments.measurements import Measurement
    from loop.settings import NasiconConfig
    from nasicon.web.api_models import (
        ConductivityFileIn,
        ConductivityIn,
        SynthesisIn,
        XRDFileIn,
        XRDIn,
    )
    from registry import ProposalRecord, Registry, WriteReport
    from registry.repositories import UserRecord

QUEUE_ACTIONS = ("claim", "release", "abandon", "reject")


def _needs_file(file_field: str, given: dict[str, bool]) -> None:
    stray = [name for name, on in given.items() if on]
    if stray:
        raise ValidationError(f"{', '.join(stray)}: only meaningful with {file_field} FILE")


def result_dict(result: Any, recorded_by: str) -> dict[str, Any]:
    """A stored record as the API answers it (the fields of ``nasicon record ... --json``)."""
    from experiments.measurement_store import json_ready

    rec, sample = result.record, result.sample
    kind = result.report.added[0][1] if result.report.added else rec.kind
    return json_ready({
        "kind": kind,
        "record_id": result.record_id,
        "sample_id": sample.sample_id,
        "campaign": sample.campaign,
        "formula": sample.formula,
        "label": result.label.to_dict(),
        "raw_path": getattr(rec, "raw_path", None),
        "raw_sha256": getattr(rec, "raw_sha256", None),
        "analysis_version": getattr(rec, "analysis_version", None),
        "values": {k: (v.isoformat() if isinstance(v, date) else v)
                   for k, v in rec.values().items()},
        "proposals_updated": [p.id for p in result.proposals_moved],
        "recorded_by": recorded_by,
    })  # fmt: skip


def _store(registry: Registry, config: NasiconConfig, record: Any, user: UserRecord) -> Any:
    from flows.services.record import record_outcome

    return record_outcome(
        registry, record, recorded_by=user.name,
        impurity_threshold=config.labels.impurity_threshold,
    )  # fmt: skip


def record_synthesis(
    registry: Registry, config: NasiconConfig, body: SynthesisIn, user: UserRecord
) -> Any:
    """``nasicon record synthesis``."""
    from experiments.records import SynthesisRecord
    from flows.services.record import sample_of

    formula = body.formula
    if body.supersedes is not None and formula is None:
        formula = sample_of(registry, body.sample, body.campaign).formula
    if formula is None:
        raise ValidationError("a new sample needs --formula")
    record = SynthesisRecord.create(
        body.sample, formula, body.succeeded, campaign=body.campaign, proposal_id=body.proposal,
        precursors=body.precursors, calcination_c=body.calcination_c,
        calcination_hours=body.calcination_h, sintering_c=body.sintering_c,
        sintering_hours=body.sintering_h, atmosphere=body.atmosphere, operator=body.operator,
        synthesized_on=body.date, notes=body.notes, supersedes_id=body.supersedes,
        reason=body.reason,
    )  # fmt: skip
    return _store(registry, config, record, user)


def record_xrd(registry: Registry, config: NasiconConfig, body: XRDIn, user: UserRecord) -> Any:
    """``nasicon record xrd`` with typed phases."""
    from experiments.records import XRDRecord, parse_phases

    record = XRDRecord.create(
        body.sample, phases=parse_phases(body.phase), phase_pure=body.phase_pure,
        impurity_threshold=config.labels.impurity_threshold, campaign=body.campaign,
        formula=body.formula, space_group=body.space_group, a_a=body.a, b_a=body.b, c_a=body.c,
        alpha_deg=body.alpha, beta_deg=body.beta, gamma_deg=body.gamma, rwp=body.rwp,
        notes=body.notes, supersedes_id=body.supersedes, reason=body.reason,
    )  # fmt: skip
    return _store(registry, config, record, user)


def record_conductivity(
    registry: Registry, config: NasiconConfig, body: ConductivityIn, user: UserRecord
) -> Any:
    """``nasicon record conductivity`` with typed values."""
    from experiments.records import ConductivityRecord

    record = ConductivityRecord.create(
        body.sample, sigma_total=body.total, sigma_bulk=body.bulk, sigma_gb=body.gb,
        unit=body.unit, temperature_c=body.temperature_c,
        temperature_k=body.temperature_k, ea_ev=body.ea, relative_density_pct=body.density_pct,
        ccd_ma_cm2=body.ccd, notes=body.notes, campaign=body.campaign, formula=body.formula,
        supersedes_id=body.supersedes, reason=body.reason,
    )  # fmt: skip
    return _store(registry, config, record, user)


def analyse_xrd(
    registry: Registry, config: NasiconConfig, body: XRDFileIn, pattern: Path
) -> Measurement:
    """``nasicon record xrd --pattern`` up to the analysis (nothing stored)."""
    from experiments.limits import xrd_limits
    from experiments.measurements import xrd_measurement
    from experiments.xrd import Criteria
    from flows.services.record import sample_of

    known = sample_of(registry, body.sample, body.campaign)  # an unknown sample stops here
    return xrd_measurement(
        body.sample, pattern, limits=xrd_limits(config.limits),
        wavelength_a=config.xrd.wavelength_a if body.wavelength is None else body.wavelength,
        impurity_threshold=config.xrd.impurity_threshold,
        criteria=Criteria.from_settings(config.xrd), reference_dir=config.xrd.reference_dir,
        composition=body.composition or known.formula, notes=body.notes, campaign=body.campaign,
        formula=body.formula, supersedes_id=body.supersedes, reason=body.reason,
    )  # fmt: skip


def analyse_conductivity(
    registry: Registry, config: NasiconConfig, body: ConductivityFileIn, spectrum: Path
) -> Measurement:
    """``nasicon record conductivity --eis`` up to the fit (nothing stored)."""
    from experiments.limits import eis_limits
    from experiments.measurements import conductivity_measurement
    from flows.services.record import sample_of

    sample_of(registry, body.sample, body.campaign)  # an unknown sample stops here
    return conductivity_measurement(
        body.sample, spectrum, limits=eis_limits(config.limits),
        thickness_mm=body.thickness_mm, area_cm2=body.area_cm2,
        temperature_c=body.temperature_c, temperature_k=body.temperature_k, notes=body.notes,
        ea_ev=body.ea, relative_density_pct=body.density_pct, ccd_ma_cm2=body.ccd,
        campaign=body.campaign, formula=body.formula, supersedes_id=body.supersedes,
        reason=body.reason,
    )  # fmt: skip


def store_measurement(
    registry: Registry, config: NasiconConfig, measurement: Measurement, user: UserRecord
) -> Any:
    """Keep the analysed raw file and store its record (one transaction), then write the
    plot under ``[data] reports_dir``."""
    from flows.services.record import record_measurement

    return record_measurement(
        registry, measurement, store_dir=config.data.raw_store, recorded_by=user.name,
        impurity_threshold=config.labels.impurity_threshold,
        reports_dir=config.data.reports_dir,
    )  # fmt: skip


def record_batch(
    registry: Registry, config: NasiconConfig, path: Path, user: UserRecord
) -> WriteReport:
    """``nasicon record batch``: every row stored, or none (BatchError lists each bad row)."""
    from experiments.batch import BatchLimits
    from flows.services.record import record_batch_file

    return record_batch_file(
        registry, path, recorded_by=user.name,
        impurity_threshold=config.labels.impurity_threshold,
        limits=BatchLimits(config.limits.max_batch_bytes, config.limits.max_batch_rows),
    )  # fmt: skip


def retract(registry: Registry, kind: str, record_id: int, reason: str, user: UserRecord) -> int:
    """``nasicon retract``: the id of the retraction record."""
    from flows.services.record import retract as retract_record

    if not reason.strip():
        raise ValidationError("a retraction needs --reason")
    return retract_record(registry, kind, record_id, reason=reason, recorded_by=user.name)  # type: ignore[arg-type]


def queue_action(
    registry: Registry,
    action: str,
    proposal_id: int,
    user: UserRecord,
    *,
    hours: float | None = None,
    reason: str | None = None,
) -> ProposalRecord:
    """``nasicon queue claim|release|abandon|reject`` as ``user``."""
    from flows.services import queue

    if action == "claim":
        return queue.claim(registry, proposal_id, user.name, hours)
    if action == "release":
        return queue.release(registry, proposal_id, user.name, force=user.may("admin"))
    if action not in ("abandon", "reject"):
        raise ValidationError(f"queue action {action!r} is not one of {', '.join(QUEUE_ACTIONS)}")
    if not reason or not reason.strip():
        raise ValidationError(f"{action} needs --reason")
    do = queue.abandon if action == "abandon" else queue.reject
    return do(registry, proposal_id, reason.strip(), user.name)
