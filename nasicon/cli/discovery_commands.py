"""``nasicon discover``: re-run the SIS + ranking-SVM search that found the tolerance factor."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import state
from nasicon.cli.options import AsJson, DftData
from nasicon.cli.output import Table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from loop.discovery import DescriptorClassifier, DiscoveryResult

SPLITS = ("paper", "random")
FEATURE_SETS = ("engine", "dataset")
EWALD_COLUMN = "EWaldSumLst"
FIGURE_NAME = "discovery_best_pair.png"

err_console = Console(stderr=True)
console = Console()


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise ValidationError(f"{option} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def engine_features(data: pd.DataFrame) -> pd.DataFrame:
    """The 12 engine composition descriptors and ewald_ev_per_atom of every CompName."""
    from loop.descriptors import COMPOSITION_DESCRIPTORS, describe_formulas

    engine_columns = [*COMPOSITION_DESCRIPTORS, "ewald_ev_per_atom"]
    table, parsed = describe_formulas(data["CompName"].astype(str).tolist())
    if parsed.errors:
        row, formula, reason = parsed.errors[0]
        raise ValidationError(
            f"{len(parsed.errors)} CompName value(s) cannot be described, first row "
            f"{row + 1} {formula!r}: {reason}"
        )
    return table[engine_columns].reset_index(drop=True)


def _save_figure(
    path: Path,
    formulas: tuple[str, str],
    features: pd.DataFrame,
    ehull: np.ndarray,
    train: np.ndarray,
    model: DescriptorClassifier,
    accuracy: float,
) -> Path:
    """The best pair's 2D map, coloured by Ehull, with the SVC boundary (atomic write)."""
    import numpy as np
    from matplotlib.figure import Figure

    from loop.discovery import evaluate_formula
    from registry.reports import save_figure

    t1 = evaluate_formula(formulas[0], features)
    t2 = evaluate_formula(formulas[1], features)
    fig = Figure(figsize=(7.5, 6))
    ax = fig.add_subplot()
    clipped = np.clip(ehull, -100, 200)
    for mask, marker, label in ((train, "o", "train"), (~train, "^", "held out")):
        sc = ax.scatter(t1[mask], t2[mask], c=clipped[mask], cmap="coolwarm", vmin=-100,
                        vmax=200, s=9, marker=marker, alpha=0.75, linewidths=0, label=label)
    fig.colorbar(sc, ax=ax, label="Ehull(1000 K), meV/atom (clipped to -100..200)")
    c1, c2 = model.coef_
    c0 = model.intercept_
    lo, hi = np.percentile(t1, [0.5, 99.5])
    xs = np.linspace(lo, hi, 200)
    if c2 != 0:
        ax.plot(xs, -(c0 + c1 * xs) / c2, "k-", lw=1.5, label=f"SVC: {model.boundary()}")
    else:
        ax.axvline(-c0 / c1, color="k", lw=1.5, label=f"SVC: {model.boundary()}")
    y_lo, y_hi = np.percentile(t2, [0.5, 99.5])
    pad = 0.05 * (y_hi - y_lo or 1.0)
    ax.set_ylim(y_lo - pad, y_hi + pad)
    ax.set_xlabel(f"t1 = {formulas[0]}")
    ax.set_ylabel(f"t2 = {formulas[1]}")
    ax.set_title(f"Best 2D descriptor, held-out ranking accuracy {accuracy:.3f}")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def _print_table(payload: dict, result: DiscoveryResult) -> None:
    table = Table(title="Best 2D descriptors (held-out pairwise ranking accuracy)")
    table.add_column("#", justify="right")
    table.add_column("t1")
    table.add_column("t2")
    table.add_column("accuracy", justify="right")
    for k, entry in enumerate(payload["best"], 1):
        table.add_row(str(k), *entry["formulas"], f"{entry['accuracy']:.4f}")
    pub = payload["published"]
    table.add_row("pub", *pub["formulas"], f"{pub['accuracy']:.4f}", style="dim")
    console.print(table)
    s = payload["feature_space"]
    console.print(
        f"{payload['n_features_generated']:,} features generated from "
        f"{s['n_candidates']:,} candidates ({s['n_invalid']:,} invalid, "
        f"{s['n_constant']:,} constant, {s['n_duplicate']:,} duplicates skipped); "
        f"{result.n_pairs_ranked:,} pairs ranked on {result.n_train_pairs:,} sampled "
        f"training pairs, scored on {result.n_test_pairs:,} held-out pairs",
        highlight=False,
    )
    console.print(f"SVC boundary (accessible side): {payload['boundary']}", highlight=False)
    console.print(f"figure: {payload['figure']}  ({payload['seconds']:.1f} s)", highlight=False)


def discover_command(
    ctx: typer.Context,
    top: int = typer.Option(200, "--top", help="N features kept by SIS; N(N-1)/2 pairs ranked."),
    pairs: int = typer.Option(
        1000, "--pairs", help="Sampled training composition pairs per ranking SVM."
    ),
    split: str = typer.Option("paper", "--split", help="paper (train.csv/test.csv) or random."),
    features: str = typer.Option(
        "engine", "--features", help="engine (descriptor engine) or dataset (published columns)."
    ),
    as_json: AsJson = False,
    seed: int = typer.Option(0, "--seed", help="Seed of the pair sample and the random split."),
    data: DftData = None,
    best: int = typer.Option(3, "--best", help="How many of the best pairs to report."),
    sis_target: str = typer.Option("rank", "--sis-target", help="rank or raw Ehull for SIS."),
    sis_mode: str = typer.Option(
        "residual", "--sis-mode", help="residual (SISSO-style, 2 subspaces) or plain."
    ),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes (-1 = all cores)."),
) -> None:
    """Find 2D descriptors of NASICON stability by SIS + machine-learned ranking."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from experiments.importers.dft import read_dft_dataset
    from loop.descriptors import DATASET_COLUMNS
    from loop.discovery import (
        PUBLISHED_DATASET_FORMULAS,
        discover,
        paper_split,
        random_split,
        score_pair,
    )
    from loop.discovery.search import SIS_MODES, SIS_TARGETS

    dataset_features = [*DATASET_COLUMNS.values(), EWALD_COLUMN]
    started = time.perf_counter()
    if top < 2:
        raise ValidationError(f"--top must be at least 2 (a pair of features), got {top}")
    if pairs < 1:
        raise ValidationError(f"--pairs must be at least 1, got {pairs}")
    if best < 1:
        raise ValidationError(f"--best must be at least 1, got {best}")
    if jobs == 0 or jobs < -1:
        raise ValidationError(f"--jobs must be a positive number or -1, got {jobs}")
    _choice(split, SPLITS, "--split")
    _choice(features, FEATURE_SETS, "--features")
    _choice(sis_target, SIS_TARGETS, "--sis-target")
    _choice(sis_mode, SIS_MODES, "--sis-mode")
    cfg = state(ctx).config()
    folder = data if data is not None else cfg.data.dft_path
    frame = read_dft_dataset(folder)
    n_train = int((frame["split"] == "train").sum())
    ehull = frame["NewEhullLst"].to_numpy(dtype=float)
    paper = paper_split(n_train, len(frame) - n_train)
    train = paper if split == "paper" else random_split(ehull, 0.2, seed)
    primary = (
        engine_features(frame) if features == "engine"
        else frame[dataset_features].reset_index(drop=True)
    )

    published = score_pair(frame, PUBLISHED_DATASET_FORMULAS, ehull, paper, pairs, seed)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, transient=as_json,
    ) as bar:
        tasks: dict[str, int] = {}
        labels = {"screen": "screening features", "rank": "ranking feature pairs"}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = discover(
            primary, ehull, train, top=top, n_pairs=pairs, keep=best, seed=seed,
            sis_target=sis_target, sis_mode=sis_mode, n_jobs=jobs, progress=report,
        )
    winner = result.best[0]
    assert result.classifier is not None
    figure = _save_figure(
        Path(cfg.data.reports_dir) / FIGURE_NAME, winner.formulas, primary, ehull, train,
        result.classifier, winner.accuracy,
    )
    payload = {
        "n_features_generated": result.n_features_generated,
        "published": {"formulas": list(PUBLISHED_DATASET_FORMULAS), "accuracy": published},
        "best": [entry.as_dict() for entry in result.best],
        "seconds": round(time.perf_counter() - started, 3),
        "features": features,
        "split": split,
        "top": top,
        "pairs": pairs,
        "seed": seed,
        "sis": {"target": sis_target, "mode": sis_mode},
        "feature_space": result.stats.as_dict(),
        "n_pairs_ranked": result.n_pairs_ranked,
        "n_test_pairs": result.n_test_pairs,
        "boundary": result.classifier.boundary(),
        "figure": str(figure),
    }
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_table(payload, result)


def register(app: typer.Typer) -> None:
    """Add ``nasicon discover`` to ``app``."""
    app.command("discover")(discover_command)
