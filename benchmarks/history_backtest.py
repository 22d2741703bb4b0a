"""Benchmark: ``nasicon simulate --pool`` on a user's history, how fast the top decile is found.

Reads the Laskowski NASICON-like conductivity table (``sigma_RT_S_per_cm``, formulas in
``composition``; Li compounds, read since the engine takes Li as the mobile ion) and reports
how many rows form a pool (the conductivity backtest itself is the
``history-backtest-conductivity`` section, run with ``nasicon simulate --pool``); then builds a
larger pool: every 4th row of the DFT data set (formula, Ehull) in a temporary folder, Ehull minimised, a hit = the pool's best 10 %. Reports the enhancement,
acceleration factor, share of positives found and top-decile enhancement per strategy, random
in the same run, through the same code as the CLI.

    python benchmarks/history_backtest.py [--repeats 3] [--budget 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section
from loop.errors import ValidationError
from loop.simulation import CampaignSettings, backtest
from loop.simulation.user_pool import history_metrics, user_pool

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()

    lask = pd.read_csv(SHARED / "conductivity" / "laskowski_nasicon_like.csv")
    try:
        lask_pool = user_pool(lask, "sigma_RT_S_per_cm", formula_column="composition")
        lask_text = (
            f"Laskowski table (`sigma_RT_S_per_cm`, {len(lask)} rows): {len(lask_pool.pool)} "
            "usable as a pool (see *Backtest on the Laskowski conductivity table*)."
        )
    except ValidationError as exc:
        lask_text = f"Laskowski table (`sigma_RT_S_per_cm`, {len(lask)} rows): refused: {exc}"
    print(lask_text)

    dft = pd.concat([pd.read_csv(SHARED / "nasicon_dft" / f) for f in ("train.csv", "test.csv")])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.csv"
        pd.DataFrame({"formula": dft["CompName"], "ehull_mev": dft["NewEhullLst"]}).iloc[
            ::4
        ].to_csv(path, index=False)
        user = user_pool(pd.read_csv(path), "ehull_mev", mode="minimize", top_fraction=0.1)
    settings = CampaignSettings(20, 8, args.budget)
    result = backtest(user.pool, ["exploit"], settings=settings, repeats=args.repeats, seed=0,
                      surrogate="et", feature_set="engine+elements+tf", min_distance=0.2)  # fmt: skip
    out = result.to_dict()
    metrics = history_metrics(result, user)
    rows = "\n".join(
        f"| {s} | {out['enhancement'][s]:.2f} | {metrics['acceleration_factor'][s]:.2f} | "
        f"{metrics['share_of_positives_found'][s]:.1%} | "
        f"{metrics['top_decile_enhancement'][s]:.2f} |"
        for s in out["enhancement"]
    )
    body = f"""
{lask_text}

Pool built instead: every 4th row of the DFT data set ({len(user.pool)} compositions) with
its Ehull(1000 K) as the user's outcome, minimised; a hit is in the pool's best 10 %
({metrics["positives_in_pool"]} compositions). Seed 20, batch 8, budget {args.budget}
({out["n_proposed"]} proposed), {args.repeats} repeats, the label signal (extra trees on
engine descriptors + element amounts + tolerance-factor margin), minimum distance 0.2.
Acceleration factor: experiments random needs to reach k = {metrics["k_hits"]:g} hits /
experiments the strategy needs.

| strategy | enhancement | acceleration factor | share of positives found | top-decile enhancement |
|---|---|---|---|---|
{rows}
"""
    print(body)
    if not args.no_report:
        write_section(
            "history-backtest", "Backtest on a user's history (`simulate --pool`)",
            f"python benchmarks/history_backtest.py --repeats {args.repeats} --budget "
            f"{args.budget}",
            body,
        )  # fmt: skip


if __name__ == "__main__":
    main()
