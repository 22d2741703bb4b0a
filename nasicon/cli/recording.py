"""Storing outcome records and reporting what was stored: the shared work of the
``nasicon record ...`` commands (typed numbers, or numbers analysed from a raw file).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.context import who as _who
from nasicon.cli.output import Table, err_console, fit_parameter_table

if TYPE_CHECKING:  # the analyses (pymatgen, scipy) are imported when a raw file is given
    from experiments.measurements import ConductivityMeasurement, Measurement, XRDMeasurement
    from experiments.records import OutcomeRecord
    from flows.services.record import RecordResult
    from registry import Registry, SampleRecord

console = Console(soft_wrap=True)


def stored_sample(registry: Registry, sample_id: str, campaign: str | None) -> SampleRecord:
    """The stored sample (NotFoundError names the command that creates it)."""
    from flows.services.record import sample_of

    return sample_of(registry, sample_id, campaign)


def store_outcome(ctx: typer.Context, record: OutcomeRecord, by: str | None) -> RecordResult:
    """Store ``record`` in one transaction (the record service); what was committed."""
    from flows.services.record import record_outcome

    with _registry(ctx) as registry:
        return record_outcome(
            registry, record, recorded_by=_who(by),
            impurity_threshold=_config(ctx).labels.impurity_threshold,
        )  # fmt: skip


def print_stored(result: RecordResult) -> None:
    """One line per stored record (with the sample's label) and per proposal moved on."""
    sample, record = result.sample, result.record
    for _, kind, row_id in result.report.added:
        what = "correction" if record.supersedes_id else "record"
        console.print(
            f"stored {kind} {what} {row_id} for sample {sample.sample_id} ({sample.formula}); "
            f"label: {result.label.text}",
            highlight=False,
        )
    for p in result.proposals_moved:
        console.print(f"proposal {p.id} is now {p.status.value}", highlight=False)


def print_record_json(result: RecordResult, extra: dict[str, Any]) -> None:
    """The stored record as JSON on stdout: ids, label, raw file and the derived numbers."""
    from experiments.measurement_store import json_ready

    (_, kind, row_id), *_ = result.report.added
    sample, record, report = result.sample, result.record, result.report
    payload = {
        "kind": kind,
        "record_id": row_id,
        "sample_id": sample.sample_id,
        "campaign": sample.campaign,
        "formula": sample.formula,
        "label": result.label.to_dict(),
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
    from experiments.measurements import XRDMeasurement
    from flows.services.record import record_measurement

    cfg = _config(ctx)
    stored = record_measurement(
        registry, measurement, store_dir=cfg.data.raw_store, recorded_by=_who(by),
        impurity_threshold=cfg.labels.impurity_threshold, reports_dir=cfg.data.reports_dir,
    )  # fmt: skip
    report_files = stored.report_files or {"plot": None, "report": None}
    if stored.report_error is not None:  # the record is stored; say so, do not fail
        err_console.print(
            f"warning: record {stored.record_id} is stored, but its plot was not written: "
            f"{stored.report_error}",
            highlight=False,
            markup=False,
        )
    record = stored.record
    if as_json:
        print_record_json(stored, {**measurement.summary(), **report_files})
        return
    print_stored(stored)
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
