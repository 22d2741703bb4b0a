"""Benchmark: campaign backtests on the DFT data set, enhancement factor per strategy.

Every configuration runs its strategies and ``random`` on the same seed sets (seed 20,
batch 8, budget 200: 180 proposed experiments by default) and reports hits (mean, sd),
precision, the enhancement factor hits / (180 x accessible fraction) and seconds per
campaign. Goal: an enhancement factor >= 5.5 (ideal 1 / 0.165 = 6.06; random about 1).

Configurations:

* ``rf``: the default surrogate, a random-forest classifier on the 19 engine descriptors,
  retrained on the revealed labels;
* ``et-ehull``: an extra-trees regressor on the revealed Ehull(1000 K) with the engine
  descriptors plus the amount of every element, P(accessible) per tree by a logistic link;
* ``et+gp-ehull``: that forest and a Gaussian process on the same target, averaged.

    python benchmarks/backtest.py [--repeats 10] [--configs rf,et-ehull]
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
GOAL = 5.5

#: name -> (surrogate, feature set, strategies, description)
CONFIGS: dict[str, tuple[str, str, list[str], str]] = {
    "rf": (
        "rf", "engine", ["exploit", "ucb", "uncertainty"],
        "random-forest classifier (300 trees) on the labels, 19 engine descriptors",
    ),
    "et-ehull": (
        "et-ehull", "engine+elements", ["exploit"],
        "extra-trees regressor (200 trees) on the revealed Ehull(1000 K), engine descriptors "
        "plus element amounts, P = sigmoid(-Ehull / 25 meV) per tree",
    ),
    "et+gp-ehull": (
        "et+gp-ehull", "engine+elements", ["exploit", "ucb"],
        "equal-weight mixture of that extra-trees regressor and a Gaussian process "
        "(standardised inputs, RBF + white noise) on the revealed Ehull(1000 K)",
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
    args = parser.parse_args()

    pool = dft_pool(read_dft_dataset(args.data))
    settings = CampaignSettings(args.seed_size, args.batch, args.budget)
    rows = []
    figures = []
    results = {}
    for name in args.configs.split(","):
        surrogate, features, strategies, _ = CONFIGS[name]
        start = time.perf_counter()
        with rich_progress(sys.stderr.isatty()) as progress:
            result = backtest(
                pool, strategies, settings=settings, repeats=args.repeats, seed=args.seed,
                surrogate=surrogate, feature_set=features, progress=progress,
            )  # fmt: skip
        out = result.to_dict()
        results[name] = out
        png = save_figure(
            discovery_curves_figure(
                result,
                title=f"{name}: seed {args.seed_size}, batch {args.batch}, budget {args.budget}, "
                f"{args.repeats} repeats",
            ),
            FIGURES / f"backtest-{name}.png",
        )  # fmt: skip
        figures.append((name, png))
        for strategy, stats in out["strategies"].items():
            rows.append(
                f"| {name} | {strategy} | {stats['hits_mean']:.1f} | {stats['hits_sd']:.1f} | "
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
            if s != "random"
        ),
        key=lambda t: t[2],
    )
    any_out = next(iter(results.values()))
    n = any_out["n_proposed"]
    verdict = "reaches" if best >= GOAL else "does not reach"
    configs = "\n".join(f"- `{k}`: {CONFIGS[k][3]}" for k in results)
    figure_lines = "\n".join(f"![{k}](figures/{p.name})" for k, p in figures)
    table = "\n".join(rows)
    body = f"""
Pool: the {any_out["pool_size"]} compositions of the DFT data set, accessible fraction
{any_out["accessible_fraction"]:.3f} (Ehull(1000 K) <= 0), so the ideal enhancement is
{any_out["ideal_enhancement"]:.2f}. Seed {args.seed_size}, batch {args.batch}, budget
{args.budget} ({n} proposed), {args.repeats} repeats on seed sets shared by every strategy,
random included. Enhancement = hits among the proposals / ({n} x accessible fraction).

{configs}

| surrogate | strategy | hits mean | hits sd | precision | enhancement | s / campaign |
|---|---|---|---|---|---|---|
{table}

Best: `{best_strategy}` with `{best_name}`, enhancement {best:.2f}: {verdict} the goal
{GOAL} (random measured beside it in the same run).

{peer_text}

{figure_lines}
"""
    print(body)
    if not args.no_report:
        command = (
            f"python benchmarks/backtest.py --repeats {args.repeats} --configs {args.configs}"
            + (f" --peer-repeats {args.peer_repeats}" if args.peer_repeats else "")
        )
        path = write_section(
            "backtest", "Campaign backtest: enhancement per strategy", command, body
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
