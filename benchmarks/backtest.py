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

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section
from loop.simulation import CampaignSettings, backtest, load_dft_pool, plot_discovery_curves

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--data", type=Path, default=DFT)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()

    pool = load_dft_pool(args.data)
    settings = CampaignSettings(args.seed_size, args.batch, args.budget)
    rows = []
    figures = []
    results = {}
    for name in args.configs.split(","):
        surrogate, features, strategies, _ = CONFIGS[name]
        start = time.perf_counter()
        result = backtest(
            pool, strategies, settings=settings, repeats=args.repeats, seed=args.seed,
            surrogate=surrogate, feature_set=features, progress=sys.stderr.isatty(),
        )  # fmt: skip
        out = result.to_dict()
        results[name] = out
        png = plot_discovery_curves(
            result, FIGURES / f"backtest-{name}.png",
            title=f"{name}: seed {args.seed_size}, batch {args.batch}, budget {args.budget}, "
            f"{args.repeats} repeats",
        )  # fmt: skip
        figures.append((name, png))
        for strategy, stats in out["strategies"].items():
            rows.append(
                f"| {name} | {strategy} | {stats['hits_mean']:.1f} | {stats['hits_sd']:.1f} | "
                f"{stats['precision']:.1%} | {out['enhancement'][strategy]:.2f} | "
                f"{stats['seconds_per_campaign']:.1f} |"
            )
        print(f"{name}: {json.dumps(out['enhancement'])} ({time.perf_counter() - start:.0f} s)")

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

{figure_lines}
"""
    print(body)
    if not args.no_report:
        command = f"python benchmarks/backtest.py --repeats {args.repeats} --configs {args.configs}"
        path = write_section(
            "backtest", "Campaign backtest: enhancement per strategy", command, body
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
