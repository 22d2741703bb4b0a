"""Benchmark: campaign backtests on the DFT data set, enhancement factor per strategy.

Every configuration runs its strategies and ``random`` on the same seed sets (seed 20,
batch 8, budget 200: 180 proposed experiments by default) through the recommender
``nasicon propose`` uses (``loop.recommend.build_recommender``) and reports hits (mean, sd),
precision, the enhancement factor hits / (proposed x accessible fraction) and seconds per
campaign. Goal for the label-only signal (what a lab has): enhancement >= 5.3 (ideal
1 / 0.165 = 6.05; random about 1).

Configurations (signal, surrogate, features, minimum distance):

* ``labels-logistic``: the label-only default (issue 14), a logistic regression with a strong
  L2 penalty (C = 0.03, standardised inputs), engine descriptors + element amounts + the
  published tolerance-factor margin, no minimum distance;
* ``labels-logistic-d0.2``: the same with the default minimum distance 0.2 atoms per f.u.;
* ``labels``: the former default, an extra-trees classifier (300 trees) on the same inputs,
  no minimum distance;
* ``labels-d0.2``: the same with the default minimum distance 0.2 atoms per formula unit;
* ``labels-rf``: the default before that, a random forest on the 19 engine descriptors;
* ``ehull``: extra trees + Gaussian process on the revealed Ehull(1000 K) (computed records
  only: a lab never has it), beside the label-only figures.

    python benchmarks/backtest.py [--repeats 10] [--seed 0] [--configs labels,ehull]
        [--section backtest]

``--seed`` picks other seed sets; ``--section`` writes to another section of
docs/benchmarks.md (a run of some configurations beside the full one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section
from experiments.importers.dft import read_dft_dataset
from loop.simulation import CampaignSettings, backtest, dft_pool, discovery_curves_figure
from nasicon.cli.progress import rich_progress
from registry.reports import save_figure

DFT = Path(__file__).resolve().parents[2] / "shared" / "data" / "nasicon_dft"
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
GOAL = 5.3  # label-only

#: name -> (signal, surrogate, feature set, min distance, strategies, description)
CONFIGS: dict[str, tuple[str, str, str, float, list[str], str]] = {
    "labels-logistic": (
        "labels", "logistic-reg", "engine+elements+tf", 0.0, ["exploit"],
        "labels only, the default: logistic regression with a strong L2 penalty (C = 0.03, "
        "standardised inputs), engine descriptors + element amounts + tolerance-factor "
        "margin, no minimum distance",
    ),
    "labels-logistic-d0.2": (
        "labels", "logistic-reg", "engine+elements+tf", 0.2, ["exploit"],
        "the same with the default minimum distance of 0.2 atoms per formula unit",
    ),
    "labels": (
        "labels", "et", "engine+elements+tf", 0.0, ["exploit"],
        "labels only, the former default: extra-trees classifier (300 trees), engine "
        "descriptors + element amounts + tolerance-factor margin, no minimum distance",
    ),
    "labels-d0.2": (
        "labels", "et", "engine+elements+tf", 0.2, ["exploit"],
        "the same with the default minimum distance of 0.2 atoms per formula unit "
        "(Hf~Zr, Ta~Nb, W~Mo, Ho~Y merged)",
    ),
    "labels-rf": (
        "labels", "rf", "engine", 0.0, ["exploit"],
        "labels only, the default before that: random-forest classifier on the 19 engine "
        "descriptors",
    ),
    "ehull": (
        "ehull", "et+gp-ehull", "engine+elements", 0.0, ["exploit"],
        "revealed Ehull(1000 K) (computed records only): extra trees + Gaussian process",
    ),
}  # fmt: skip


def baybe_campaign(pool, seed_rows, settings: CampaignSettings) -> tuple[int, float]:
    """(hits among the proposals, seconds) of one campaign with BayBE's default recommender.

    One discrete parameter whose labels are the formulas and whose computational
    representation is the 19 engine descriptors; Ehull(1000 K) is a minimised target;
    measured compositions are never recommended again.
    """
    import pandas as pd
    from baybe import Campaign
    from baybe.parameters import CustomDiscreteParameter
    from baybe.searchspace import SearchSpace
    from baybe.targets import NumericalTarget

    from loop.descriptors import NUMERIC_DESCRIPTORS

    labels = [str(f) for f in pool.formulas]
    data = pool.descriptors[list(NUMERIC_DESCRIPTORS)].set_axis(labels).astype(float)
    parameter = CustomDiscreteParameter(name="composition", data=data)
    campaign = Campaign(
        searchspace=SearchSpace.from_product([parameter]),
        objective=NumericalTarget(name="ehull", minimize=True).to_objective(),
        allow_recommending_already_measured=False,
    )
    row_of = {f: i for i, f in enumerate(labels)}
    start = time.perf_counter()
    seed = pd.DataFrame({"composition": [labels[i] for i in seed_rows],
                         "ehull": pool.ehull_mev[seed_rows]})  # fmt: skip
    campaign.add_measurements(seed)
    n_labelled, hits = len(seed_rows), 0
    while n_labelled < settings.budget:
        size = min(settings.batch_size, settings.budget - n_labelled)
        rec = campaign.recommend(batch_size=size)
        rows = [row_of[f] for f in rec["composition"]]
        hits += int(pool.labels[rows].sum())
        rec["ehull"] = pool.ehull_mev[rows]
        campaign.add_measurements(rec)
        n_labelled += size
    return hits, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--data", type=Path, default=DFT)
    parser.add_argument(
        "--peer-repeats",
        type=int,
        default=0,
        help="campaigns with BayBE's default recommender (needs the 'peer' extra)",
    )
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument(
        "--section", default="backtest", help="section of docs/benchmarks.md to (re)write"
    )
    args = parser.parse_args()

    pool = dft_pool(read_dft_dataset(args.data))
    settings = CampaignSettings(args.seed_size, args.batch, args.budget)
    rows = []
    figures = []
    results = {}
    for name in args.configs.split(","):
        signal, surrogate, features, distance, strategies, _ = CONFIGS[name]
        start = time.perf_counter()
        with rich_progress(sys.stderr.isatty()) as progress:
            result = backtest(
                pool, strategies, settings=settings, repeats=args.repeats, seed=args.seed,
                surrogate=surrogate, feature_set=features, signal=signal,
                min_distance=distance, progress=progress,
            )  # fmt: skip
        out = result.to_dict()
        results[name] = out
        png = save_figure(
            discovery_curves_figure(
                result,
                title=f"{name}: seed {args.seed_size}, batch {args.batch}, budget {args.budget}, "
                f"{args.repeats} repeats",
            ),
            FIGURES / f"backtest-{name}{f'-seed{args.seed}' if args.seed else ''}.png",
        )  # fmt: skip
        figures.append((name, png))
        for strategy, stats in out["strategies"].items():
            rows.append(
                f"| {name} | {out['signal']} | {strategy} | {stats['hits_mean']:.1f} | {stats['hits_sd']:.1f} | "
                f"{stats['precision']:.1%} | {out['enhancement'][strategy]:.2f} | "
                f"{stats['seconds_per_campaign']:.1f} |"
            )
        print(f"{name}: {json.dumps(out['enhancement'])} ({time.perf_counter() - start:.0f} s)")

    peer_text = "BayBE peer: not run (pass --peer-repeats N with the `peer` extra installed)."
    if args.peer_repeats > 0:
        import baybe

        from loop.simulation import seed_sets

        seeds = seed_sets(len(pool), args.seed_size, args.peer_repeats, args.seed)
        runs = [baybe_campaign(pool, s, settings) for s in seeds]
        hits = np.array([h for h, _ in runs], dtype=float)
        ef = hits.mean() / (settings.n_proposed * pool.accessible_fraction)
        ours = {
            cfg: np.mean(out["strategies"]["exploit"]["hits_per_repeat"][: args.peer_repeats])
            / (settings.n_proposed * pool.accessible_fraction)
            for cfg, out in results.items()
            if "exploit" in out["strategies"]
        }
        ours_text = ", ".join(f"`{k}` exploit {v:.2f}" for k, v in ours.items())
        peer_text = (
            f"BayBE {baybe.__version__} default recommender (Ehull minimised, the 19 engine "
            f"descriptors as one custom parameter, measured compositions excluded), same first "
            f"{args.peer_repeats} seed sets: hits {hits.mean():.1f} +- "
            f"{hits.std(ddof=1) if len(hits) > 1 else 0.0:.1f}, enhancement {ef:.2f}, "
            f"{np.mean([t for _, t in runs]):.0f} s per campaign; ours on the same seed sets: "
            f"{ours_text}."
        )
        print(peer_text)

    best_name, best_strategy, best = max(
        (
            (cfg, s, ef)
            for cfg, out in results.items()
            for s, ef in out["enhancement"].items()
            if s != "random" and out["signal"] == "labels"
        ),
        key=lambda t: t[2],
    )
    any_out = next(iter(results.values()))
    ehull_text = "".join(
        f" Ehull signal (`{cfg}`, a lab never has it): exploit {out['enhancement']['exploit']:.2f}."
        for cfg, out in results.items()
        if out["signal"] == "ehull" and "exploit" in out["enhancement"]
    )
    n = any_out["n_proposed"]
    verdict = "reaches" if best >= GOAL else "does not reach"
    configs = "\n".join(f"- `{k}`: {CONFIGS[k][5]}" for k in results)
    figure_lines = "\n".join(f"![{k}](figures/{p.name})" for k, p in figures)
    table = "\n".join(rows)
    body = f"""
Pool: the {any_out["pool_size"]} compositions of the DFT data set, accessible fraction
{any_out["accessible_fraction"]:.3f} (Ehull(1000 K) <= 0), so the ideal enhancement is
{any_out["ideal_enhancement"]:.2f}. Seed {args.seed_size}, batch {args.batch}, budget
{args.budget} ({n} proposed), {args.repeats} repeats on seed sets shared by every strategy,
random included. Enhancement = hits among the proposals / ({n} x accessible fraction).

{configs}

| config | signal | strategy | hits mean | hits sd | precision | enhancement | s / campaign |
|---|---|---|---|---|---|---|---|
{table}

Best label-only: `{best_strategy}` with `{best_name}`, enhancement {best:.2f}: {verdict} the
goal {GOAL} (random measured beside it in the same run).{ehull_text}

{peer_text}

{figure_lines}
"""
    print(body)
    if not args.no_report:
        command = (
            f"python benchmarks/backtest.py --repeats {args.repeats} --configs {args.configs}"
            + (f" --seed {args.seed}" if args.seed else "")
            + (f" --peer-repeats {args.peer_repeats}" if args.peer_repeats else "")
            + (f" --section {args.section}" if args.section != "backtest" else "")
        )
        title = "Campaign backtest: enhancement per strategy" + (
            f" ({args.section}, seed sets {args.seed})"
            if args.section != "backtest"
            else (f" (seed sets {args.seed})" if args.seed else "")
        )
        path = write_section(args.section, title, command, body)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
