"""Registry commands: init / db, import, record, retract, export, queue, history, campaign.

The database is ``--db`` / ``NASICON_DB`` (default ``sqlite:///nasicon.db`` in the working
directory). Every write is one transaction: a refused input stores nothing.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from experiments.batch import BatchError
from experiments.export import outcomes_frame
from experiments.importers.dft import import_dft
from experiments.importers.literature import LiteratureError, import_literature
from experiments.records import (
    ConductivityRecord,
    OutcomeRecord,
    SynthesisRecord,
    XRDRecord,
    parse_phases,
    with_raw_file,
)
from experiments.training_data import training_frame
from flows.services import queue
from flows.services.record import (
    RecordResult,
    record_batch_file,
    record_measurement,
    record_outcome,
    sample_of,
)
from flows.services.record import retract as retract_record
from loop.errors import ValidationError
from loop.settings import NasiconConfig
from nasicon.cli.context import state
from nasicon.cli.output import fit_parameter_table, write_csv_atomically
from registry import (
    ProposalRecord,
    Registry,
    SampleRecord,
    migrations,
)
from registry.engine import display_url

if TYPE_CHECKING:  # the analyses (pymatgen, scipy) are imported when a raw file is given
    from experiments.measurements import ConductivityMeasurement, Measurement, XRDMeasurement

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

db_app = typer.Typer(help="Registry database schema (alembic migrations).", no_args_is_help=True)
import_app = typer.Typer(help="Import published data into the registry.", no_args_is_help=True)
record_app = typer.Typer(help="Record outcomes from the bench.", no_args_is_help=True)
queue_app = typer.Typer(help="The proposal queue.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns (groups of samples).", no_args_is_help=True)

BY_HELP = "Who does this (default: your login name)."


def _config(ctx: typer.Context) -> NasiconConfig:
    return state(ctx).config()


def _registry(ctx: typer.Context, check_schema: bool = True) -> Registry:
    return Registry.from_config(_config(ctx), check_schema=check_schema)


def _sample(registry: Registry, sample_id: str, campaign: str | None) -> SampleRecord:
    """The stored sample (NotFoundError names the command that creates it)."""
    return sample_of(registry, sample_id, campaign)


def _who(by: str | None) -> str:
    return (by or "").strip() or getpass.getuser()


def _problems(lines: list[tuple[Any, str]], prefix: str) -> None:
    for where, why in lines:
        err_console.print(f"{prefix} {where}: {why}", highlight=False, markup=False)


def _store(ctx: typer.Context, record: OutcomeRecord, by: str | None) -> RecordResult:
    with _registry(ctx) as registry:
        return record_outcome(
            registry, record, recorded_by=_who(by),
            impurity_threshold=_config(ctx).labels.impurity_threshold,
        )  # fmt: skip


def _report_stored(result: RecordResult) -> None:
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


# -- init and db ------------------------------------------------------------------------------


def init(ctx: typer.Context) -> None:
    """Create the registry database (or bring its schema up to date) and the default campaign."""
    cfg = _config(ctx)
    registry = _registry(ctx, check_schema=False)
    with registry:
        revision = registry.init_schema()
    console.print(
        f"registry ready at {display_url(cfg.database.url)} (schema revision {revision})",
        highlight=False,
    )


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the registry database to the newest schema (optuna's tables are left alone)."""
    with _registry(ctx, check_schema=False) as registry:
        before = registry.schema_revision()
        after = registry.init_schema()
    if before == after:
        console.print(f"schema already at revision {after}; nothing to do", highlight=False)
    else:
        console.print(
            f"schema upgraded from {before or 'empty'} to revision {after}", highlight=False
        )


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's schema revision and the newest one this nasicon knows."""
    with _registry(ctx, check_schema=False) as registry:
        current = registry.schema_revision()
    head = migrations.head_revision()
    note = (
        "up to date"
        if current == head
        else f"behind; run: {migrations.upgrade_command(_config(ctx).database.url)}"
    )
    console.print(f"schema revision {current or 'none'} (newest {head}): {note}", highlight=False)


# -- campaigns -----------------------------------------------------------------------------------


@campaign_app.command("add")
def campaign_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Campaign name."),
    description: str | None = typer.Option(None, help="What the campaign is for."),
) -> None:
    """Create a campaign (sample ids are unique within a campaign)."""
    if not name.strip():
        raise ValidationError("a campaign needs a name")
    with _registry(ctx) as registry:
        cid = registry.run(lambda uow: uow.campaigns.ensure(name.strip(), description))
    console.print(f"campaign {name.strip()!r} (id {cid})", highlight=False)


@campaign_app.command("list")
def campaign_list(ctx: typer.Context) -> None:
    """List the campaigns."""
    with _registry(ctx) as registry:
        rows = registry.run(lambda uow: uow.campaigns.all(), write=False)
    table = Table(title="campaigns")
    for col in ("id", "name", "description", "created"):
        table.add_column(col)
    for c in rows:
        table.add_row(str(c.id), c.name, c.description or "", f"{c.created_at:%Y-%m-%d}")
    console.print(table)


# -- imports -------------------------------------------------------------------------------------


@import_app.command("dft")
def import_dft_command(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None,
        help="Folder of train.csv/test.csv (default: config data.dft_path / NASICON_DFT_DATA).",
    ),
) -> None:
    """Import the 3881-composition DFT data set (Ouyang et al. 2021) as computed records."""
    folder = path or _config(ctx).data.dft_path
    with _registry(ctx) as registry:
        with console.status(f"importing the DFT data set from {folder} ..."):
            report = import_dft(registry, folder)
    console.print(report.summary(), highlight=False)


@import_app.command("literature")
def import_literature_command(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="Literature CSV (default: config data.literature_path)."
    ),
    campaign: str | None = typer.Option(None, help="Campaign (default: the file's name)."),
    citation: str | None = typer.Option(None, help="Citation of the source."),
) -> None:
    """Import published synthesis outcomes (synthesis, XRD and conductivity records)."""
    file = path or _config(ctx).data.literature_path
    with _registry(ctx) as registry:
        try:
            report = import_literature(registry, file, campaign=campaign, citation=citation)
        except LiteratureError as exc:
            _problems(exc.problems, "line")
            raise
    console.print(report.summary(), highlight=False)


# -- recording -----------------------------------------------------------------------------------


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--date {text!r} is not a date (YYYY-MM-DD)") from None


@record_app.command("synthesis")
def record_synthesis(
    ctx: typer.Context,
    sample: str = typer.Option(..., "--sample", help="Sample id (unique in its campaign)."),
    succeeded: bool = typer.Option(
        ...,
        "--succeeded/--failed",
        help="Did the synthesis give a product? (--failed = negative label)",
    ),
    formula: str | None = typer.Option(
        None, help="Composition as made (required for a new sample)."
    ),
    campaign: str | None = typer.Option(None, help="Campaign (default 'default')."),
    proposal: int | None = typer.Option(
        None, help="Queue proposal this sample answers (found automatically otherwise)."
    ),
    precursors: str | None = typer.Option(None, help="Precursors, free text."),
    calcination_c: float | None = typer.Option(
        None, "--calcination-c", help="Calcination temperature, C."
    ),
    calcination_h: float | None = typer.Option(
        None, "--calcination-h", help="Calcination time, h."
    ),
    sintering_c: float | None = typer.Option(
        None, "--sintering-c", help="Sintering temperature, C."
    ),
    sintering_h: float | None = typer.Option(None, "--sintering-h", help="Sintering time, h."),
    atmosphere: str | None = typer.Option(None, help="Furnace atmosphere."),
    operator: str | None = typer.Option(None, help="Who made the sample."),
    made_on: str | None = typer.Option(None, "--date", help="Synthesis date, YYYY-MM-DD."),
    notes: str | None = typer.Option(None, help="Notes."),
    supersedes: int | None = typer.Option(
        None, help="Correct this synthesis record (new row, old kept)."
    ),
    reason: str | None = typer.Option(None, help="Why (required with --supersedes)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Record a synthesis attempt: creates the sample (temperatures stored in K)."""
    if supersedes is not None and formula is None:
        with _registry(ctx) as registry:
            formula = _sample(registry, sample, campaign).formula
    if formula is None:
        raise ValidationError("a new sample needs --formula")
    record = SynthesisRecord.create(
        sample, formula, succeeded, campaign=campaign, proposal_id=proposal,
        precursors=precursors, calcination_c=calcination_c, calcination_hours=calcination_h,
        sintering_c=sintering_c, sintering_hours=sintering_h, atmosphere=atmosphere,
        operator=operator, synthesized_on=_parse_date(made_on), notes=notes,
        supersedes_id=supersedes, reason=reason,
    )  # fmt: skip
    _report_stored(_store(ctx, record, by))


def _file_or_numbers(file_option: str, given: dict[str, bool]) -> None:
    """Refuse explicit numbers next to a raw file that the command analyses itself."""
    clash = [name for name, on in given.items() if on]
    if clash:
        raise ValidationError(
            f"{file_option} and {', '.join(clash)} are mutually exclusive: the numbers come "
            f"from the file (give either {file_option} or the numbers)"
        )


def _needs_file(file_option: str, given: dict[str, bool]) -> None:
    """Refuse options that only mean something with the raw file."""
    stray = [name for name, on in given.items() if on]
    if stray:
        raise ValidationError(f"{', '.join(stray)}: only meaningful with {file_option} FILE")


def _analysing(what: str) -> Progress:
    """A transient spinner on stderr while a raw file is analysed."""
    return Progress(
        SpinnerColumn(), TextColumn(what), TimeElapsedColumn(), console=err_console, transient=True
    )


def _record_json(result: RecordResult, extra: dict[str, Any]) -> None:
    """The stored record as JSON on stdout: ids, label, raw file and the derived numbers."""
    from experiments.measurements import json_ready

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


def _store_measurement(
    ctx: typer.Context, registry: Registry, measurement: Measurement, by: str | None, as_json: bool
) -> None:
    """Store raw file + record (one transaction), write the PNG/JSON report, print the numbers."""
    from experiments.measurements import XRDMeasurement

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
        _record_json(stored, {**measurement.summary(), **report_files})
        return
    _report_stored(stored)
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
    table = Table(title=f"{m.raw_file.name}: {'phase pure' if a.phase_pure else 'NOT phase pure'}")
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
    console.print(
        f"R_wp {a.rwp:.2f} % (R_exp {a.r_exp:.2f} %), zero shift {a.zero_shift:+.4f} deg, "
        f"threshold {100 * a.impurity_threshold:g} wt%{cell}",
        highlight=False,
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


JSON_HELP = "Print the stored record and its derived numbers as JSON."


@record_app.command("xrd")
def record_xrd(
    ctx: typer.Context,
    sample: str = typer.Option(..., "--sample", help="Sample id."),
    pattern: Path | None = typer.Option(
        None,
        "--pattern",
        help="Powder pattern to analyse (.xy/.csv/.txt, .xrdml, .raw, .brml, .ras, .rasx): the "
        "phases, verdict and R_wp come from its fit; the file is kept by SHA-256.",
    ),
    wavelength: float | None = typer.Option(
        None, "--wavelength", help="With --pattern: X-ray wavelength, A (default config xrd)."
    ),
    composition: str | None = typer.Option(
        None,
        "--composition",
        help="With --pattern: formula decorating the NASICON reference (default: the sample's).",
    ),
    phase: list[str] = typer.Option(
        None,
        "--phase",
        help="Phase seen, NAME or NAME=WEIGHT_FRACTION (repeat; NASICON names the target).",
    ),
    phase_pure: bool | None = typer.Option(
        None, "--phase-pure/--not-phase-pure", help="Verdict (default: from the phases)."
    ),
    space_group: str | None = typer.Option(None, help="Space group of the NASICON phase."),
    a: float | None = typer.Option(None, "--a", help="Lattice parameter a, A."),
    b: float | None = typer.Option(None, "--b", help="Lattice parameter b, A."),
    c: float | None = typer.Option(None, "--c", help="Lattice parameter c, A."),
    alpha: float | None = typer.Option(None, "--alpha", help="Cell angle alpha, deg."),
    beta: float | None = typer.Option(None, "--beta", help="Cell angle beta, deg."),
    gamma: float | None = typer.Option(None, "--gamma", help="Cell angle gamma, deg."),
    rwp: float | None = typer.Option(None, help="Fit R_wp."),
    notes: str | None = typer.Option(None, help="Notes."),
    raw: Path | None = typer.Option(
        None, "--raw", help="Raw pattern file to keep (stored by SHA-256), not analysed."
    ),
    campaign: str | None = typer.Option(
        None, help="Campaign of the sample (if the id is ambiguous)."
    ),
    formula: str | None = typer.Option(None, help="Check that the sample has this composition."),
    supersedes: int | None = typer.Option(
        None, help="Correct this XRD record (new row, old kept)."
    ),
    reason: str | None = typer.Option(None, help="Why (required with --supersedes)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record a powder XRD result, typed or analysed from --pattern; the label follows from it.

    With --pattern the raw file and the fitted phases, weight fractions, verdict and R_wp
    are stored in one transaction, and a PNG of the fit is written under data.reports_dir.
    """
    cfg = _config(ctx)
    if pattern is not None:
        from experiments.measurements import xrd_measurement

        _file_or_numbers(
            "--pattern",
            {
                "--phase": bool(phase), "--phase-pure/--not-phase-pure": phase_pure is not None,
                "--rwp": rwp is not None, "--raw": raw is not None,
                "--space-group": space_group is not None,
                "--a/--b/--c/--alpha/--beta/--gamma": any(
                    v is not None for v in (a, b, c, alpha, beta, gamma)
                ),
            },
        )  # fmt: skip
        with _registry(ctx) as registry:
            known = _sample(registry, sample, campaign)  # an unknown sample stops here
            with _analysing(f"analysing {pattern.name}") as progress:
                progress.add_task("xrd", total=None)
                measurement = xrd_measurement(
                    sample, pattern,
                    wavelength_a=cfg.xrd.wavelength_a if wavelength is None else wavelength,
                    impurity_threshold=cfg.xrd.impurity_threshold,
                    composition=composition or known.formula, notes=notes, campaign=campaign,
                    formula=formula, supersedes_id=supersedes, reason=reason,
                )  # fmt: skip
            _store_measurement(ctx, registry, measurement, by, as_json)
        return
    _needs_file(
        "--pattern", {"--wavelength": wavelength is not None, "--composition": bool(composition)}
    )
    record: Any = XRDRecord.create(
        sample, phases=parse_phases(phase or []), phase_pure=phase_pure,
        impurity_threshold=cfg.labels.impurity_threshold, campaign=campaign, formula=formula,
        space_group=space_group, a_a=a, b_a=b, c_a=c, alpha_deg=alpha, beta_deg=beta,
        gamma_deg=gamma, rwp=rwp, notes=notes, supersedes_id=supersedes, reason=reason,
    )  # fmt: skip
    if raw is not None:
        record = with_raw_file(record, raw, cfg.data.raw_store)
    result = _store(ctx, record, by)
    if as_json:
        _record_json(result, {})
    else:
        _report_stored(result)


@record_app.command("conductivity")
def record_conductivity(
    ctx: typer.Context,
    sample: str = typer.Option(..., "--sample", help="Sample id."),
    eis: Path | None = typer.Option(
        None,
        "--eis",
        help="Impedance spectrum to fit (CSV, BioLogic .mpt, Gamry .DTA, ZView .z, Autolab, "
        "CH Instruments): total, bulk and grain-boundary conductivity come from the fit and "
        "the pellet geometry; the file is kept by SHA-256.",
    ),
    thickness_mm: float | None = typer.Option(
        None, "--thickness-mm", help="With --eis: pellet thickness, mm."
    ),
    area_cm2: float | None = typer.Option(
        None, "--area-cm2", help="With --eis: electrode area, cm^2."
    ),
    total: float | None = typer.Option(None, "--total", help="Total conductivity, in --unit."),
    bulk: float | None = typer.Option(None, "--bulk", help="Bulk conductivity, in --unit."),
    gb: float | None = typer.Option(None, "--gb", help="Grain-boundary conductivity, in --unit."),
    unit: str | None = typer.Option(
        None, "--unit", help="S/cm (default) or mS/cm (stored as S/cm)."
    ),
    temperature_c: float | None = typer.Option(
        None, "--temperature-c", help="Measurement temperature, C (default 25)."
    ),
    temperature_k: float | None = typer.Option(
        None, "--temperature-k", help="Measurement temperature, K."
    ),
    ea: float | None = typer.Option(None, "--ea", help="Activation energy, eV."),
    density_pct: float | None = typer.Option(None, "--density-pct", help="Relative density, %."),
    ccd: float | None = typer.Option(None, "--ccd", help="Critical current density, mA/cm2."),
    notes: str | None = typer.Option(None, help="Notes."),
    raw: Path | None = typer.Option(
        None, "--raw", help="Raw impedance file to keep (stored by SHA-256), not analysed."
    ),
    campaign: str | None = typer.Option(
        None, help="Campaign of the sample (if the id is ambiguous)."
    ),
    formula: str | None = typer.Option(None, help="Check that the sample has this composition."),
    supersedes: int | None = typer.Option(
        None, help="Correct this conductivity record (new row, old kept)."
    ),
    reason: str | None = typer.Option(None, help="Why (required with --supersedes)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record an ionic conductivity, typed or fitted from --eis (stored in S/cm at T in K).

    With --eis the raw spectrum and the fitted conductivities (sigma = L / (R A)) are stored
    in one transaction, and a Nyquist/Bode PNG with the fit is written under data.reports_dir.
    """
    cfg = _config(ctx)
    if eis is not None:
        from experiments.impedance import check_geometry
        from experiments.measurements import conductivity_measurement

        _file_or_numbers(
            "--eis",
            {
                "--total": total is not None, "--bulk": bulk is not None, "--gb": gb is not None,
                "--unit": unit is not None, "--raw": raw is not None,
            },
        )  # fmt: skip
        if thickness_mm is None or area_cm2 is None:
            raise ValidationError("--eis needs the pellet geometry: --thickness-mm and --area-cm2")
        check_geometry(thickness_mm, area_cm2)
        with _registry(ctx) as registry:
            _sample(registry, sample, campaign)  # an unknown sample stops here
            with _analysing(f"fitting {eis.name}") as progress:
                progress.add_task("eis", total=None)
                measurement = conductivity_measurement(
                    sample, eis, thickness_mm=thickness_mm, area_cm2=area_cm2,
                    temperature_c=temperature_c, temperature_k=temperature_k, notes=notes,
                    ea_ev=ea, relative_density_pct=density_pct, ccd_ma_cm2=ccd,
                    campaign=campaign, formula=formula, supersedes_id=supersedes, reason=reason,
                )  # fmt: skip
            _store_measurement(ctx, registry, measurement, by, as_json)
        return
    _needs_file(
        "--eis",
        {"--thickness-mm": thickness_mm is not None, "--area-cm2": area_cm2 is not None},
    )
    record: Any = ConductivityRecord.create(
        sample, sigma_total=total, sigma_bulk=bulk, sigma_gb=gb, unit=unit or "S/cm",
        temperature_c=temperature_c, temperature_k=temperature_k, ea_ev=ea,
        relative_density_pct=density_pct, ccd_ma_cm2=ccd, notes=notes, campaign=campaign,
        formula=formula, supersedes_id=supersedes, reason=reason,
    )  # fmt: skip
    if raw is not None:
        record = with_raw_file(record, raw, cfg.data.raw_store)
    result = _store(ctx, record, by)
    if as_json:
        _record_json(result, {})
    else:
        _report_stored(result)


@record_app.command("batch")
def record_batch_command(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="CSV of outcomes (see the columns in experiments/batch.py)."
    ),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Record many outcomes from a CSV in one transaction: every row is stored, or none."""
    cfg = _config(ctx)
    with _registry(ctx) as registry:
        try:
            report = record_batch_file(
                registry, file, recorded_by=_who(by),
                impurity_threshold=cfg.labels.impurity_threshold,
            )  # fmt: skip
        except BatchError as exc:
            _problems(exc.problems, "line")
            raise
    kinds = Counter(kind for _, kind, _ in report.added)
    stored = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "nothing new"
    console.print(
        f"{file}: stored {stored}; {len(report.samples_created)} new samples, "
        f"{len(report.unchanged)} records already stored, "
        f"{len(report.proposals_updated)} proposals moved on",
        highlight=False,
    )


def retract(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="synthesis, xrd or conductivity."),
    record_id: int = typer.Argument(..., help="Id of the record (see nasicon history)."),
    reason: str = typer.Option(..., "--reason", help="Why the record is withdrawn."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Withdraw a result (kept in the history; training data stops using it)."""
    with _registry(ctx) as registry:
        rid = retract_record(
            registry, kind, record_id, reason=reason, recorded_by=_who(by)  # type: ignore[arg-type]
        )
    console.print(f"{kind} record {record_id} retracted (retraction record {rid})", highlight=False)


# -- export and history ----------------------------------------------------------------------------


def _write_csv(frame: pd.DataFrame, output: Path) -> None:
    if str(output) == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    write_csv_atomically(frame, output)


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
        return ("phase pure" if values.get("phase_pure") else "not pure") + (
            f" [{text}]" if text else ""
        )
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
    campaign: str | None = typer.Option(None, help="Campaign (if the id is in several)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
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


# -- queue -----------------------------------------------------------------------------------------


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
    round_number: int | None = typer.Option(None, "--round", help="Only this round."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List proposals (open ones by default); lapsed claims return to the queue first."""
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
    proposal_id: int = typer.Argument(..., help="Proposal id."),
    hours: float | None = typer.Option(
        None, help="How long the claim holds, h (default: config queue.claim_hours)."
    ),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Claim a queued proposal (it returns to the queue if the claim lapses)."""
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
    proposal_id: int = typer.Argument(..., help="Proposal id."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Put a claimed proposal back in the queue."""
    with _registry(ctx) as registry:
        p = queue.release(registry, proposal_id, _who(by))
    console.print(f"proposal {p.id} ({p.formula}) is queued again", highlight=False)


@queue_app.command("abandon")
def queue_abandon(
    ctx: typer.Context,
    proposal_id: int = typer.Argument(..., help="Proposal id."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the proposal)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Abandon a proposal. (A failed synthesis is an outcome: record it, do not abandon.)"""
    with _registry(ctx) as registry:
        p = queue.abandon(registry, proposal_id, reason, _who(by))
    console.print(f"proposal {p.id} ({p.formula}) abandoned: {p.status_reason}", highlight=False)


@queue_app.command("reject")
def queue_reject(
    ctx: typer.Context,
    proposal_id: int = typer.Argument(..., help="Proposal id."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the proposal)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Reject a queued proposal before anyone makes it."""
    with _registry(ctx) as registry:
        p = queue.reject(registry, proposal_id, reason, _who(by))
    console.print(f"proposal {p.id} ({p.formula}) rejected: {p.status_reason}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the registry commands to ``app``."""
    app.command("init")(init)
    app.add_typer(db_app, name="db")
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(import_app, name="import")
    app.add_typer(record_app, name="record")
    app.command("retract")(retract)
    app.command("export")(export)
    app.command("history")(history)
    app.add_typer(queue_app, name="queue")
