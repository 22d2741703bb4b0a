"""``nasicon retrain``: compare, tune and store every model of the zoo.

``retrain`` reads the training frame from the registry (DFT labels plus experimental labels,
which outrank them), cross-validates every model of the zoo on the same seeded stratified
folds (each model in its calibration; DFT figures against DFT labels, experimental figures
out of fold), tunes the chosen ones with optuna (studies stored in the registry database),
picks the champion by the champion rule (:data:`loop.evaluation.selection.CHAMPION_RULE`,
printed with the leaderboard), saves every fitted
model as a hashed skops artifact and stores one model run per model in one transaction.
Bad input (no labels, one class, fewer samples than folds) stores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import state
from nasicon.cli.options import AsJson, Folds, Models, Timeout, Trials, Tune
from nasicon.cli.options import names as _names
from nasicon.cli.output import Table
from nasicon.cli.progress import rich_progress

if TYPE_CHECKING:
    from loop.training import RetrainResult

console = Console(soft_wrap=True)


def _leaderboard_table(result: RetrainResult) -> Table:
    from flows.services.rounds import round_text
    from loop.training.experimental import figures_of

    table = Table(title=f"leaderboard, {result.settings.folds}-fold CV (round "
                  f"{round_text(result.round_number)}, {result.n_train} labelled)")
    for col in ("model", "macro-F1", "± sd", "accuracy", "bal. acc.", "ROC-AUC",
                "recall acc.", "log loss", "ECE", "made acc.", "exp. F1", "tuning", "time, s",
                "scope"):
        table.add_column(col, justify="left" if col in ("model", "scope") else "right",
                         no_wrap=col == "model", ratio=1 if col == "scope" else None,
                         min_width=24 if col == "scope" else None)
    for row in result.leaderboard():
        r = result.models[row["model"]]
        s = r.cv.summary
        tuning = "-"
        if r.tuning is not None:
            tuning = f"{r.tuning.n_complete + r.tuning.n_pruned} ({r.tuning.n_pruned} pr.)"
        name = row["model"] + (" *" if row["model"] == result.champion else "")
        fig = figures_of(r.cv)
        made = "-" if fig is None or not fig.n_positive else f"{fig.accepted}/{fig.n_positive}"
        table.add_row(
            name, f"{s['f1_macro']:.3f}", f"{s['f1_macro_sd']:.3f}", f"{s['accuracy']:.3f}",
            f"{s['balanced_accuracy']:.3f}", f"{s['roc_auc']:.3f}",
            f"{s['recall_accessible']:.3f}", _f(row["log_loss"]), _f(row["ece"]), made,
            _f(row["exp_f1_macro"]), tuning, f"{r.seconds:.1f}", r.spec.scope,
        )
    return table


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def retrain(
    ctx: typer.Context,
    folds: Folds = None,
    trials: Trials = None,
    timeout: Timeout = None,
    models: Models = None,
    tune: Tune = None,
    importance: list[str] = typer.Option(
        None, "--importance",
        help="Drop-column importance for these models ('champion' allowed; default: gnb).",
    ),
    round_number: int | None = typer.Option(
        None, "--round", help="Round the runs belong to (default: the latest round)."
    ),
    figures: Path | None = typer.Option(
        None, "--figures", help="Folder for the PNG figures (default: reports/round-N)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="CV and sampler seed (default 0)."),
    as_json: AsJson = False,
) -> None:
    """Cross-validate, tune and compare every model; store the runs and the champion."""
    from flows.services.retrain import default_eligible
    from flows.services.retrain import retrain as retrain_registry
    from flows.services.rounds import default_round, round_text
    from loop.training import RetrainSettings
    from registry import Registry

    cfg = state(ctx).config()
    settings = RetrainSettings(
        folds=cfg.models.folds if folds is None else folds,
        trials=cfg.models.trials if trials is None else trials,
        timeout_s=cfg.models.timeout_s if timeout is None else timeout,
        seed=cfg.models.seed if seed is None else seed,
        # the options, else the [models] settings (compare: None = the whole zoo)
        models=_names(models) or (tuple(cfg.models.compare) if cfg.models.compare else None),
        tune=_names(tune) if tune else (
            tuple(cfg.models.tune) if cfg.models.tune is not None else None
        ),
        importance=_names(importance) if importance else ("gnb",),
    )
    if settings.folds < 2:
        raise ValidationError(f"--folds must be at least 2 (got {settings.folds})")
    if settings.trials < 0 or (settings.timeout_s is not None and settings.timeout_s <= 0):
        raise ValidationError("--trials must be >= 0 and --timeout > 0")
    with Registry.from_config(cfg) as registry:
        number = default_round(registry) if round_number is None else round_number
        folder = figures or Path(cfg.data.reports_dir) / f"round-{round_text(number)}"
        with rich_progress() as progress:
            stored = retrain_registry(
                registry, cfg, settings, round_number=number, figures_dir=folder,
                progress=progress,
            )
    result, ids, paths = stored.result, stored.model_run_ids, stored.figures
    eligible = default_eligible(cfg, settings)
    if as_json:
        doc = result.to_json()
        doc["default_eligible"] = eligible
        typer.echo(json.dumps(doc, indent=2))
        return
    console.print(_leaderboard_table(result))
    rule = result.decision.rule if result.decision is not None else ""
    console.print(rule, highlight=False, markup=False)
    a, b = result.tolerance_factor_boundary
    console.print(
        f"champion: {result.champion} (run {ids[result.champion]}), "
        f"macro-F1 {result.models[result.champion].cv.f1_macro:.3f}: {result.champion_reason}",
        highlight=False, markup=False,
    )
    if not eligible:
        console.print(
            "this run compared a subset of the configured models (--models): its champion is "
            "this round's only, not the default of predict and propose", highlight=False,
        )
    console.print(f"tolerance factor refit on engine features: {a:.3f} t1 + t2 <= {b:.3f}",
                  highlight=False)
    rep = result.reproduction
    if rep is not None:
        console.print(
            f"published check (data-set columns, {rep.n_rows} rows): published line accuracy "
            f"{rep.accuracy:.3f}, macro-F1 {rep.f1_macro:.3f}; refit {rep.a:.3f} t1 + t2 <= "
            f"{rep.b:.3f} agrees on {rep.agreement:.1%}; its {result.settings.folds}-fold CV "
            f"{rep.cv_accuracy:.3f} / {rep.cv_f1_macro:.3f}",
            highlight=False,
        )
    for name, r in result.models.items():
        if r.importance is not None:
            top = ", ".join(
                f"{f} {v * 100:+.1f}" for f, v in zip(r.importance["feature"][:4],
                                                      r.importance["error_rise"][:4], strict=False)
            )
            console.print(f"drop-column importance ({name}, CV error rise in points): {top}",
                          highlight=False)
    console.print(f"figures: {', '.join(str(p) for p in paths.values())}", highlight=False)
    console.print(f"{result.n_train} labelled compositions, {result.seconds:.0f} s",
                  highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``retrain`` to ``app``."""
    app.command("retrain")(retrain)
