"""``nasicon xrd analyze`` and ``nasicon eis fit|arrhenius``: raw measurement files, analysed.

Results go to stdout (a table, or JSON with ``--json``); progress goes to stderr.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import config
from nasicon.cli.options import AsJson
from nasicon.cli.output import Table, fit_parameter_table
from nasicon.cli.output import progress_line as _progress
from nasicon.cli.progress import raw_file_progress as _file_progress

xrd_app = typer.Typer(help="Powder XRD: phase analysis of NASICON patterns.", no_args_is_help=True)
eis_app = typer.Typer(
    help="Impedance spectroscopy: equivalent-circuit fits, conductivity, Arrhenius.",
    no_args_is_help=True,
)

out = Console()

References = Annotated[
    Path | None,
    typer.Option(
        "--references", help="Folder of extra reference CIFs (default: xrd.reference_dir)."
    ),
]
Composition = Annotated[
    str | None,
    typer.Option(
        "--composition", help="NASICON formula decorating the reference (Na3Zr2Si2PO12)."
    ),
]
Thickness = Annotated[
    float | None,
    typer.Option("--thickness-mm", help="Pellet thickness, mm (default: as the file states it)."),
]
Area = Annotated[
    float | None,
    typer.Option("--area-cm2", help="Electrode area, cm^2 (default: as the file states it)."),
]
FMin = Annotated[float | None, typer.Option("--f-min-hz", help="Fit only f >= this, Hz.")]
FMax = Annotated[float | None, typer.Option("--f-max-hz", help="Fit only f <= this, Hz.")]


def register(app: typer.Typer) -> None:
    """Add the ``xrd`` and ``eis`` command groups to the main app."""
    app.add_typer(xrd_app, name="xrd")
    app.add_typer(eis_app, name="eis")


def _print_json(payload: dict) -> None:
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _criteria(cfg):
    from experiments.xrd import Criteria

    return Criteria.from_settings(cfg)


@xrd_app.command("analyze")
def xrd_analyze(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="Pattern: .xy/.csv/.txt, .xrdml, .raw, .brml, .ras, .rasx"
    ),
    as_json: AsJson = False,
    wavelength: float | None = typer.Option(
        None, "--wavelength", help="X-ray wavelength, A (default: config xrd.wavelength_a, Cu Ka1)."
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="Secondary-phase weight fraction above which the sample is impure "
        "(default: config xrd.impurity_threshold, 0.02).",
    ),
    composition: Composition = None,
    references: References = None,
    kalpha2_ratio: float | None = typer.Option(
        None,
        "--kalpha2-ratio",
        help="I(Ka2)/I(Ka1) of the source: 0 for a Ka1 monochromator (default: refined for Cu).",
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Write a PNG of the fit here."),
) -> None:
    """Is NASICON there, and how pure? Verdict (phase_pure, impure, no_nasicon, inconclusive)."""
    from experiments.limits import xrd_limits
    from experiments.xrd import analyze_pattern
    from experiments.xrd.plot import plot_analysis

    cfg, limits = config(ctx).xrd, config(ctx).limits
    with _file_progress(f"analysing {file.name}", file, limits.progress_min_bytes) as hook:
        result = analyze_pattern(
            file,
            limits=xrd_limits(limits),
            progress=hook,
            wavelength_a=cfg.wavelength_a if wavelength is None else wavelength,
            impurity_threshold=cfg.impurity_threshold if threshold is None else threshold,
            composition=composition,
            criteria=_criteria(cfg),
            reference_dir=references if references is not None else cfg.reference_dir,
            kalpha2_ratio=kalpha2_ratio,
        )
    if plot is not None:
        plot_analysis(result, plot)
    if as_json:
        summary = result.to_dict()
        keys = ("verdict", "reason", "nasicon_fraction", "phases", "rwp", "r_exp")
        more = ("nasicon_form", "nasicon_cell", "unexplained_peaks", "nasicon_lines")
        more += ("kalpha2_ratio", "notes")
        _print_json(
            {k: summary[k] for k in keys}
            | {"phase_pure": result.phase_pure}
            | {k: summary[k] for k in more}
        )
        return
    out.print(f"{file.name}: {result.verdict}", markup=False, style="bold")
    out.print(result.reason, markup=False, highlight=False)
    if result.fitted_phases:
        shown = "weight fractions" if result.phases else "fit (not a result: see the verdict)"
        table = Table(title=f"{shown}, NASICON {result.nasicon_form}")
        table.add_column("phase")
        table.add_column("wt%", justify="right")
        table.add_column("± wt%", justify="right")
        for name, wf in result.fitted_phases:
            sd = result.weight_fraction_sd.get(name, float("nan"))
            table.add_row(name, f"{100 * wf:.2f}", f"{100 * sd:.2f}")
        out.print(table)
        out.print(
            f"Rwp {result.rwp:.2f} % (Rexp {result.r_exp:.2f} %), zero shift "
            f"{result.zero_shift:+.4f} deg, threshold {100 * result.impurity_threshold:g} wt%"
        )
    if result.approximate_phases:
        out.print(f"approximate reference models: {', '.join(result.approximate_phases)}")
    for note in result.notes:
        out.print(f"note: {note}", markup=False, highlight=False)


@xrd_app.command("phases")
def xrd_phases(
    ctx: typer.Context,
    references: References = None,
    composition: Composition = None,
    as_json: AsJson = False,
) -> None:
    """List the reference phases: built-in NASICON forms and by-products, and the user's CIFs."""
    from experiments.xrd import nasicon_phase, reference_phases
    from experiments.xrd.references import NASICON_FORMS

    cfg = config(ctx).xrd
    folder = references if references is not None else cfg.reference_dir
    phases = [nasicon_phase(composition, form) for form in NASICON_FORMS] + reference_phases(
        composition, folder
    )[1:]
    rows = [p.describe() for p in phases]
    if as_json:
        _print_json({"phases": rows})
        return
    table = Table(title="XRD reference phases")
    table.add_column("name", no_wrap=True, min_width=max(len(str(r["name"])) for r in rows))
    for column in ("formula", "space group", "source", "origin"):
        table.add_column(column, overflow="fold")
    for row in rows:
        flag = " (approximate)" if row["approximate"] else ""
        table.add_row(
            str(row["name"]),
            str(row["formula"]),
            str(row["space_group"]),
            str(row["source"]),
            f"{row['origin']}{flag}",
        )
    out.print(table)


@eis_app.command("fit")
def eis_fit(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help="Spectrum: Novocontrol, BioLogic .mpt, Gamry .DTA, ZView .z, Autolab, CH Instruments, "
        "Solartron, Zahner or plain CSV/TXT export.",
    ),
    thickness_mm: Thickness = None,
    area_cm2: Area = None,
    temperature_c: float | None = typer.Option(None, "--temperature-c", help="Temperature, deg C."),
    f_min_hz: FMin = None,
    f_max_hz: FMax = None,
    as_json: AsJson = False,
    plot: Path | None = typer.Option(None, "--plot", help="Write a Nyquist + Bode PNG here."),
) -> None:
    """Fit the pellet circuit to one spectrum; bulk and total conductivity."""
    from experiments.impedance import conductivity, fit_spectrum, read_spectrum, resolve_pellet
    from experiments.impedance.plot import plot_nyquist_bode
    from experiments.limits import eis_limits
    from loop.progress import Stages

    limits = config(ctx).limits
    with _file_progress(f"fitting {file.name}", file, limits.progress_min_bytes) as hook:
        spectrum = read_spectrum(file, limits=eis_limits(limits), progress=hook)
        pellet = resolve_pellet(spectrum.geometry, thickness_mm, area_cm2, str(file))
        stages = Stages(hook, "eis-fit", ["fitting the circuit"])
        fit = fit_spectrum(
            spectrum, temperature_c=temperature_c, f_min_hz=f_min_hz, f_max_hz=f_max_hz
        )
        stages.next()
    cond = conductivity(
        fit,
        pellet.thickness_mm,
        pellet.area_cm2,
        thickness_from=pellet.thickness_from,
        area_from=pellet.area_from,
    )
    if plot is not None:
        plot_nyquist_bode(fit, plot)
    if as_json:
        _print_json(
            {
                "r_bulk_ohm": fit.r_bulk.value,
                "r_grain_boundary_ohm": None
                if fit.r_grain_boundary is None
                else fit.r_grain_boundary.value,
                "r_total_ohm": fit.r_total.value,
                "sigma_bulk_s_cm": cond.sigma_bulk_s_cm,
                "sigma_total_s_cm": cond.sigma_total_s_cm,
                "circuit": fit.circuit,
                "parameters": {k: v.to_dict() for k, v in fit.parameters.items()},
                "pellet": pellet.to_dict(),
                "imag_sign": spectrum.imag_sign,
                "notes": [*spectrum.notes, *fit.notes],
            }
        )
        return
    out.print(fit_parameter_table(f"{file.name}: {fit.circuit}", fit.parameters))
    out.print(
        f"R_bulk {fit.r_bulk.value:.4g} ohm, R_total {fit.r_total.value:.4g} ohm; "
        f"sigma_bulk {cond.sigma_bulk_s_cm:.3e} S/cm, sigma_total {cond.sigma_total_s_cm:.3e} S/cm"
    )
    out.print(
        f"pellet: thickness {pellet.thickness_mm:g} mm ({pellet.thickness_from}), "
        f"area {pellet.area_cm2:.4g} cm2 ({pellet.area_from})"
    )
    caps = ", ".join(f"{k} {v:.2e} F" for k, v in fit.capacitances_f.items())
    out.print(f"arc capacitances: {caps}; RMS residual {100 * fit.residual_rms:.2f} % of |Z|")
    for note in (*spectrum.notes, *fit.notes):
        out.print(f"note: {note}", markup=False, highlight=False)


def _parse_temperatures(items: list[str]) -> list[float]:
    values: list[float] = []
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            try:
                values.append(float(part))
            except ValueError:
                raise ValidationError(f"temperature {part.strip()!r} is not a number") from None
    return values


@eis_app.command("arrhenius")
def eis_arrhenius(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="One spectrum per temperature."),
    temperatures_c: list[str] = typer.Option(
        ...,
        "--temperatures-c",
        help="Temperatures, deg C, in the order of the files: comma-separated or repeated.",
    ),
    thickness_mm: Thickness = None,
    area_cm2: Area = None,
    which: str = typer.Option("total", "--which", help="Conductivity to fit: total or bulk."),
    f_min_hz: FMin = None,
    f_max_hz: FMax = None,
    as_json: AsJson = False,
    plot: Path | None = typer.Option(None, "--plot", help="Write an Arrhenius PNG here."),
) -> None:
    """Activation energy (eV) and sigma at 25 C from spectra of one pellet at several T."""
    from experiments.impedance import (
        arrhenius,
        conductivity,
        fit_spectrum,
        read_spectrum,
        resolve_pellet,
    )
    from experiments.impedance.plot import plot_arrhenius
    from experiments.limits import eis_limits

    limits = config(ctx).limits
    temps = _parse_temperatures(temperatures_c)
    if len(temps) != len(files):
        raise ValidationError(
            f"{len(files)} spectra were given with {len(temps)} temperatures; give one each"
        )
    if which not in ("total", "bulk"):
        raise ValidationError(f"--which must be total or bulk, not {which!r}")
    spectra = []
    for path in files:
        with _file_progress(f"reading {path.name}", path, limits.progress_min_bytes) as hook:
            spectra.append(read_spectrum(path, limits=eis_limits(limits), progress=hook))
    pellets = [
        resolve_pellet(spec.geometry, thickness_mm, area_cm2, str(path))
        for spec, path in zip(spectra, files, strict=True)
    ]
    sigmas = []
    with _progress("fitting spectra", total=len(files)) as advance:
        for spec, pellet, t in zip(spectra, pellets, temps, strict=True):
            fit = fit_spectrum(spec, temperature_c=t, f_min_hz=f_min_hz, f_max_hz=f_max_hz)
            cond = conductivity(fit, pellet.thickness_mm, pellet.area_cm2)
            sigmas.append(cond.sigma_total_s_cm if which == "total" else cond.sigma_bulk_s_cm)
            advance()
    result = arrhenius(temps, sigmas)
    if plot is not None:
        plot_arrhenius(result, plot)
    if as_json:
        _print_json(
            {
                "ea_ev": result.ea_ev,
                "ea_sd_ev": _finite(result.ea_sd_ev),
                "sigma_25c_s_cm": result.sigma_25c_s_cm,
                "sigma_s_cm": sigmas,
                "pellets": [p.to_dict() for p in pellets],
            }
        )
        return
    table = Table(title=f"Arrhenius fit of {which} conductivity")
    table.add_column("T (deg C)", justify="right")
    table.add_column("sigma (S/cm)", justify="right")
    for t, s in zip(temps, sigmas, strict=True):
        table.add_row(f"{t:g}", f"{s:.3e}")
    out.print(table)
    out.print(
        f"Ea = {result.ea_ev:.3f} ± {result.ea_sd_ev:.3f} eV; "
        f"sigma(25 C) = {result.sigma_25c_s_cm:.3e} S/cm (R^2 {result.r_squared:.4f})"
    )
