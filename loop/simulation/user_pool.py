"""A backtest on the user's own history: a table of formulas and one outcome column.

Rows the chemistry engine refuses are left out (and listed by the caller). A hit is a
positive of a label column, or a row in the top ``top_fraction`` of a numeric target
(largest values with ``maximize``, smallest otherwise). The campaign code is the one of the
DFT backtest: :func:`loop.simulation.campaign.backtest` over a :class:`LabelledPool`.

Beside the enhancement factor it reports (Rohr et al., Chem. Sci. 2020; Liang et al., npj
Comput. Mater. 2021):

* acceleration factor: experiments random needs to reach k hits / experiments the strategy
  needs (k: the hits random reaches by the end of the budget, at least 1);
* share of all positives of the pool found by the proposals;
* top-decile enhancement: proposals in the top 10 % of the target / (proposed x 0.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loop.descriptors import NUMERIC_DESCRIPTORS, describe
from loop.descriptors.occupancy import parse_formulas
from loop.errors import ValidationError
from loop.simulation.campaign import BASELINE, BacktestResult
from loop.simulation.pool import LabelledPool

MODES = ("maximize", "minimize", "label")
MIN_ROWS = 10
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


@dataclass(frozen=True)
class UserPool:
    """A pool built from a user's table, the refused rows and the target's top decile."""

    pool: LabelledPool
    refused: list[tuple[int, str, str]]  # (line in the file, formula, reason)
    top_decile: np.ndarray  # (N,) in the best 10 % of the target (labels: the positives)
    target: str
    mode: str
    top_fraction: float


def _labels(values: pd.Series, target: str) -> np.ndarray:
    text = values.astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise ValidationError(
            f"label column {target!r} holds {values[bad].iloc[0]!r}: expected 0/1, true/false "
            "or yes/no"
        )
    return text.isin(_TRUE).to_numpy()


def _top(values: np.ndarray, fraction: float, maximize: bool) -> np.ndarray:
    """(N,) True for the best ceil(fraction x N) rows (ties at the cut included)."""
    k = max(1, int(np.ceil(fraction * len(values))))
    key = -values if maximize else values
    cut = np.sort(key)[k - 1]
    return key <= cut


def user_pool(
    frame: pd.DataFrame,
    target: str,
    *,
    mode: str = "maximize",
    top_fraction: float = 0.1,
    formula_column: str = "formula",
) -> UserPool:
    """The pool of a user's table.

    Raises:
        ValidationError: a missing column, an unknown mode, a fraction outside (0, 1), a
            non-numeric target (or a label column that is not 0/1), fewer than
            :data:`MIN_ROWS` usable rows, or no hit at all.
    """
    if mode not in MODES:
        raise ValidationError(f"unknown target mode {mode!r} (one of {', '.join(MODES)})")
    if not 0 < top_fraction < 1:
        raise ValidationError(f"top fraction must be between 0 and 1, got {top_fraction:g}")
    for column in (formula_column, target):
        if column not in frame.columns:
            raise ValidationError(
                f"the pool has no column {column!r} (columns: {', '.join(map(str, frame.columns))})"
            )
    frame = frame.dropna(subset=[formula_column, target]).reset_index()
    parsed = parse_formulas(frame[formula_column].astype(str).tolist())
    refused = [(int(frame["index"].iloc[r]) + 2, f, why) for r, f, why in parsed.errors]
    ok = np.setdiff1d(np.arange(len(frame)), [r for r, _, _ in parsed.errors])
    rows = frame.iloc[ok]
    if len(rows) < MIN_ROWS:
        raise ValidationError(
            f"only {len(rows)} usable rows in the pool ({len(refused)} refused by the chemistry "
            f"engine{', e.g. ' + repr(refused[0][1]) + ': ' + refused[0][2] if refused else ''}); "
            f"a backtest needs at least {MIN_ROWS}"
        )
    if mode == "label":
        hits = _labels(rows[target], target)
        top_decile = hits
    else:
        values = pd.to_numeric(rows[target], errors="coerce")
        if values.isna().any():
            bad = rows[target][values.isna()].iloc[0]
            raise ValidationError(f"target column {target!r} is not numeric: {bad!r}")
        v = values.to_numpy(dtype=float)
        hits = _top(v, top_fraction, mode == "maximize")
        top_decile = _top(v, 0.1, mode == "maximize")
    if not hits.any():
        raise ValidationError(f"no positive in column {target!r}: nothing to find")
    batch = parsed.batch
    pool = LabelledPool(
        formulas=np.array(batch.formulas(), dtype=object),
        batch=batch,
        descriptors=describe(batch)[list(NUMERIC_DESCRIPTORS)].reset_index(drop=True),
        labels=np.asarray(hits, dtype=bool),
        ehull_mev=np.full(len(batch), np.nan),
    )
    return UserPool(pool, refused, np.asarray(top_decile, bool), target, mode, top_fraction)


def experiments_to(curve: np.ndarray, k: float) -> float:
    """Experiments a mean cumulative-hits curve needs to reach k hits (inf: never)."""
    reached = np.flatnonzero(curve >= k)
    return float(reached[0] + 1) if len(reached) else float("inf")


def history_metrics(result: BacktestResult, user: UserPool) -> dict[str, Any]:
    """Acceleration factor, share of positives found and top-decile enhancement per strategy."""
    base = result.curves(BASELINE).mean(0)
    k = max(1.0, float(np.floor(base[-1]))) if len(base) else 1.0
    n_random = experiments_to(base, k)
    positives = int(user.pool.labels.sum())
    decile_share = float(user.top_decile.mean())
    out: dict[str, Any] = {"k_hits": k, "positives_in_pool": positives}
    acc, share, decile = {}, {}, {}
    for name, traces in result.traces.items():
        n_strategy = experiments_to(result.curves(name).mean(0), k)
        acc[name] = n_random / n_strategy if np.isfinite(n_strategy) else 0.0
        share[name] = float(np.mean([t.hits / positives for t in traces]))
        found = [user.top_decile[t.proposed].sum() / (len(t.proposed) * decile_share)
                 for t in traces if len(t.proposed)]  # fmt: skip
        decile[name] = float(np.mean(found)) if found else float("nan")
    out["acceleration_factor"] = acc
    out["share_of_positives_found"] = share
    out["top_decile_enhancement"] = decile
    return out
