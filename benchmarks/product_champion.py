"""Benchmark of issue 13 in the product: the champion the CLI trains with experimental labels.

On a fresh SQLite registry in a temporary folder, through the command line (the path of
``nasicon demo``): ``init``, ``import dft``, ``import literature``, ``import made``, then
``retrain --round 1 --trials T --json`` (the whole zoo, each model in its calibration, the
champion by the champion rule) and ``predict --json`` of the four parent compositions:
P(accessible) of the product champion and whether each lies in the training domain.

The parents are made compositions, so their experimental label is a training label of the
deployed champion (fitted on every row): P here is in-sample for them. The out-of-fold
figures on the made compositions are the leaderboard's ``exp_*``.

Usage: ``python benchmarks/product_champion.py [--trials 10] [--folds 10] [--no-report]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PARENTS = ("NaZr2(PO4)3", "NaTi2(PO4)3", "Na3Zr2Si2PO12", "Na4Zr2(SiO4)3")


def nasicon(folder: Path, *args: str) -> str:
    """Run ``nasicon ARGS`` in ``folder`` with this repository first on the path; stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "NASICON_DFT_DATA": str(SHARED / "nasicon_dft"),
           "NASICON_LITERATURE_DATA": str(SHARED / "literature" / "zuo2026_entropy_nzsp.csv"),
           "NASICON_DATA__MADE_PATH": str(SHARED / "experimental"
                                          / "ouyang2021_made_compositions.json")}
    code = "from nasicon.cli.main import run; run()"
    out = subprocess.run([sys.executable, "-c", code, "--db", f"sqlite:///{folder / 'n.db'}",
                          *args], cwd=folder, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"nasicon {' '.join(args)} failed: {out.stderr.strip()[-2000:]}")
    return out.stdout


def f(v: float | None, d: int = 3) -> str:
    return "-" if v is None else f"{v:.{d}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="as nasicon demo")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="product-champion-") as tmp:
        folder = Path(tmp)
        imports = [nasicon(folder, "init").strip()]
        imports += [nasicon(folder, "import", what).strip()
                    for what in ("dft", "literature", "made")]
        start = time.perf_counter()
        doc = json.loads(nasicon(folder, "retrain", "--round", "1", "--trials",
                                 str(args.trials), "--folds", str(args.folds), "--json"))
        seconds = time.perf_counter() - start
        parents = json.loads(nasicon(folder, "predict", "--json", *PARENTS))
    body = report(doc, parents, seconds, imports, args.trials, args.folds)
    print(body)
    if not args.no_report:
        cmd = "python benchmarks/product_champion.py" + (
            "" if args.trials == 10 else f" --trials {args.trials}")
        print(write_section("product_champion", "Product champion with experimental labels "
                            "(issue 13 wired into retrain and predict)", cmd, body))


def report(doc: dict, parents: list[dict], seconds: float, imports: list[str], trials: int,
           folds: int) -> str:
    """The section's body from the retrain and predict JSON documents."""
    champ = doc["champion"]
    rows = ["| model | DFT macro-F1 | ROC-AUC | Brier | log loss | ECE | exp_n | exp_recall "
            "(made accepted, out of fold) | exp_f1_macro | eligible |", "|" + "---|" * 10]
    for r in doc["leaderboard"]:
        star = " **(champion)**" if r["model"] == champ else ""
        rows.append(f"| {r['model']}{star} | {f(r['f1_macro'])} | {f(r['roc_auc'])} "
                    f"| {f(r['brier'])} | {f(r['log_loss'])} | {f(r['ece'])} | {r['exp_n']} "
                    f"| {f(r['exp_recall'])} | {f(r['exp_f1_macro'])} "
                    f"| {'yes' if doc['eligible'].get(r['model']) else 'no'} |")
    p_rows = ["| parent | canonical formula | P(accessible), champion | in_domain | reason |",
              "|---|---|---|---|---|"]
    misses = []
    for name, rec in zip(PARENTS, parents, strict=True):
        p = rec["champion"]["p"]
        if p is None or p < 0.5:
            misses.append(name)
        p_rows.append(f"| {name} | {rec['formula']} | {f(p)} | {rec['in_domain']} "
                      f"| {rec['domain_reason'] or ''} |")
    verdict = ("meets: P >= 0.5 for all four" if not misses
               else f"misses: P < 0.5 for {', '.join(misses)}")
    return f"""
Fresh registry, command-line path of `nasicon demo` ({'; '.join(imports)}), then
`nasicon retrain --round 1 --trials {trials} --folds {folds} --json` (whole zoo,
calibrated, experimental labels weight 5) in {seconds:.0f} s wall (incl. start-up) and
`nasicon predict --json` of the four parents.

Champion: **{champ}** ({doc['champion_reason']}); {doc['n_train']} labelled compositions.
Goal, the product champion gives the four parents P >= 0.5: **{verdict}**. The parents are
made compositions, so their own experimental label was a training label of the deployed
champion: these P are in-sample; the out-of-fold figures on the made compositions are the
`exp_*` columns.

{chr(10).join(p_rows)}

{chr(10).join(rows)}
"""


if __name__ == "__main__":
    main()
