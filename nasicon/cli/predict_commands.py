"""``nasicon predict`` and ``nasicon models list|show``: the stored models, used and inspected.

``predict`` loads the hashed skops artifacts of a round (the champion's by default) and gives
every model's P(accessible) of each formula, with the tolerance-factor verdict and whether
the formula lies in the training domain of the round (``in_domain``, ``domain_reason``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from loop.errors import CompositionError, ValidationError
from nasicon.cli.context import state
from nasicon.cli.options import AsJson, OnlyRound
from nasicon.cli.output import Table

if TYPE_CHECKING:
    import numpy as np

    from registry import ModelRunRecord, Registry

console = Console(soft_wrap=True)

models_app = typer.Typer(help="Trained models: leaderboard and details.", no_args_is_help=True)


def _prediction_runs(registry: Registry, round_number: int | None) -> list[ModelRunRecord]:
    from flows.services.rounds import runs_of_round

    with registry.unit_of_work(write=False) as uow:
        if round_number is not None:
            runs = uow.model_runs.find(round_number)
            if not runs:
                raise ValidationError(
                    f"round {round_number} has no model runs (see nasicon models list)"
                )
            return runs
        champion = uow.model_runs.champion()
    if champion is None:
        raise ValidationError("no trained models in the registry; run nasicon retrain first")
    return runs_of_round(registry, champion.round_number)


def predict(
    ctx: typer.Context,
    formulas: list[str] = typer.Argument(..., help="NASICON formulas, any common notation."),
    round_number: int | None = typer.Option(
        None, "--round", help="Use this round's models (default: the champion's round)."
    ),
    as_json: AsJson = False,
) -> None:
    """P(accessible) of each formula from every model of a round and from the champion."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from flows.services.domain import domain_verdict, load_domain
    from flows.services.rounds import round_text
    from loop.descriptors import TF_OUT_OF_DOMAIN, describe_formulas
    from loop.models import MODELS, TOLERANCE_FACTOR, PublishedToleranceFactor
    from registry import Registry
    from registry.artifacts import load_artifact

    table, parsed = describe_formulas(formulas)
    if parsed.errors:
        raise CompositionError(parsed.errors[0][2])
    cfg = state(ctx).config()
    with Registry.from_config(cfg) as registry:
        runs = _prediction_runs(registry, round_number)
    probabilities: dict[str, np.ndarray] = {}
    tf_model: Any = None
    for run in runs:
        if run.artifact_path is None or run.artifact_sha256 is None:
            continue
        model = load_artifact(run.artifact_path, run.artifact_sha256)
        features = list(run.metrics.get("features") or MODELS[run.algorithm].features)
        with threadpool_limits(limits=1):
            p = model.predict_proba(table[features].to_numpy(float))[:, 1]
        probabilities[run.algorithm] = p
        if run.algorithm == TOLERANCE_FACTOR:
            tf_model = model
    champion = next((r for r in runs if r.is_champion), None)
    in_domain, why = domain_verdict(load_domain(runs), table, parsed.batch)
    X_tf = table[["t1", "t2"]].to_numpy(float)
    if tf_model is None:  # the round has no refitted tolerance factor: the published line
        tf_model = PublishedToleranceFactor().fit(np.array([[0, 0], [1, 1]]), np.array([0, 1]))
    p_stable = tf_model.predict_proba(X_tf)[:, 1]
    accessible = tf_model.predict(X_tf) == 1
    sodium = [c.mobile_ion == "Na" for c in parsed.compositions]  # tolerance factor: Na only
    records = []
    for i, formula in enumerate(table["formula"]):
        records.append(
            {
                "formula": formula,
                "tolerance_factor": {
                    "t1": round(float(X_tf[i, 0]), 5),
                    "t2": round(float(X_tf[i, 1]), 5),
                    "accessible": bool(accessible[i]) if sodium[i] else None,
                    "p_stable": round(float(p_stable[i]), 4) if sodium[i] else None,
                    "in_domain": sodium[i],
                    "reason": None if sodium[i] else TF_OUT_OF_DOMAIN,
                },
                "models": {n: round(float(p[i]), 4) for n, p in probabilities.items()},
                "in_domain": in_domain[i],
                "domain_reason": why[i],
                "champion": {
                    "name": None if champion is None else champion.algorithm,
                    "run_id": None if champion is None else champion.id,
                    "p": None if champion is None or champion.algorithm not in probabilities
                    else round(float(probabilities[champion.algorithm][i]), 4),
                },
            }
        )
    # -- conductivity (issue 14B): log10 sigma at 25 C when a conductivity model is stored
    from flows.services.conductivity import conductivity_of

    conductivity = conductivity_of(cfg, list(table["formula"]))
    for rec, cond in zip(records, conductivity or [], strict=False):
        rec["conductivity"] = cond
    # -- end conductivity
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    out = Table(title=f"P(accessible), round {round_text(runs[0].round_number)}")
    out.add_column("", style="bold")
    for rec in records:
        out.add_column(rec["formula"], justify="right")
    out.add_row("t1, t2", *[f"{r['tolerance_factor']['t1']:.3f}, {r['tolerance_factor']['t2']:.3f}"
                            for r in records])
    out.add_row("tolerance factor", *[
        "out of domain (Li)" if not r["tolerance_factor"]["in_domain"] else
        f"{'accessible' if r['tolerance_factor']['accessible'] else 'not accessible'} "
        f"(P_stable {r['tolerance_factor']['p_stable']:.2f})" for r in records
    ])
    out.add_row("training domain", *[
        "-" if r["in_domain"] is None else "in" if r["in_domain"] else "out" for r in records
    ])
    for name in probabilities:
        star = " *" if champion is not None and name == champion.algorithm else ""
        out.add_row(f"{name}{star}", *[f"{r['models'][name]:.3f}" for r in records])
    if conductivity is not None:
        out.add_row("log10 sigma 25 C (S/cm)", *[
            f"{c['log10_sigma_s_cm']:.2f} ± {c['sd']:.2f}"
            + ("" if c["in_domain"] else " (out of domain)") for c in conductivity
        ])
    console.print(out)
    if champion is not None:
        console.print(f"* champion: {champion.algorithm}", highlight=False)
    if not all(sodium):
        console.print(f"Li formulas: {TF_OUT_OF_DOMAIN}; the synthesis models are sodium "
                      "models too", highlight=False)
    for r in records:
        if r["in_domain"] is False:
            console.print(f"{r['formula']}: outside the training domain: {r['domain_reason']}",
                          highlight=False, markup=False)


def _run_summary(run: ModelRunRecord) -> dict[str, Any]:
    m = run.metrics
    return {
        "id": run.id,
        "round": run.round_number,
        "model": run.algorithm,
        "f1_macro": m.get("f1_macro"),
        "f1_macro_sd": m.get("f1_macro_sd"),
        "accuracy": m.get("accuracy"),
        "balanced_accuracy": m.get("balanced_accuracy"),
        "roc_auc": m.get("roc_auc"),
        "is_champion": run.is_champion,
        "n_train": run.n_train,
        "artifact_path": run.artifact_path,
        "artifact_sha256": run.artifact_sha256,
        "created_at": run.created_at.isoformat(),
    }


def _plain(value: Any) -> Any:
    """Frozen registry mappings/tuples -> JSON-ready dicts/lists."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@models_app.command("list")
def models_list(
    ctx: typer.Context,
    round_number: OnlyRound = None,
    as_json: AsJson = False,
) -> None:
    """Every stored model run (or one round's), best macro-F1 first within each round."""
    from flows.services.rounds import round_text
    from registry import Registry

    with Registry.from_config(state(ctx).config()) as registry:
        runs = registry.run(lambda uow: uow.model_runs.find(round_number), write=False)
    runs = sorted(runs, key=lambda r: (-(r.round_number if r.round_number is not None else -1),
                                       -(r.metrics.get("f1_macro") or 0.0)))
    rows = [_run_summary(r) for r in runs]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no model runs stored yet (run nasicon retrain)")
        return
    table = Table(title="model runs")
    for col in ("id", "round", "model", "macro-F1", "± sd", "accuracy", "ROC-AUC", "champion",
                "n", "artifact"):
        table.add_column(col, justify="left" if col in ("model", "artifact") else "right")
    for r in rows:
        table.add_row(
            str(r["id"]), round_text(r["round"]), r["model"], f"{r['f1_macro']:.3f}",
            f"{r['f1_macro_sd']:.3f}", f"{r['accuracy']:.3f}", f"{r['roc_auc']:.3f}",
            "*" if r["is_champion"] else "", str(r["n_train"]),
            (r["artifact_sha256"] or "-")[:12],
        )
    console.print(table)


def _find_run(registry: Registry, model: str, round_number: int | None) -> ModelRunRecord:
    from flows.services.rounds import runs_of_round

    with registry.unit_of_work(write=False) as uow:
        if model.isdigit():
            return uow.model_runs.get(int(model))
        champion = uow.model_runs.champion()
        runs = uow.model_runs.find(round_number)
    if round_number is None:
        if champion is not None:
            runs = runs_of_round(registry, champion.round_number)
        elif runs:  # no champion anywhere: the newest run of the name
            runs = [r for r in runs if r.algorithm == model][-1:]
    match = [r for r in runs if r.algorithm == model]
    if not match:
        where = "" if round_number is None else f" in round {round_number}"
        raise ValidationError(f"no model run of {model!r}{where} (see nasicon models list)")
    return match[-1]


@models_app.command("show")
def models_show(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model name (e.g. gradient_boosting) or run id."),
    round_number: int | None = typer.Option(
        None, "--round", help="Round of the run (default: the champion's round)."
    ),
    as_json: AsJson = False,
) -> None:
    """One model run: scope, parameters, CV metrics per fold, tuning, artifact check."""
    from flows.services.rounds import round_text
    from registry import Registry
    from registry.artifacts import artifact_status

    with Registry.from_config(state(ctx).config()) as registry:
        run = _find_run(registry, model, round_number)
    status = artifact_status(run.artifact_path, run.artifact_sha256)
    doc = {
        **_run_summary(run),
        "scope": run.scope,
        "hyperparameters": _plain(run.hyperparameters),
        "metrics": _plain(run.metrics),
        "fold_metrics": _plain(run.fold_metrics),
        "training_data_sha256": run.training_data_sha256,
        "library_versions": _plain(run.library_versions),
        "artifact_status": status,
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    m = run.metrics
    console.print(
        f"[bold]{run.algorithm}[/bold] run {run.id}, round {round_text(run.round_number)}"
        + (" (champion)" if run.is_champion else "")
    )
    console.print(f"scope: {run.scope}", highlight=False)
    console.print(f"parameters: {json.dumps(_plain(run.hyperparameters))}", highlight=False)
    console.print(
        f"{m.get('folds')}-fold CV on {run.n_train} labels: macro-F1 {m['f1_macro']:.3f} ± "
        f"{m['f1_macro_sd']:.3f}, accuracy {m['accuracy']:.3f}, balanced accuracy "
        f"{m['balanced_accuracy']:.3f}, ROC-AUC {m['roc_auc']:.3f}; recall accessible "
        f"{m['recall_accessible']:.3f}, not accessible {m['recall_not_accessible']:.3f}",
        highlight=False,
    )
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    console.print(f"confusion (rows true, cols predicted; not acc./acc.): "
                  f"[[{tn}, {fp}], [{fn}, {tp}]]", highlight=False)
    folds = Table(title="folds")
    for col in ("fold", "n", "accuracy", "macro-F1", "bal. acc.", "ROC-AUC"):
        folds.add_column(col, justify="right")
    for f in run.fold_metrics:
        folds.add_row(str(f["fold"]), str(f["n_test"]), f"{f['accuracy']:.3f}",
                      f"{f['f1_macro']:.3f}", f"{f['balanced_accuracy']:.3f}",
                      f"{f['roc_auc']:.3f}")
    console.print(folds)
    if "tuning" in m:
        t = m["tuning"]
        console.print(
            f"tuning: study {t['study']}, best {t['best_value']:.3f} (untuned "
            f"{m['default_f1_macro']:.3f}), {t['n_complete']} complete, {t['n_pruned']} pruned"
            + (f", warm-started from {t['warm_start']}" if t.get("warm_start") else ""),
            highlight=False,
        )
    if "boundary" in m:
        console.print(f"boundary: {m['boundary']['a']:.3f} t1 + t2 <= {m['boundary']['b']:.3f}",
                      highlight=False)
    if m.get("drop_column_importance"):
        top = ", ".join(f"{r['feature']} {r['error_rise'] * 100:+.1f}"
                        for r in m["drop_column_importance"])
        console.print(f"drop-column importance (CV error rise, points): {top}", highlight=False)
    console.print(f"artifact: {run.artifact_path} ({status}), sha256 {run.artifact_sha256}",
                  highlight=False)
    console.print(f"training data sha256 {run.training_data_sha256}; "
                  f"scikit-learn {run.library_versions.get('scikit-learn')}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``predict`` and the ``models`` group to ``app``."""
    app.command("predict")(predict)
    app.add_typer(models_app, name="models")
