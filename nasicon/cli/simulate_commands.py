"""``nasicon simulate``: campaign backtests through the recommender ``propose`` uses.

Against the DFT data set (the default oracle: labels, or Ehull with ``--signal ehull``) or
against the user's own history (``--pool FILE.csv --target COLUMN``): same campaign code,
same recommender (:func:`loop.recommend.build_recommender`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import state
from nasicon.cli.design_commands import Kappa, Quiet, TieTolerance
from nasicon.cli.options import STRATEGY_NAMES, AsJson, DftData
from nasicon.cli.output import Table
from nasicon.cli.progress import rich_progress

log = logging.getLogger(__name__)
console = Console()
#: Refused rows of a --pool file listed at most.
MAX_REFUSED_LISTED = 10


def _strategies(values: list[str] | None) -> list[str]:
    names: list[str] = []
    for value in values or ["exploit"]:
        for name in filter(None, (v.strip() for v in value.split(","))):
            if name not in STRATEGY_NAMES:
                raise ValidationError(
                    f"unknown strategy {name!r} (one of {', '.join(STRATEGY_NAMES)})"
                )
            if name not in names:
                names.append(name)
    return names


def simulate(
    ctx: typer.Context,
    seed_size: int = typer.Option(20, "--seed-size", help="Random labelled seed set size."),
    batch: int = typer.Option(8, "--batch", help="Compositions proposed per round."),
    budget: int = typer.Option(
        200, "--budget", help="Labelled compositions in total, seed set included."
    ),
    strategy: list[str] = typer.Option(
        None,
        "--strategy",
        "-s",
        help="exploit, uncertainty, ucb or random; repeatable or comma-separated.",
    ),
    repeats: int = typer.Option(
        5, "--repeats", "-r", help="Campaigns per strategy (shared seed sets)."
    ),
    as_json: AsJson = False,
    data: DftData = None,
    signal: str = typer.Option(
        "labels",
        "--signal",
        help="What the surrogate learns from: labels (formed or not, what a lab has), ehull "
        "(the revealed DFT Ehull, computed records only) or phase_fraction (XRD NASICON "
        "fractions; the DFT oracle reveals none, so its labels).",
    ),
    surrogate: str | None = typer.Option(
        None,
        help="Surrogate (default: the signal's, [proposals] surrogate when it fits): labels: "
        "logistic-reg (default), et, rf, rf-balanced, rf+et, gnb, logistic; ehull: "
        "et+gp-ehull, et-ehull, rf-ehull, gp-ehull; phase_fraction: et-fraction.",
    ),
    features: str | None = typer.Option(
        None,
        help="Surrogate inputs (default [proposals] features): engine+elements+tf, "
        "engine+elements, engine, dataset, elements.",
    ),
    min_distance: float | None = typer.Option(
        None,
        "--min-distance",
        help="Smallest distance between two picks, atoms per formula unit (default "
        "[proposals] min_distance).",
    ),
    kappa: Kappa = 1.0,
    tie_tolerance: TieTolerance = 0.0,
    seed: int = typer.Option(0, help="Random seed of the seed sets and surrogates."),
    figure: Path | None = typer.Option(None, "--figure", help="PNG path (default: reports dir)."),
    quiet: Quiet = False,
    pool_file: Path | None = typer.Option(
        None, "--pool", help="Backtest on your own history: a CSV of formulas and an outcome."
    ),
    target: str | None = typer.Option(None, "--target", help="--pool: the outcome column."),
    maximize: bool = typer.Option(False, "--maximize", help="--pool: a hit is a top value."),
    minimize: bool = typer.Option(False, "--minimize", help="--pool: a hit is a bottom value."),
    label: bool = typer.Option(False, "--label", help="--pool: the target is 0/1; 1 is a hit."),
    top_fraction: float = typer.Option(
        0.1, "--top-fraction", help="--pool, numeric target: share of the pool that is a hit."
    ),
    formula_column: str = typer.Option(
        "formula", "--formula-column", help="--pool: the column of formulas."
    ),
) -> None:
    """Backtest campaigns against the DFT data set (or your own --pool): hits and enhancement
    factor per strategy."""
    from experiments.importers.dft import read_dft_dataset
    from loop.recommend import FEATURE_SETS, build_recommender
    from loop.simulation import (
        BASELINE,
        CampaignSettings,
        backtest,
        dft_pool,
        discovery_curves_figure,
    )
    from registry.reports import save_figure

    cfg = state(ctx).config()
    names = _strategies(strategy)
    feature_set = features or cfg.proposals.features
    if feature_set not in FEATURE_SETS:
        raise ValidationError(
            f"unknown feature set {feature_set!r} (one of {', '.join(FEATURE_SETS)})"
        )
    if repeats < 1:
        raise ValidationError(f"--repeats must be at least 1, got {repeats}")
    if tie_tolerance < 0:
        raise ValidationError(f"--tie-tolerance must be >= 0, got {tie_tolerance:g}")
    proposals = cfg.proposals.model_copy(
        update={"features": feature_set, "tie_tolerance": tie_tolerance, "kappa": kappa}
    )
    thr = cfg.labels.ehull_threshold_mev
    recommenders = [
        build_recommender(proposals, strategy=n, signal=signal, surrogate=surrogate,
                          min_distance=min_distance, threshold_mev=thr)
        for n in [*names, BASELINE]
    ]  # fmt: skip
    settings = CampaignSettings(seed_size, batch, budget)
    history = None
    if pool_file is not None:
        history = _history(pool_file, target, (maximize, minimize, label), top_fraction,
                           formula_column, signal)  # fmt: skip
        pool = history.pool
    else:
        pool = dft_pool(read_dft_dataset(data or cfg.data.dft_path), thr)
    settings.check(len(pool))
    if history is not None:
        _list_refused(history.refused)
    with rich_progress(not quiet) as progress:
        result = backtest(
            pool,
            recommenders,
            settings=settings,
            repeats=repeats,
            seed=seed,
            progress=progress,
        )
    png = figure or Path(cfg.data.reports_dir) / "simulate_discovery_curve.png"
    save_figure(discovery_curves_figure(result), png)
    out = result.to_dict()
    out["figure"] = str(png)
    if history is not None:
        from loop.simulation.user_pool import history_metrics

        out.update(history_metrics(result, history))
        out["pool"] = {
            "file": str(pool_file), "target": history.target, "mode": history.mode,
            "top_fraction": history.top_fraction, "rows": len(history.pool),
            "refused": len(history.refused),
            "refused_rows": [
                {"line": line, "formula": f, "reason": why}
                for line, f, why in history.refused[:MAX_REFUSED_LISTED]
            ],
        }  # fmt: skip
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    table = Table(
        title=(
            f"Backtest: seed {seed_size}, batch {batch}, budget {budget} "
            f"({settings.n_proposed} proposed), {repeats} repeats, signal {out['signal']}, "
            f"surrogate {out['surrogate']}"
        )
    )
    for col in ("strategy", "hits mean", "hits sd", "precision", "enhancement", "s/campaign"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for name, s in out["strategies"].items():
        table.add_row(
            name,
            f"{s['hits_mean']:.1f}",
            f"{s['hits_sd']:.1f}",
            f"{s['precision']:.1%}",
            f"{out['enhancement'][name]:.2f}",
            f"{s['seconds_per_campaign']:.1f}",
        )
    console.print(table)
    console.print(
        f"accessible fraction of the pool {out['accessible_fraction']:.3f}; ideal enhancement "
        f"{out['ideal_enhancement']:.2f}; random baseline measured "
        f"{out['random_baseline']['enhancement']:.2f}\ndiscovery curves: {png}",
        highlight=False,
    )


def _history(
    path: Path,
    target: str | None,
    modes: tuple[bool, bool, bool],
    top_fraction: float,
    formula_column: str,
    signal: str,
) -> Any:
    """The user's pool of ``--pool`` (refused rows logged, at most 10 listed)."""
    import pandas as pd

    from loop.simulation.user_pool import user_pool

    if target is None:
        raise ValidationError("--pool needs --target COLUMN (the outcome to find)")
    if sum(modes) > 1:
        raise ValidationError("give one of --maximize, --minimize, --label")
    if signal != "labels":
        raise ValidationError(f"--pool backtests learn from labels only, not --signal {signal}")
    if not path.is_file():
        raise ValidationError(f"pool file {path} not found")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValidationError(f"pool file {path} is not a readable CSV: {exc}") from exc
    mode = "minimize" if modes[1] else "label" if modes[2] else "maximize"
    history = user_pool(
        frame, target, mode=mode, top_fraction=top_fraction, formula_column=formula_column
    )
    return history


def _list_refused(refused: list[tuple[int, str, str]]) -> None:
    """List the pool rows the engine refused on stderr (at most :data:`MAX_REFUSED_LISTED`)."""
    for line, formula, why in refused[:MAX_REFUSED_LISTED]:
        typer.echo(f"left out: pool line {line} {formula!r}: {why}", err=True)
    if len(refused) > MAX_REFUSED_LISTED:
        typer.echo(f"left out: ... and {len(refused) - MAX_REFUSED_LISTED} more rows", err=True)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    app.command("simulate")(simulate)
