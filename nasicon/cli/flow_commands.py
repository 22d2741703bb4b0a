"""``nasicon round``, ``nasicon serve``, ``nasicon ingest`` and ``nasicon demo``: the
closed loop through Prefect."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from loop.errors import DataMissingError, NasiconError, ValidationError
from nasicon.cli.context import state
from nasicon.cli.options import AsJson, Folds, Models, Timeout, Trials, Tune
from nasicon.cli.options import names as _names
from nasicon.cli.output import Table

if TYPE_CHECKING:
    from loop.settings import NasiconConfig

log = logging.getLogger(__name__)
console = Console(soft_wrap=True)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The first start of Prefect's temporary server in a fresh PREFECT_HOME migrates its database:
# 25 s measured on a busy 2-core machine, over Prefect's default wait of 20 s (make demo in a
# fresh clone failed with "Timed out while attempting to connect to ephemeral Prefect API
# server"). A user's own value wins.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _runner(dask: bool, dask_address: str | None, workers: int):
    from flows.runners import RunnerChoice

    return RunnerChoice(
        dask=dask or dask_address is not None, address=dask_address, workers=workers
    )


def preflight(
    config: NasiconConfig,
    *,
    space: str | None = None,
    need_dft: bool = True,
    strategy: str | None = None,
) -> None:
    """Fail before any work: unreachable registry, missing data set, unknown design space, a
    bad ``[proposals]`` recommender setting or ``conductivity_model = "trained"`` (objective
    conductivity or both) without a stored conductivity model."""
    from experiments.importers.dft import dft_dataset_files
    from registry import Registry

    if need_dft:
        dft_dataset_files(config.data.dft_path)  # raises the missing-data message
    with Registry.from_config(config) as registry:
        registry.run(lambda uow: uow.rounds.latest(), write=False)  # connects, checks schema
    if space is not None:
        from flows.services.propose import ProposeRequest

        ProposeRequest.from_config(config, space=space, strategy=strategy)  # space, recommender
    check_prefect_api()


def check_prefect_api(timeout_s: float = 10.0) -> None:
    """Fail before any work when ``PREFECT_API_URL`` names a Prefect server that does not
    answer (without it, Prefect starts a temporary server itself)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health", timeout=timeout_s).raise_for_status()
    except httpx.HTTPError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NasiconError(
            f"cannot reach the Prefect server at {url} (PREFECT_API_URL): {first}; start it "
            "(prefect server start) or unset PREFECT_API_URL for a temporary one, then run "
            "the command again (an interrupted round resumes)"
        ) from None


def _settings(
    config: NasiconConfig,
    folds: int | None,
    trials: int | None,
    timeout: float | None,
    models: list[str] | None = None,
    tune: list[str] | None = None,
):
    from dataclasses import replace

    from flows.deployments import retrain_settings

    settings = retrain_settings(config)
    settings = replace(
        settings,
        folds=settings.folds if folds is None else folds,
        trials=settings.trials if trials is None else trials,
        timeout_s=settings.timeout_s if timeout is None else timeout,
        models=_names(models) or settings.models,
        tune=_names(tune) if tune else settings.tune,
    )
    if settings.folds < 2:
        raise ValidationError(f"--folds must be at least 2 (got {settings.folds})")
    settings.tuned_specs()  # unknown model names fail here, before any work
    return settings


def print_round(result: dict[str, Any]) -> None:
    """The leaderboard and the queued batch of a round, as tables."""
    retrain = result["retrain"]
    board = Table(title=f"round {result['round']}: leaderboard ({retrain.get('n_train')} labelled)")
    for col in ("model", "macro-F1", "± sd", "accuracy", "ROC-AUC", "log loss", "exp. recall"):
        board.add_column(col, justify="left" if col == "model" else "right")
    for row in retrain["leaderboard"]:
        mark = " *" if row["model"] == retrain["champion"] else ""
        board.add_row(
            row["model"] + mark,
            *(
                f"{row[k]:.3f}" if row.get(k) is not None else "-"
                for k in ("f1_macro", "f1_macro_sd", "accuracy", "roc_auc", "log_loss",
                          "exp_recall")
            ),
        )
    console.print(board)
    if retrain.get("champion_rule"):
        console.print(retrain["champion_rule"], highlight=False, markup=False)
        console.print(f"champion {retrain['champion']}: {retrain.get('champion_reason')}",
                      highlight=False, markup=False)
    prop = result["propose"]
    queue = Table(
        title=f"round {result['round']}: queued ({prop.get('strategy')}, {prop.get('space')})"
    )
    for col in ("id", "formula", "score", "P champion", "reason"):
        queue.add_column(
            col,
            justify="left" if col in ("formula", "reason") else "right",
            no_wrap=col == "formula",
            overflow="fold",
        )
    for p in prop["proposals"]:
        queue.add_row(
            str(p.get("id", "-")),
            p["formula"],
            f"{p['acquisition_score']:.3f}",
            f"{p.get('p_champion', float('nan')):.3f}",
            p.get("reason", ""),
        )
    console.print(queue)
    console.print(
        f"flow run {result['flow_run_id']}; {result['n_new_labels']} new labels; champion "
        f"{retrain['champion']}{' (reused)' if retrain.get('reused') else ''}; "
        f"{len(prop['proposals'])} proposals{' (reused)' if prop.get('reused') else ''}; "
        f"tasks on {result.get('runner')}",
        highlight=False,
    )


def round_command(
    ctx: typer.Context,
    round_number: int | None = typer.Option(
        None, "--round", help="Round number (default: resume or next)."
    ),
    space: str | None = typer.Option(None, "--space", help="Design space (default: config)."),
    strategy: str | None = typer.Option(None, "--strategy", help="Acquisition (default: config)."),
    batch: int | None = typer.Option(None, "--batch", help="Proposals to queue (default: config)."),
    folds: Folds = None,
    trials: Trials = None,
    timeout: Timeout = None,
    models: Models = None,
    tune: Tune = None,
    dask: bool = typer.Option(False, "--dask", help="Run tasks on a local Dask cluster."),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Scheduler of an existing Dask cluster."
    ),
    workers: int = typer.Option(2, "--workers", help="Local threads or Dask workers."),
    as_json: AsJson = False,
) -> None:
    """Run one closed-loop round now: retrain, then propose; print leaderboard and queue."""
    cfg = state(ctx).config()
    result = run_round(
        cfg,
        round_number=round_number,
        space=space,
        strategy=strategy,
        batch=batch,
        settings=_settings(cfg, folds, trials, timeout, models, tune),
        runner=_runner(dask, dask_address, workers),
    )
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        print_round(result)


def run_round(
    cfg: NasiconConfig,
    *,
    settings,
    runner,
    round_number=None,
    space=None,
    strategy=None,
    batch=None,
) -> dict[str, Any]:
    """Preflight checks, then the ``closed_loop_round`` flow."""
    space = space or cfg.proposals.space
    preflight(cfg, space=space, strategy=strategy)
    from flows.ephemeral import children_die_with_parent
    from flows.round import closed_loop_round

    children_die_with_parent()  # Prefect's temporary server stops even on SIGKILL

    return closed_loop_round(
        cfg,
        settings,
        round_number=round_number,
        space=space,
        strategy=strategy,
        batch=batch,
        figures_dir=Path(cfg.data.reports_dir),
        runner=runner,
    )


def serve_command(ctx: typer.Context) -> None:
    """Serve the deployments (nightly round on the configured cron) until interrupted."""
    cfg = state(ctx).config()
    preflight(cfg, space=cfg.proposals.space)
    from flows.deployments import serve
    from flows.ephemeral import children_die_with_parent

    children_die_with_parent()  # Prefect's temporary server stops even on SIGKILL

    serve(cfg)


def ingest_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Batch CSV of outcomes (see nasicon record batch)."),
    recorded_by: str | None = typer.Option(None, "--by", help="Who recorded the results."),
    min_new_labels: int | None = typer.Option(
        None, "--min-new-labels", help="Labels that trigger a round (default: config)."
    ),
    as_json: AsJson = False,
) -> None:
    """Record a batch of outcomes; start a round when enough new labels have arrived."""
    cfg = state(ctx).config()
    if not path.is_file():
        raise DataMissingError(f"batch file {path} does not exist")
    preflight(cfg, space=cfg.proposals.space)
    from flows.ephemeral import children_die_with_parent
    from flows.ingest import ingest_flow

    children_die_with_parent()  # Prefect's temporary server stops even on SIGKILL

    out = ingest_flow(
        cfg,
        path,
        _settings(cfg, None, None, None),
        recorded_by=recorded_by,
        min_new_labels=min_new_labels,
    )
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    from experiments.batch import batch_format

    console.print(f"{path}: {out['summary']} (read as {batch_format(path)})", highlight=False)
    console.print(
        f"{out['new_labels']} new labels since the last round (threshold {out['threshold']})",
        highlight=False,
    )
    if out["round"] is not None:
        print_round(out["round"])


def demo_command(
    ctx: typer.Context,
    trials: int = typer.Option(10, "--trials", help="Optuna trials per tuned model."),
) -> None:
    """The main job (make demo): one closed-loop round on a fresh registry.

    Initialises the registry, imports the DFT data set, the literature records and the
    compositions reported as made (experimental labels for the retrain), runs one
    closed-loop round, prints the leaderboard and the queue and writes the figures.
    """
    from experiments.importers.dft import dft_dataset_files, import_dft
    from experiments.importers.literature import import_literature
    from experiments.importers.made import import_made, read_made_compositions
    from registry import Registry

    cfg = state(ctx).config()
    start = time.perf_counter()
    dft_dataset_files(cfg.data.dft_path)  # raises the missing-data message
    if not Path(cfg.data.literature_path).is_file():
        raise DataMissingError(
            f"literature records not found at {cfg.data.literature_path} (Zuo et al. 2026, "
            "../shared/data/literature; set data.literature_path)"
        )
    read_made_compositions(cfg.data.made_path)  # raises the missing-data message
    with Registry.from_config(cfg, check_schema=False) as registry:
        console.print(
            f"registry {cfg.database.url}: schema {registry.init_schema()}", highlight=False
        )
        console.print(str(import_dft(registry, cfg.data.dft_path)), highlight=False)
        console.print(str(import_literature(registry, cfg.data.literature_path)), highlight=False)
        console.print(import_made(registry, cfg.data.made_path).summary(), highlight=False)
    result = run_round(
        cfg, settings=_settings(cfg, None, trials, None), runner=_runner(False, None, 2)
    )
    print_round(result)
    figures = ", ".join(Path(p).name for p in result["retrain"].get("figures", {}).values())
    console.print(
        f"figures in {cfg.data.reports_dir}: {figures or 'none new'}; "
        f"main job finished in {time.perf_counter() - start:.0f} s",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``round``, ``serve``, ``ingest`` and ``demo``."""
    app.command("round")(round_command)
    app.command("serve")(serve_command)
    app.command("ingest")(ingest_command)
    app.command("demo")(demo_command)
