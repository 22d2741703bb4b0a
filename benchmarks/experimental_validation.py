"""Benchmark of issue 13: models that predict the furnace, not only the DFT labels.

In one run, on the 3881 DFT labels (Ehull(1000 K) <= 0) and the 32 compositions reported
as made (``ouyang2021_made_compositions.json``; all 32 are also DFT rows, 20 DFT-positive):

1. every zoo model (and the published tolerance factor) in two regimes, same 10 folds:
   (a) DFT labels only, uncalibrated (the leaderboard until now) and (b) DFT labels with
   the made compositions as experimental labels (weight 5, replacing their DFT label),
   each of none / sigmoid / isotonic calibration fitted inside every fold, the method with
   the lowest DFT log loss kept; DFT accuracy, macro-F1, ROC-AUC, Brier, log loss, ECE,
   recall on the 32 (out of fold: never scored on a row the model trained on), which were
   missed, and P for the four parents (out of fold, and from the model fitted on all rows);
2. the champion by the old rule (DFT macro-F1) and by :data:`CHAMPION_RULE`;
3. the variants tried (``experimental_variants.py``), a leave-one-element-out check of
   generalisation, and the champion re-scored on folds of another seed;
4. figures: reliability diagrams and the recall-vs-F1 scatter under ``docs/figures/``.

Usage: ``python benchmarks/experimental_validation.py [--folds 10] [--quick] [--no-report]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.experimental_variants import TUNED_GB, Data, variants
from benchmarks.report import write_section
from experiments.importers.dft import read_dft_dataset
from loop.descriptors import NUMERIC_DESCRIPTORS, describe_formulas
from loop.evaluation.calibration import choose_calibration
from loop.evaluation.cv import fit_estimator
from loop.evaluation.experimental import (
    NO_LABEL,
    DualCVResult,
    cross_validate_with_experiments,
    training_labels,
)
from loop.evaluation.figures import (
    experimental_tradeoff_figure,
    reliability_figure,
)
from loop.evaluation.selection import (
    CHAMPION_RULE,
    select_champion,
    select_champion_with_experiments,
)
from loop.models import MODELS
from loop.models.calibration import CALIBRATION_METHODS, calibrated
from loop.models.spec import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FIGURES = ROOT / "docs" / "figures"
PARENTS = ("NaZr2(PO4)3", "NaTi2(PO4)3", "Na3Zr2Si2PO12", "Na4Zr2(SiO4)3")
GOAL_F1, PAPER_RECALL, AIM_RECALL = 0.88, 18, 29
EXP_WEIGHT = 5.0
log = logging.getLogger("experimental_validation")


def load(dft: Path, made: Path, folds: int) -> tuple[Data, pd.DataFrame]:
    """Engine descriptors of every DFT row plus made compositions not in the DFT set."""
    frame = read_dft_dataset(dft)
    table, parsed = describe_formulas(frame["CompName"])
    assert not parsed.errors, parsed.errors[:3]
    doc = json.loads(made.read_text())
    made_formulas = [*doc["reported_exp_comps"], *doc["new_exp_comps"]]
    made_table, made_parsed = describe_formulas(made_formulas)
    assert not made_parsed.errors, made_parsed.errors
    row_of = {f: i for i, f in enumerate(table["formula"])}
    extra = made_table[~made_table["formula"].isin(row_of)]
    table = pd.concat([table, extra], ignore_index=True)
    row_of = {f: i for i, f in enumerate(table["formula"])}
    n = len(table)
    y_dft = np.full(n, NO_LABEL)
    y_dft[: len(frame)] = (frame["NewEhullLst"].to_numpy() <= 0).astype(int)
    ehull = np.full(n, np.nan)
    ehull[: len(frame)] = frame["NewEhullLst"].to_numpy(float)
    y_exp = np.full(n, NO_LABEL)
    y_exp[[row_of[f] for f in made_table["formula"]]] = 1
    parents_canon = describe_formulas(list(PARENTS))[0]["formula"]
    parents = {p: row_of[c] for p, c in zip(PARENTS, parents_canon, strict=True)}
    data = Data(table[list(NUMERIC_DESCRIPTORS)].to_numpy(float), y_dft, y_exp, ehull,
                table["formula"].to_numpy(object), parents, folds=folds)
    return data, table


def spec_params(spec: ModelSpec) -> dict:
    """Benchmark params: tuned gradient boosting (as retrain tunes it), else defaults."""
    base = {"n_jobs": 1} if spec.name == "random_forest" else {}
    return {**base, **(TUNED_GB if spec.name == "gradient_boosting" else {})}


def columns(spec: ModelSpec) -> list[int]:
    return [list(NUMERIC_DESCRIPTORS).index(f) for f in spec.features]


def run_dual(data: Data, est, spec: ModelSpec, exp: bool) -> DualCVResult:
    return cross_validate_with_experiments(
        est, data.X[:, columns(spec)], y_dft=data.y_dft, y_exp=data.y_exp,
        train_on_experiments=exp, experimental_weight=EXP_WEIGHT, names=data.names,
        folds=data.folds, seed=data.seed)


def deployed_parents(data: Data, est, spec: ModelSpec, exp: bool = True) -> dict[str, float]:
    """P of the parents from the model fitted on every row (in-sample for their labels)."""
    y, w = training_labels(data.y_dft, data.y_exp, train_on_experiments=exp,
                           experimental_weight=EXP_WEIGHT)
    keep = y != NO_LABEL
    X = data.X[:, columns(spec)]
    model = fit_estimator(est, X[keep], y[keep], w[keep])
    idx = list(data.parents.values())
    if hasattr(model, "predict_proba"):
        try:
            return dict(zip(data.parents, model.predict_proba(X[idx])[:, 1], strict=True))
        except AttributeError:
            pass
    return dict.fromkeys(data.parents, float("nan"))


def f(v, d: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{d}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dft", type=Path, default=SHARED / "nasicon_dft")
    parser.add_argument("--made", type=Path,
                        default=SHARED / "experimental" / "ouyang2021_made_compositions.json")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--quick", action="store_true",
                        help="Only the TF and gradient-boosting models, no variants.")
    parser.add_argument("--no-report", action="store_true", help="Print only.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    warnings.filterwarnings("ignore", category=UserWarning)
    threadpool_limits(limits=1)
    start = time.perf_counter()
    data, _ = load(args.dft, args.made, args.folds)
    n_made = int((data.y_exp == 1).sum())
    made_dft_pos = int(((data.y_exp == 1) & (data.y_dft == 1)).sum())

    specs = list(MODELS.values())
    if args.quick:
        specs = [s for s in specs if s.name.startswith(("tolerance", "gradient"))]
    dft_only: dict[str, DualCVResult] = {}
    with_exp: dict[str, DualCVResult] = {}
    chosen: dict[str, str] = {}
    cal_tables: dict[str, list[dict]] = {}
    deployed: dict[str, dict[str, float]] = {}
    for spec in specs:
        base = spec.build(spec_params(spec), random_state=0)
        dft_only[spec.name] = run_dual(data, base, spec, exp=False)
        # the published line is a fixed reference: calibrating it would refit its margin
        methods = ("none",) if spec.name == "tolerance_factor_published" else CALIBRATION_METHODS
        per_method = {m: run_dual(data, calibrated(base, m), spec, exp=True) for m in methods}
        choice = choose_calibration({m: r.dft for m, r in per_method.items()})
        chosen[spec.name], cal_tables[spec.name] = choice.method, choice.table()
        with_exp[spec.name] = per_method[choice.method]
        deployed[spec.name] = deployed_parents(data, calibrated(base, choice.method), spec)
        r = with_exp[spec.name]
        log.info("%s: calibration %s, DFT F1 %.4f, made accepted %d/%d", spec.name,
                 choice.method, r.f1_macro, r.experimental.accepted, n_made)

    old_champion = select_champion({n: r.f1_macro for n, r in dft_only.items()})
    ospec = MODELS[old_champion]
    old_deployed = deployed_parents(data, ospec.build(spec_params(ospec)), ospec, exp=False)
    decision = select_champion_with_experiments(
        {n: r.f1_macro for n, r in with_exp.items()},
        {n: r.experimental for n, r in with_exp.items()},
        log_loss={n: r.dft.get("log_loss") for n, r in with_exp.items()})
    champ = decision.champion
    cspec = MODELS[champ]
    reseed = cross_validate_with_experiments(
        calibrated(cspec.build(spec_params(cspec)), chosen[champ]),
        data.X[:, columns(cspec)], y_dft=data.y_dft, y_exp=data.y_exp,
        experimental_weight=EXP_WEIGHT, folds=args.folds, seed=1)
    tf_accepted = dft_only["tolerance_factor_published"].experimental.accepted

    tried = [] if args.quick else [v() for v in variants(data)]
    loeo = {} if args.quick else leave_one_element_out(data)
    body = report(args, data, specs, dft_only, with_exp, chosen, cal_tables, deployed,
                  decision, (old_champion, old_deployed), reseed, tf_accepted, tried, loeo, n_made,
                  made_dft_pos, time.perf_counter() - start)
    figures(data, with_exp, dft_only, tried, champ, n_made, tf_accepted)
    print(body)
    if not args.no_report and not args.quick:
        cmd = "python benchmarks/experimental_validation.py" + (
            "" if args.folds == 10 else f" --folds {args.folds}")
        print(write_section("experimental", "Experimental validation: models that predict "
                            "the furnace (issue 13)", cmd, body))


def leave_one_element_out(data: Data) -> dict[str, tuple[float, float]]:
    """Mean and sd of macro-F1 over M elements, each held out with every composition that
    contains it (DFT labels): generalisation to chemistry the model has not seen."""
    from loop.chemistry import parse_nasicon

    has = data.y_dft != NO_LABEL
    elements = [{ion.element for ion, _ in parse_nasicon(n).m_site} for n in data.names[has]]
    X, y = data.X[has], data.y_dft[has]
    out = {}
    for name in ("tolerance_factor", "random_forest", "gradient_boosting",
                 "gradient_boosting_monotone"):
        spec = MODELS[name]
        scores = []
        for el in sorted(set().union(*elements)):
            test = np.array([el in s for s in elements])
            model = spec.build(spec_params(spec)).fit(X[~test][:, columns(spec)], y[~test])
            pred = model.predict(X[test][:, columns(spec)])
            scores.append(f1_score(y[test], pred, average="macro", zero_division=0.0))
        out[name] = (float(np.mean(scores)), float(np.std(scores, ddof=1)))
    return out


def figures(data, with_exp, dft_only, tried, champ, n_made, tf_accepted) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    has = data.y_dft != NO_LABEL
    curves = {n: (data.y_dft[has], r.oof_score[has]) for n, r in with_exp.items()
              if r.probability}
    reliability_figure(curves).savefig(FIGURES / "experimental-reliability.png", dpi=120)
    points, groups = {}, {}
    for group, items in (
        ("zoo, DFT labels, uncalibrated", {f"{n} (DFT only)": r for n, r in dft_only.items()}),
        ("zoo, + experimental labels, calibrated",
         {f"{n} (+exp)": r for n, r in with_exp.items()}),
    ):
        for label, r in items.items():
            if r.f1_macro > 0.55:  # gnb (0.50) would squeeze the axis
                points[label], groups[label] = (r.f1_macro, r.experimental.accepted), group
    for v in tried:
        points[v.name], groups[v.name] = (v.f1_macro, v.accepted), "variants tried"
    experimental_tradeoff_figure(
        points, n_made=n_made, groups=groups, f1_goal=GOAL_F1,
        recall_reference=tf_accepted, highlight=(f"{champ} (+exp)",),
    ).savefig(FIGURES / "experimental-recall-vs-f1.png", dpi=120)


def report(args, data, specs, dft_only, with_exp, chosen, cal_tables, deployed, decision,
           old, reseed, tf_accepted, tried, loeo, n_made, made_dft_pos,
           seconds) -> str:
    champ = decision.champion
    old_champion, old_deployed = old
    c = with_exp[champ]
    parents_ok = all(c.oof_score[i] >= 0.5 for i in data.parents.values())
    rows = [
        "| model | calibration | DFT acc. | DFT macro-F1 | ROC-AUC | Brier | log loss | ECE "
        "| made accepted (DFT only -> +exp) | P parents, out of fold | P parents, fitted on all "
        "| eligible |", "|" + "---|" * 12]
    for spec in specs:
        n, r, d = spec.name, with_exp[spec.name], dft_only[spec.name]
        oof = ", ".join(f(r.oof_score[i], 2) for i in data.parents.values())
        fit_all = ", ".join(f(v, 2) for v in deployed[n].values())
        star = " **(champion)**" if n == champ else ""
        rows.append(
            f"| {n}{star} | {chosen[n]} | {f(r.dft['accuracy'])} | {f(r.f1_macro)} "
            f"| {f(r.dft['roc_auc'])} | {f(r.dft.get('brier'))} | {f(r.dft.get('log_loss'))} "
            f"| {f(r.dft.get('ece'))} | {d.experimental.accepted} -> {r.experimental.accepted} "
            f"| {oof} | {fit_all} | {'yes' if decision.eligible[n] else 'no'} |")
    cal_rows = ["| model | " + " | ".join(f"{m} log loss / ECE / macro-F1"
                                         for m in CALIBRATION_METHODS) + " |",
                "|" + "---|" * (len(CALIBRATION_METHODS) + 1)]
    for n, table in cal_tables.items():
        by_method = {t["method"]: t for t in table}
        cells = [f"{f(by_method[m]['log_loss'])} / {f(by_method[m]['ece'])} / "
                 f"{f(by_method[m]['f1_macro'])}" if m in by_method else "-"
                 for m in CALIBRATION_METHODS]
        cal_rows.append(f"| {n} | " + " | ".join(cells) + " |")
    tried_rows = ["| variant | note | DFT macro-F1 | made accepted | P parents (out of fold) "
                  "| missed |", "|---|---|---|---|---|---|"]
    for v in tried:
        tried_rows.append(
            f"| {v.name} | {v.note} | {v.f1_macro:.3f} | {v.accepted}/{v.n_made} | "
            + ", ".join(f(p, 2) for p in v.parents.values())
            + f" | {', '.join(v.missed)} |")
    loeo_rows = ["| model | macro-F1 mean ± sd over held-out elements |", "|---|---|"]
    loeo_rows += [f"| {n} | {m:.3f} ± {s:.3f} |" for n, (m, s) in loeo.items()]
    acc = c.experimental.accepted
    goal = (f"| champion ({champ}, {chosen[champ]} calibration, experimental labels) DFT "
            f"{args.folds}-fold macro-F1 | {c.f1_macro:.3f} | >= {GOAL_F1} "
            f"({'meets' if c.f1_macro >= GOAL_F1 else 'misses'}) |\n"
            f"| same parameters, folds of seed 1 | {reseed.f1_macro:.3f}, made accepted "
            f"{reseed.experimental.accepted}/{n_made} | |\n"
            f"| made compositions accepted, out of fold | {acc}/{n_made} | >= published TF "
            f"({tf_accepted}/{n_made} on engine t1, t2; paper {PAPER_RECALL}/32): "
            f"{'meets' if acc >= tf_accepted else 'misses'}; aim >= {AIM_RECALL}: "
            f"{'meets' if acc >= AIM_RECALL else 'misses'} |\n"
            f"| the four parents P >= 0.5, out of fold | "
            + ", ".join(f"{p} {c.oof_score[i]:.2f}" for p, i in data.parents.items())
            + f" | all >= 0.5 ({'meets' if parents_ok else 'misses'}) |\n"
            f"| missed by the champion | {', '.join(c.experimental.missed) or 'none'} | |\n"
            f"| champion by the old rule (DFT macro-F1 only, uncalibrated, DFT labels) | "
            f"{old_champion}: {dft_only[old_champion].f1_macro:.3f}, made accepted "
            f"{dft_only[old_champion].experimental.accepted}/{n_made} | |\n"
            f"| old champion fitted on all DFT rows (what prediction used): P parents | "
            + ", ".join(f"{p} {v:.4f}" for p, v in old_deployed.items())
            + " | (in-sample: each parent's own DFT label was fitted) |")
    return f"""
Data: {int((data.y_dft != NO_LABEL).sum())} DFT compositions; the {n_made} made
compositions are all DFT rows too ({made_dft_pos} of them DFT-positive), so every figure on
them is out of fold (from the fold that held the composition out), for the DFT-only
models as well. "+exp" = made compositions trained as experimental positives (weight
{EXP_WEIGHT:g}, replacing their DFT label); DFT figures are always against the DFT label.
gradient_boosting uses tuned parameters (`TUNED_GB`, as retrain tunes it); svm, knn,
decision_tree are untuned defaults here. Wall time {seconds:.0f} s (1 thread).

| goal | result | target |
|---|---|---|
{goal}

{CHAMPION_RULE}

Every zoo model, +exp regime with its chosen calibration (parents in the order
{', '.join(PARENTS)}; "fitted on all" is in-sample for rows with an experimental label):

{chr(10).join(rows)}

Calibration measured inside every fold (DFT log loss / ECE / macro-F1; the lowest log loss
is chosen, `none` unless beaten by > 0.001):

{chr(10).join(cal_rows)}

What was tried (same folds; gradient boosting with `TUNED_GB` unless noted):

{chr(10).join(tried_rows)}

Generalisation to unseen chemistry (leave one M element out, DFT labels only,
uncalibrated; same parameters as above):

{chr(10).join(loeo_rows)}

Figures: `docs/figures/experimental-reliability.png` (reliability diagram per model,
out-of-fold P against DFT labels; its ECE is pooled over all rows, the tables' is the
mean over folds), `docs/figures/experimental-recall-vs-f1.png`.
"""


if __name__ == "__main__":
    main()
