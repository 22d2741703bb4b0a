"""``nasicon conductivity train|show``: the conductivity regressor (log10 sigma at 25 C)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from loop.errors import ValidationError
from nasicon.cli.context import config as _config
from nasicon.cli.context import open_registry as _registry
from nasicon.cli.options import AsJson

console = Console(soft_wrap=True)

conductivity_app = typer.Typer(
    help="Conductivity model: log10 sigma (S/cm) at 25 C with calibrated uncertainty.",
    no_args_is_help=True,
)


def _report(doc: dict[str, Any]) -> None:
    c, m = doc["counts"], doc["metrics"]
    console.print(
        f"{c['records']} conductivity records -> {c['targets_25c']} 25 C targets from "
        f"{c['papers']} sources ({c['measured_25c']} measured at 25 C, {c['arrhenius_25c']} "
        f"through an Arrhenius fit of the same composition and source); {c['not_at_25c']} "
        "(composition, source) groups measured at one other temperature only, not used",
        highlight=False,
    )
    console.print(
        f"{m['algorithm']}, {m['folds']}-fold leave-papers-out CV (compositions purged): "
        f"68 % interval = mean +- sd, 95 % = mean +- {doc['scale_95'] / doc['scale_68']:.2f} sd",
        highlight=False,
    )
    for ion, r in m["per_ion"].items():
        rho = "n/a" if r["spearman"] is None else f"{r['spearman']:.2f}"
        console.print(
            f"  {ion}: n {r['n']}, MAE {r['mae']:.2f} decades, Spearman {rho}, coverage "
            f"68 % {r['coverage_68']:.2f}, 95 % {r['coverage_95']:.2f}",
            highlight=False,
        )
    few = [ion for ion in ("Li", "Na") if c["per_ion"].get(ion, 0) < 20]
    for ion in few:
        console.print(
            f"  {ion}: {c['per_ion'].get(ion, 0)} rows, too few: {ion} predictions are out of "
            "domain with a widened sd",
            highlight=False,
        )
    console.print(
        f"artifact: {doc['artifact_path']} (sha256 {doc['artifact_sha256'][:12]})", highlight=False
    )


@conductivity_app.command("train")
def train(
    ctx: typer.Context,
    algorithm: str = typer.Option("extra_trees", help="extra_trees or random_forest."),
    seed: int = typer.Option(0, help="Random seed of the trees."),
    as_json: AsJson = False,
) -> None:
    """Fit the conductivity model on the registry's conductivity records and store it."""
    from flows.services.conductivity import train_conductivity
    from loop.conductivity.model import ALGORITHMS

    if algorithm not in ALGORITHMS:
        raise ValidationError(f"--algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    with _registry(ctx) as registry:
        doc = train_conductivity(registry, _config(ctx), algorithm=algorithm, seed=seed)
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    _report(doc)


@conductivity_app.command("show")
def show(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The stored conductivity model: data counts, CV metrics per ion, interval coverage."""
    from flows.services.conductivity import model_dir, stored_model

    cfg = _config(ctx)
    found = stored_model(cfg)
    if found is None:
        raise ValidationError(
            f"no conductivity model in {model_dir(cfg)}; run nasicon conductivity train"
        )
    _, doc = found
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    _report(doc)


@conductivity_app.command("predict")
def predict(
    ctx: typer.Context,
    formulas: list[str] = typer.Argument(..., help="NASICON formulas (Li or Na)."),
    as_json: AsJson = False,
) -> None:
    """log10 sigma (S/cm) at 25 C +- sd of each formula, with the domain check."""
    from flows.services.conductivity import model_dir, predict_conductivity, stored_model
    from loop.conductivity.features import formula_features

    formula_features(formulas)  # a refused formula: one line, before the model is loaded
    cfg = _config(ctx)
    found = stored_model(cfg)
    if found is None:
        raise ValidationError(
            f"no conductivity model in {model_dir(cfg)}; run nasicon conductivity train"
        )
    preds = predict_conductivity(found[0], formulas)
    rows = [{"formula": f, **p} for f, p in zip(formulas, preds, strict=True)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        note = "" if r["in_domain"] else f"  out of domain: {r['reason']}"
        console.print(
            f"{r['formula']}: log10 sigma {r['log10_sigma_s_cm']:.2f} ± {r['sd']:.2f} "
            f"(sigma ~ {10 ** r['log10_sigma_s_cm']:.2g} S/cm){note}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add the ``conductivity`` group to ``app``."""
    app.add_typer(conductivity_app, name="conductivity")
