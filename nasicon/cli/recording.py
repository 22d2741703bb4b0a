"""Storing outcome records and reporting what was stored: the shared work of the
``nasicon record ...`` commands (typed numbers, or numbers analysed from a raw file).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from loop.errors import NasiconError
from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.context import who as _who
from nasicon.cli.output import err_console, fit_parameter_table

if TYPE_CHECKING:  # the analyses (pymatgen, scipy) are imported when a raw file is given
    from experiments.measurements import ConductivityMeasurement, Measurement, XRDMeasurement
    from experiments.records import OutcomeRecord
    from registry import Registry, SampleRecord, UnitOfWork

console = Console(soft_wrap=True)


def stored_sample(registry: Registry, sample_id: str, campaign: str | None) -> SampleRecord:
    """The stored sample (NotFoundError names the command that creates it)."""
    return registry.run(lambda uow: uow.samples.get(sample_id, campaign), write=False)


def store_outcomes(
    ctx: typer.Context, records: list[OutcomeRecord], by: str | None
) -> tuple[Registry, Any]:
    """Store ``records`` in one transaction; the open registry and the write report."""
    from experiments.records import store_records
    from registry import RecordErrors

    registry = _registry(ctx)
    try:
        report = store_records(registry, records, recorded_by=_who(by))
    except RecordErrors:
        registry.close()
        raise
    return registry, report


def _label(uow: UnitOfWork, sample_pk: int, threshold: float) -> Any:
    """The sample's label from its synthesis and XRD records (None: no such record)."""
    from experiments.labels import sample_labels

    snaps = uow.outcomes.find(kinds=("synthesis", "xrd"), sample_pks=[sample_pk])
    labels = sample_labels(snaps, threshold)
    return labels[sample_pk][1] if sample_pk in labels else None


def _label_text(uow: UnitOfWork, sample_pk: int, threshold: float) -> str:
    label = _label(uow, sample_pk, threshold)
    if label is None:
        return "no label"
    verdict = {1: "synthesizable", 0: "not synthesizable", None: "no label yet"}[label.value]
    return f"{verdict} ({label.reason})"


def print_stored(
    ctx: typer.Context, registry: Registry, report: Any, record: OutcomeRecord
) -> None:
    """One line per stored record (with the sample's label) and per proposal moved on."""
    threshold = _config(ctx).labels.impurity_threshold
    with registry.unit_of_work(write=False) as uow:
        sample = uow.samples.get(record.sample_id, record.campaign)
        label = _label_text(uow, sample.pk, threshold)
        moved = [uow.proposals.get(pid) for pid in report.proposals_updated]
    for _, kind, row_id in report.added:
        what = "correction" if record.supersedes_id else "record"
        console.print(
            f"stored {kind} {what} {row_id} for sample {sample.sample_id} ({sample.formula}); "
            f"label: {label}",
            highlight=False,
        )
    for p in moved:
        console.print(f"proposal {p.id} is now {p.status.value}", highlight=False)


def _stored_label(uow: UnitOfWork, sample_pk: int, threshold: float) -> dict[str, Any]:
    label = _label(uow, sample_pk, threshold)
    if label is None:
        return {"value": None, "reason": "no label"}
    return {"value": label.value, "reason": label.reason}


def print_record_json(
    ctx: typer.Context, registry: Registry, report: Any, record: Any, extra: dict[str, Any]
) -> None:
    """The stored record as JSON on stdout: ids, label, raw file and the derived numbers."""
    from experiments.measurements import json_ready

    (_, kind, row_id), *_ = report.added
    with registry.unit_of_work(write=False) as uow:
        sample = uow.samples.get(record.sample_id, record.campaign)
        label = _stored_label(uow, sample.pk, _config(ctx).labels.impurity_threshold)
    payload = {
        "kind": kind,
        "record_id": row_id,
        "sample_id": sample.sample_id,
        "campaign": sample.campaign,
        "formula": sample.formula,
        "label": label,
        "raw_path": record.raw_path,
        "raw_sha256": record.raw_sha256,
        "analysis_version": record.analysis_version,
        "values": record.values(),
        **extra,
        "proposals_updated": list(report.proposals_updated),
    }
    typer.echo(json.dumps(json_ready(payload), indent=2, default=str))


def store_and_print_measurement(
    ctx: typer.Context, registry: Registry, measurement: Measurement, by: str | None, as_json: bool
) -> None:
    """Store raw file + record (one transaction), write the PNG/JSON report, print the numbers."""
    from experiments.measurements import (
        XRDMeasurement,
        store_measurement,
        write_measurement_report,
    )

    cfg = _config(ctx)
    stored = store_measurement(
        registry, measurement, store_dir=cfg.data.raw_store, recorded_by=_who(by)
    )
    report_files: dict[str, str | None] = {"plot": None, "report": None}
    try:
        png, js = write_measurement_report(measurement, stored, cfg.data.reports_dir)
        report_files = {"plot": str(png), "report": str(js)}
    except (NasiconError, OSError) as exc:  # the record is stored; say so, do not fail
        err_console.print(
            f"warning: record {stored.record_id} is stored, but its plot was not written: {exc}",
            highlight=False,
            markup=False,
        )
    record = stored.record
    if as_json:
        print_record_json(
            ctx, registry, stored.report, record, {**measurement.summary(), **report_files}
        )
        return
    print_stored(ctx, registry, stored.report, record)
    if isinstance(measurement, XRDMeasurement):
        _print_xrd(measurement)
    else:
        _print_conductivity(measurement)
    console.print(
        f"raw file kept as {record.raw_path} (sha256 {record.raw_sha256}); "
        f"analysis {record.analysis_version}",
        highlight=False,
    )
    if report_files["plot"]:
        console.print(f"plot: {report_files['plot']}; numbers: {report_files['report']}",
                      highlight=False)  # fmt: skip


def _print_xrd(m: XRDMeasurement) -> None:
    a = m.analysis
    verdict = {"phase_pure": "phase pure", "impure": "NOT phase pure"}.get(a.verdict, a.verdict)
    console.print(f"{m.raw_file.name}: {verdict} ({a.reason})", highlight=False)
    if not a.phases:
        return
    table = Table(title=f"{m.raw_file.name}: phases")
    table.add_column("phase")
    table.add_column("wt%", justify="right")
    table.add_column("± wt%", justify="right")
    for name, wf in a.phases:
        sd = a.weight_fraction_sd.get(name, float("nan"))
        table.add_row(name, f"{100 * wf:.2f}", f"{100 * sd:.2f}")
    console.print(table)
    cell = ""
    if m.record.a_a is not None:
        cell = f"; NASICON a = {m.record.a_a:.4f} A, c = {m.record.c_a:.4f} A"
    fit = "" if a.rwp is None else f"R_wp {a.rwp:.2f} % (R_exp {a.r_exp:.2f} %), "
    shift = "" if a.zero_shift is None else f"zero shift {a.zero_shift:+.4f} deg, "
    console.print(
        f"{fit}{shift}threshold {100 * a.impurity_threshold:g} wt%{cell}", highlight=False
    )


def _print_conductivity(m: ConductivityMeasurement) -> None:
    fit, rec = m.fit, m.record
    console.print(fit_parameter_table(f"{m.raw_file.name}: {fit.circuit}", fit.parameters))
    gb = "" if rec.sigma_gb_s_cm is None else f", grain boundary {rec.sigma_gb_s_cm:.3e}"
    console.print(
        f"sigma total {rec.sigma_total_s_cm:.3e}, bulk {rec.sigma_bulk_s_cm:.3e}{gb} S/cm "
        f"at {rec.temperature_k:g} K (R_total {fit.r_total.value:.4g} ohm, RMS residual "
        f"{100 * fit.residual_rms:.2f} % of |Z|)",
        highlight=False,
    )
    for note in fit.notes:
        console.print(f"note: {note}", highlight=False)
