"""Options that several command modules share, declared once (``Annotated`` aliases).

Use as ``as_json: AsJson = False``. Choices and defaults that come from the packages below
(the acquisition strategies, the models tuned by default) are literal tuples here, so that
building the command line imports none of those packages; ``tests/test_cli_startup.py``
checks each against its source of truth (and the surrogate names in ``simulate``'s help).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

#: ``loop.acquisition.make_strategy`` names.
STRATEGY_NAMES = ("exploit", "uncertainty", "ucb", "random")
#: Models of the zoo tuned when ``--tune`` is not given (``spec.tune and spec.tunable``).
TUNED_BY_DEFAULT = ("gradient_boosting", "svm", "knn", "decision_tree")


def names(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """``["svm,knn", "gnb"]`` -> ``("svm", "knn", "gnb")``; None or nothing -> None."""
    if not values:
        return None
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip()) or None


AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[
    str | None, typer.Option("--by", help="Who does this (default: your login name).")
]
OnlyRound = Annotated[int | None, typer.Option("--round", help="Only this round.")]
SampleCampaign = Annotated[
    str | None, typer.Option("--campaign", help="Campaign of the sample (if the id is ambiguous).")
]
DftData = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Folder of the DFT data set, train.csv/test.csv (default: config "
        "data.dft_path)."
    ),
]  # fmt: skip

# -- retrain settings (``nasicon retrain`` and ``nasicon round``) -------------------------------

Folds = Annotated[int | None, typer.Option("--folds", help="CV folds (default: config, 10).")]
Trials = Annotated[
    int | None,
    typer.Option("--trials", help="Optuna trials per tuned model (default: config, 20; 0 = none)."),
]
Timeout = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds for all tuning together (default: config, none)."),
]
Models = Annotated[
    list[str] | None,
    typer.Option(
        "--models",
        help="Models to compare (repeat or comma-separate; default: models.compare, else all).",
    ),
]
Tune = Annotated[
    list[str] | None,
    typer.Option(
        "--tune",
        help=f"Models to tune (default: models.tune, else {', '.join(TUNED_BY_DEFAULT)}).",
    ),
]
