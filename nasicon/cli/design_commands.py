"""``nasicon spaces`` and ``nasicon propose``: where to look next (``simulate``:
:mod:`nasicon.cli.simulate_commands`).

* ``spaces list`` / ``spaces show NAME``: the built-in (or a TOML) design space, its size and
  how much of the DFT data set and of the literature compositions it holds;
* ``propose``: screen a space with the registry's models and queue a diverse batch.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from loop.errors import DataMissingError, ValidationError
from nasicon.cli.context import state
from nasicon.cli.options import STRATEGY_NAMES, AsJson
from nasicon.cli.output import Table
from nasicon.cli.progress import rich_progress

if TYPE_CHECKING:
    from loop.spaces import DesignSpace

log = logging.getLogger(__name__)
console = Console()

Kappa = Annotated[float, typer.Option("--kappa", help="UCB: weight of the committee spread.")]
TieTolerance = Annotated[
    float,
    typer.Option("--tie-tolerance", help="Batch diversity among candidates within this score gap."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]

spaces_app = typer.Typer(
    help="Design spaces: built-in grids and user TOML files.", no_args_is_help=True
)


def _reference_formulas(dft_dir: Path, literature: Path) -> dict[str, Any]:
    """The DFT data set's formulas and the literature records (label -> formula), each
    replaced by an error text when its file is missing."""
    from experiments.importers.dft import read_dft_dataset
    from experiments.importers.literature import read_literature
    from loop.spaces import dft_formulas, literature_formulas

    refs: dict[str, Any] = {}
    try:
        refs["dft"] = dft_formulas(read_dft_dataset(dft_dir))
    except DataMissingError:
        refs["dft"] = f"data set not found in {dft_dir}"
    try:
        refs["literature"] = literature_formulas(read_literature(literature))
    except DataMissingError:
        refs["literature"] = f"{literature} not found"
    return refs


def _coverage_facts(space: DesignSpace, refs: dict[str, Any]) -> dict[str, Any]:
    from loop.spaces import coverage

    facts: dict[str, Any] = {}
    if isinstance(refs["dft"], str):
        facts["dft_coverage"] = {"error": refs["dft"]}
    else:
        cov = coverage(space, refs["dft"])
        facts["dft_coverage"] = {
            "contained": cov.n_contained,
            "total": cov.n_total,
            "fraction": cov.fraction,
        }
    if isinstance(refs["literature"], str):
        facts["literature_contained"] = {"error": refs["literature"]}
    else:
        facts["literature_contained"] = {
            label: bool(coverage(space, [f]).n_contained) for label, f in refs["literature"].items()
        }
    return facts


def _coverage_text(facts: dict[str, Any]) -> tuple[str, str]:
    dft = facts["dft_coverage"]
    dft_text = (
        f"{dft['fraction']:.2%} ({dft['contained']}/{dft['total']})"
        if "fraction" in dft
        else f"n/a: {dft['error']}"
    )
    lit = facts["literature_contained"]
    if "error" in lit:
        lit_text = f"n/a: {lit['error']}"
    else:
        inside = [k for k, v in lit.items() if v]
        lit_text = f"{len(inside)}/{len(lit)}" + (f" ({', '.join(inside)})" if inside else "")
    return dft_text, lit_text


def spaces_list(
    ctx: typer.Context,
    as_json: AsJson = False,
) -> None:
    """The built-in design spaces with their size and coverage."""
    from experiments.importers.design_spaces import builtin_space_names, load_space

    cfg = state(ctx).config()
    refs = _reference_formulas(cfg.data.dft_path, cfg.data.literature_path)
    rows = []
    for name in builtin_space_names():
        space = load_space(name)
        rows.append({**space.summary(), **_coverage_facts(space, refs)})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Design spaces")
    for col, justify in (
        ("name", "left"),
        ("type", "left"),
        ("size", "right"),
        ("DFT data set", "right"),
        ("literature", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        dft_text, lit_text = _coverage_text(row)
        table.add_row(row["name"], row["type"], f"{row['size']:,}", dft_text, lit_text)
    console.print(table)
    console.print("Details: nasicon spaces show NAME (NAME may also be a .toml file)")


def spaces_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Built-in space name or path of a TOML file."),
    as_json: AsJson = False,
    examples: int = typer.Option(5, min=0, help="Example compositions to print."),
) -> None:
    """One space: pool, grids, size (per number of metals), coverage, example compositions."""
    from experiments.importers.design_spaces import load_space

    cfg = state(ctx).config()
    space = load_space(name)
    refs = _reference_formulas(cfg.data.dft_path, cfg.data.literature_path)
    facts = {**space.summary(), **_coverage_facts(space, refs)}
    facts["examples"] = []
    for chunk in space.chunks(max(examples, 1)):
        if len(facts["examples"]) >= examples:
            break
        facts["examples"] += chunk.take(slice(0, examples - len(facts["examples"]))).formulas()
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    dft_text, lit_text = _coverage_text(facts)
    table = Table(title=f"Design space {space.name}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("type", facts["type"])
    table.add_row("description", facts["description"])
    table.add_row("size", f"{facts['size']:,}")
    table.add_row(
        "by number of metals",
        ", ".join(f"{k}: {v:,}" for k, v in facts["size_by_cations"].items()),
    )
    table.add_row("metal pool", " ".join(facts["pool"]))
    if facts["required"]:
        table.add_row("in every composition", ", ".join(facts["required"]))
    table.add_row("metals per composition", "{}..{}".format(*facts["cations"]))
    table.add_row("M amount grid", " or ".join(f"1/{d}" for d in facts["m_amount_denominators"]))
    table.add_row("polyanion options", str(facts["polyanion_options"]))
    na = facts["sodium"]
    table.add_row(
        "Na", f"{na['min']:g}..{na['max']:g}" + (f" step {na['step']:g}" if na["step"] else "")
    )
    table.add_row("entropy classes", ", ".join(facts["entropy_classes"]))
    table.add_row("DFT data set coverage", dft_text)
    table.add_row("literature compositions", lit_text)
    table.add_row("examples", "\n".join(facts["examples"]))
    console.print(table)


def propose(
    ctx: typer.Context,
    space_name: str = typer.Option(..., "--space", help="Built-in space name or TOML path."),
    batch: int = typer.Option(..., "--batch", help="Compositions to queue."),
    strategy: str = typer.Option(
        "exploit",
        "--strategy",
        help="exploit, uncertainty, ucb or random; with --objective both: constrained_ei, "
        "pareto or desirability.",
    ),
    objective: str | None = typer.Option(
        None,
        "--objective",
        help="synthesis (P(forms)), conductivity (expected improvement of log10 sigma) or "
        "both (default [proposals] objective); conductivity and both need conductivity "
        "records.",
    ),
    kappa: Kappa = 1.0,
    tie_tolerance: TieTolerance = 0.0,
    fraction: float = typer.Option(0.05, help="Share of each chunk the champion scores."),
    shortlist: int = typer.Option(2000, help="Best candidates kept for the diverse batch pick."),
    round_number: int | None = typer.Option(
        None, "--round", help="Round number (default: latest)."
    ),
    limit: int | None = typer.Option(None, help="Screen only the first N compositions."),
    seed: int = typer.Option(0, help="Random seed (random strategy, ties, surrogate)."),
    signal: str | None = typer.Option(
        None,
        "--signal",
        help="What the surrogate learns from: labels, ehull or phase_fraction (XRD NASICON "
        "weight fractions where recorded, labels elsewhere) (default [proposals] signal).",
    ),
    conductivity_model: str | None = typer.Option(
        None,
        "--conductivity-model",
        help="log10 sigma for --objective conductivity/both: gp (Gaussian process on the "
        "registry's 25 C records) or trained (nasicon conductivity train's model) (default "
        "[proposals] conductivity_model).",
    ),
    min_distance: float | None = typer.Option(
        None,
        "--min-distance",
        help="Smallest distance between two picks, atoms per formula unit (default "
        "[proposals] min_distance).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the batch, queue nothing."),
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Screen a design space with the registry's models and queue a diverse batch."""
    from experiments.importers.design_spaces import load_space
    from flows.services.conductivity import attach_conductivity_model
    from flows.services.propose import ProposeRequest
    from flows.services.propose import propose as propose_batch
    from loop.recommend import build_recommender
    from loop.recommend.objectives import MULTI_STRATEGIES
    from registry import Registry

    cfg = state(ctx).config()
    names = (*STRATEGY_NAMES, *MULTI_STRATEGIES)
    if strategy not in names:
        raise ValidationError(f"unknown strategy {strategy!r} (one of {', '.join(names)})")
    if tie_tolerance < 0:
        raise ValidationError(f"--tie-tolerance must be >= 0, got {tie_tolerance:g}")
    proposals = cfg.proposals.model_copy(update={"tie_tolerance": tie_tolerance, "kappa": kappa})
    rec = build_recommender(
        proposals, strategy=strategy, signal=signal, min_distance=min_distance,
        threshold_mev=cfg.labels.ehull_threshold_mev, objective=objective,
        conductivity_model=conductivity_model, impurity_threshold=cfg.labels.impurity_threshold,
    )  # fmt: skip
    if batch < 1:
        raise ValidationError(f"--batch must be at least 1, got {batch}")
    attach_conductivity_model(rec, cfg)
    space = load_space(space_name)
    request = ProposeRequest(
        space, rec.strategy, batch, fraction=fraction, shortlist=shortlist, limit=limit,
        seed=seed, recommender=rec, labels=cfg.labels,
    )  # fmt: skip
    with Registry.from_config(cfg) as registry, rich_progress(not quiet) as progress:
        result = propose_batch(
            registry, request, round_number=round_number, dry_run=dry_run, progress=progress
        ).to_dict()
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    table = Table(
        title=f"{'Proposed (dry run)' if dry_run else 'Queued'}: {strategy} batch from {space.name}"
    )
    for col in ("id", "formula", "score", "P champion", "P all models", "reason"):
        table.add_column(col, justify="left" if col in ("formula", "reason") else "right")
    for row in result["proposals"]:
        table.add_row(
            str(row.get("id", "-")),
            row["formula"],
            f"{row['acquisition_score']:.3f}",
            f"{row['p_champion']:.3f}",
            f"{row['p_mean']:.3f}",
            row["reason"],
        )
    console.print(table)
    console.print(
        f"screened {result['screened']:,} compositions in {result['seconds']:.1f} s; "
        f"{result['excluded']} excluded as measured or queued"
        + (
            f"; {len(result['lapsed_claims'])} lapsed claim(s) count as queued"
            + (" (left as stored: dry run)" if dry_run else " (returned to the queue)")
            if result["lapsed_claims"]
            else ""
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``spaces`` and ``propose`` to ``app``."""
    spaces_app.command("list")(spaces_list)
    spaces_app.command("show")(spaces_show)
    app.add_typer(spaces_app, name="spaces")
    app.command("propose")(propose)
