"""``nasicon record synthesis|xrd|conductivity|batch`` and ``nasicon retract``: outcomes
from the bench, typed or analysed from raw files.

Every write is one transaction: a refused input stores nothing. The storing and reporting
is in :mod:`nasicon.cli.recording`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.context import who as _who
from nasicon.cli.options import By, SampleCampaign
from nasicon.cli.output import print_problems as _problems
from nasicon.cli.progress import raw_file_progress as _file_progress
from nasicon.cli.recording import print_record_json as _record_json
from nasicon.cli.recording import print_stored as _report_stored
from nasicon.cli.recording import store_and_print_measurement as _store_measurement
from nasicon.cli.recording import store_outcome as _store
from nasicon.cli.recording import stored_sample as _sample

console = Console(soft_wrap=True)

record_app = typer.Typer(help="Record outcomes from the bench.", no_args_is_help=True)

Sample = Annotated[str, typer.Option("--sample", help="Sample id.")]
CheckFormula = Annotated[
    str | None, typer.Option("--formula", help="Check that the sample has this composition.")
]
Notes = Annotated[str | None, typer.Option("--notes", help="Notes.")]
Supersedes = Annotated[
    int | None, typer.Option("--supersedes", help="Correct this record (new row, old kept).")
]
CorrectionReason = Annotated[
    str | None, typer.Option("--reason", help="Why (required with --supersedes).")
]
RecordJson = Annotated[
    bool,
    typer.Option("--json", help="Print the stored record and its derived numbers as JSON."),
]


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
    notes: Notes = None,
    supersedes: Supersedes = None,
    reason: CorrectionReason = None,
    by: By = None,
) -> None:
    """Record a synthesis attempt: creates the sample (temperatures stored in K)."""
    from experiments.records import SynthesisRecord

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


@record_app.command("xrd")
def record_xrd(
    ctx: typer.Context,
    sample: Sample,
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
    notes: Notes = None,
    raw: Path | None = typer.Option(
        None, "--raw", help="Raw pattern file to keep (stored by SHA-256), not analysed."
    ),
    campaign: SampleCampaign = None,
    formula: CheckFormula = None,
    supersedes: Supersedes = None,
    reason: CorrectionReason = None,
    by: By = None,
    as_json: RecordJson = False,
) -> None:
    """Record a powder XRD result, typed or analysed from --pattern; the label follows from it.

    With --pattern the raw file and the fitted phases, weight fractions, verdict and R_wp
    are stored in one transaction, and a PNG of the fit is written under data.reports_dir.
    """
    from experiments.records import XRDRecord, parse_phases

    cfg = _config(ctx)
    if pattern is not None:
        from experiments.limits import xrd_limits
        from experiments.measurements import xrd_measurement
        from experiments.xrd import Criteria

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
            with _file_progress(
                f"analysing {pattern.name}", pattern, cfg.limits.progress_min_bytes
            ) as hook:
                measurement = xrd_measurement(
                    sample, pattern, limits=xrd_limits(cfg.limits), progress=hook,
                    wavelength_a=cfg.xrd.wavelength_a if wavelength is None else wavelength,
                    impurity_threshold=cfg.xrd.impurity_threshold,
                    criteria=Criteria.from_settings(cfg.xrd), reference_dir=cfg.xrd.reference_dir,
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
    _store_typed(ctx, record, raw, by, as_json)


def _store_typed(
    ctx: typer.Context, record: Any, raw: Path | None, by: str | None, as_json: bool
) -> None:
    """Store typed numbers (with the raw file kept by SHA-256 when given) and report them."""
    from experiments.plausibility import check_raw_kind
    from experiments.records import with_raw_file

    if raw is not None:
        # /etc/passwd is not an impedance export
        check_raw_kind(record.KIND, raw, _config(ctx).limits)
        record = with_raw_file(record, raw, _config(ctx).data.raw_store)
    result = _store(ctx, record, by)
    if as_json:
        _record_json(result, {})
    else:
        _report_stored(result)


@record_app.command("conductivity")
def record_conductivity(
    ctx: typer.Context,
    sample: Sample,
    eis: Path | None = typer.Option(
        None,
        "--eis",
        help="Impedance spectrum to fit (CSV, BioLogic .mpt, Gamry .DTA, ZView .z, Autolab, "
        "CH Instruments): total, bulk and grain-boundary conductivity come from the fit and "
        "the pellet geometry; the file is kept by SHA-256.",
    ),
    thickness_mm: float | None = typer.Option(
        None, "--thickness-mm", help="With --eis: pellet thickness, mm (default: the file's)."
    ),
    area_cm2: float | None = typer.Option(
        None, "--area-cm2", help="With --eis: electrode area, cm^2 (default: the file's)."
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
    notes: Notes = None,
    raw: Path | None = typer.Option(
        None, "--raw", help="Raw impedance file to keep (stored by SHA-256), not analysed."
    ),
    campaign: SampleCampaign = None,
    formula: CheckFormula = None,
    supersedes: Supersedes = None,
    reason: CorrectionReason = None,
    by: By = None,
    as_json: RecordJson = False,
) -> None:
    """Record an ionic conductivity, typed or fitted from --eis (stored in S/cm at T in K).

    With --eis the raw spectrum and the fitted conductivities (sigma = L / (R A)) are stored
    in one transaction, and a Nyquist/Bode PNG with the fit is written under data.reports_dir.
    """
    from experiments.records import ConductivityRecord

    if eis is not None:
        from experiments.limits import eis_limits
        from experiments.measurements import conductivity_measurement

        cfg = _config(ctx)
        _file_or_numbers(
            "--eis",
            {
                "--total": total is not None, "--bulk": bulk is not None, "--gb": gb is not None,
                "--unit": unit is not None, "--raw": raw is not None,
            },
        )  # fmt: skip
        with _registry(ctx) as registry:
            _sample(registry, sample, campaign)  # an unknown sample stops here
            with _file_progress(
                f"fitting {eis.name}", eis, cfg.limits.progress_min_bytes
            ) as hook:
                measurement = conductivity_measurement(
                    sample, eis, limits=eis_limits(cfg.limits), progress=hook,
                    thickness_mm=thickness_mm, area_cm2=area_cm2,
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
        sample, sigma_total=total, sigma_bulk=bulk, sigma_gb=gb, unit=unit,
        temperature_c=temperature_c, temperature_k=temperature_k, ea_ev=ea,
        relative_density_pct=density_pct, ccd_ma_cm2=ccd, notes=notes, campaign=campaign,
        formula=formula, supersedes_id=supersedes, reason=reason,
    )  # fmt: skip
    _store_typed(ctx, record, raw, by, as_json)


@record_app.command("batch")
def record_batch_command(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="CSV of outcomes (see the columns in experiments/batch.py)."
    ),
    by: By = None,
) -> None:
    """Record many outcomes from a CSV in one transaction: every row is stored, or none."""
    from experiments.batch import BatchError, BatchLimits, batch_format
    from flows.services.record import batch_summary, record_batch_file

    cfg = _config(ctx)
    with _registry(ctx) as registry:
        try:
            report = record_batch_file(
                registry, file, recorded_by=_who(by),
                impurity_threshold=cfg.labels.impurity_threshold,
                limits=BatchLimits(cfg.limits.max_batch_bytes, cfg.limits.max_batch_rows),
            )  # fmt: skip
        except BatchError as exc:
            _problems(exc.problems, "line")
            raise
    console.print(
        f"{file}: {batch_summary(report)} (read as {batch_format(file)})", highlight=False
    )


def retract(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="synthesis, xrd or conductivity."),
    record_id: int = typer.Argument(..., help="Id of the record (see nasicon history)."),
    reason: str = typer.Option(..., "--reason", help="Why the record is withdrawn."),
    by: By = None,
) -> None:
    """Withdraw a result (kept in the history; training data stops using it)."""
    from flows.services.record import record_sample
    from flows.services.record import retract as retract_record

    with _registry(ctx) as registry:
        rid = retract_record(
            registry, kind, record_id, reason=reason, recorded_by=_who(by)  # type: ignore[arg-type]
        )
        sample = record_sample(registry, kind, record_id)  # type: ignore[arg-type]
    console.print(
        f"{kind} record {record_id} of sample {sample} retracted (retraction record {rid})",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the ``record`` group and ``retract`` to ``app``."""
    app.add_typer(record_app, name="record")
    app.command("retract")(retract)
