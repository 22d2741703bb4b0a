"""Score a whole design space in chunks: occupancies -> descriptors -> probabilities -> top-k.

Two stages per chunk:

1. every row gets the cheap models' probabilities (tolerance factor, GNB, ...); their mean is
   the stage-one score;
2. the best ``stage2_fraction`` of the chunk by that score (at least ``top_k`` rows) also
   gets the expensive models' probabilities (the champion, or a committee); an acquisition
   function of those (default: their mean) is the final score offered to a bounded top-k.

Memory is O(chunk + top_k) whatever the space's size; formula strings are built only for
the rows that survive to the end.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loop.descriptors import describe_arrays
from loop.descriptors.composition_descriptors import entropy_class
from loop.descriptors.occupancy import OccupancyBatch
from loop.errors import ValidationError
from loop.progress import NullProgress, ProgressHook
from loop.screening.scoring_model import ScoringModel, as_scoring_models
from loop.screening.top_k import TopK
from loop.spaces.design_space import DEFAULT_CHUNK_SIZE, DesignSpace, concat_batches

log = logging.getLogger(__name__)

#: Acquisition over stage-two probabilities: (N, n_models) -> (N,) score, higher is better.
Acquisition = Callable[[np.ndarray], np.ndarray]


def mean_probability(probabilities: np.ndarray) -> np.ndarray:
    """Default acquisition: the mean probability over models."""
    return probabilities.mean(1)


@dataclass
class ScreeningResult:
    """The best rows of a screened space and what it cost.

    Attributes:
        table: top rows best first: ``formula``, ``entropy_class``, ``score``,
            ``stage1_score``, ``p_<model>`` for every model, and the numeric descriptors.
        batch: the same rows as an :class:`OccupancyBatch`.
        probabilities: model name -> (k,) probabilities of those rows.
        n_screened: rows scored by the cheap stage.
        n_stage2: rows scored by the expensive stage.
        seconds: wall time of the whole screen, s.
    """

    table: pd.DataFrame
    batch: OccupancyBatch
    probabilities: dict[str, np.ndarray]
    n_screened: int
    n_stage2: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Candidates screened per second."""
        return self.n_screened / self.seconds if self.seconds > 0 else float("inf")


def screen_space(
    space: DesignSpace,
    *,
    cheap: Any = None,
    expensive: Any = None,
    top_k: int = 100,
    stage2_fraction: float = 0.05,
    acquisition: Acquisition | None = None,
    exclude: Collection[str] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    limit: int | None = None,
    progress: ProgressHook | None = None,
    describe_top: bool = True,
    shard: tuple[int, int] = (0, 1),
) -> ScreeningResult:
    """Stream ``space`` through the cheap and expensive models and keep the ``top_k`` best.

    Args:
        space: the design space to enumerate.
        cheap: fitted classifiers (or :class:`ScoringModel`) scored on every row.
        expensive: the champion (one classifier) or a committee, scored on the best
            ``stage2_fraction`` of each chunk by the cheap score, and on at least ``top_k``
            rows of it (every row when no cheap model is given).
        top_k: rows kept (after removing ``exclude``).
        stage2_fraction: share of each chunk passed to the expensive stage, (0, 1].
        acquisition: final score from the (N, m) probabilities of the last stage (the
            expensive models, or the cheap ones when there is none); default: their mean.
        exclude: canonical formulas never returned (measured or already queued).
        chunk_size: rows per chunk (memory scales with it, not with the space).
        limit: stop after this many rows (a prefix of the space; for benchmarks).
        progress: receives the rows passed (bar ``screen``, described with the rate in
            rows/s); None shows nothing.
        describe_top: add the numeric descriptors of the kept rows to the table.
        shard: ``(i, n)`` screens only chunks ``i, i + n, i + 2n, ...`` (one of ``n``
            workers); :func:`merge_screening_results` joins the ``n`` results into the one
            a single worker would give.

    Raises:
        ValidationError: no model at all, a fraction outside (0, 1], top_k < 1.
    """
    cheap_models = as_scoring_models(cheap)
    expensive_models = as_scoring_models(expensive)
    if not cheap_models and not expensive_models:
        raise ValidationError("screening needs at least one model (cheap or expensive)")
    if not 0 < stage2_fraction <= 1:
        raise ValidationError(f"stage2_fraction must be in (0, 1], got {stage2_fraction:g}")
    if top_k < 1:
        raise ValidationError(f"top_k must be at least 1, got {top_k}")
    names = [m.name for m in (*cheap_models, *expensive_models)]
    if len(set(names)) != len(names):
        raise ValidationError(f"model names must be distinct, got {', '.join(names)}")
    shard_index, shard_count = shard
    if not 0 <= shard_index < shard_count:
        raise ValidationError(f"shard {shard_index} of {shard_count} does not exist")
    buffer = TopK(top_k + len(exclude))
    total = space.size if limit is None else min(limit, space.size)
    n_global = 0  # rows of the space passed, this shard's or not
    chunk_no = -1
    timing = {"enumerate": 0.0, "describe": 0.0, "cheap": 0.0, "expensive": 0.0, "top_k": 0.0}
    n_seen = n_stage2 = 0
    start = time.perf_counter()
    progress = progress or NullProgress()
    progress.start("screen", f"screening {space.name}", total)
    chunks = space.chunks(chunk_size)
    while n_global < total:
        t0 = time.perf_counter()
        batch = next(chunks, None)
        if batch is None:
            break
        chunk_no += 1
        if n_global + len(batch) > total:
            batch = batch.take(slice(0, total - n_global))
        offset = n_global
        n_global += len(batch)
        if chunk_no % shard_count != shard_index:
            progress.advance("screen", len(batch))
            continue
        t1 = time.perf_counter()
        desc = describe_arrays(batch)
        t2 = time.perf_counter()
        n = len(batch)
        cols: dict[str, np.ndarray] = {}
        if cheap_models:
            probs = np.column_stack([m.predict_proba(desc) for m in cheap_models])
            stage1 = probs.mean(1)
            cols.update({f"p_{m.name}": probs[:, j] for j, m in enumerate(cheap_models)})
        else:
            stage1 = np.zeros(n)
        t3 = time.perf_counter()
        if expensive_models:
            # the best fraction, but never fewer rows than the top-k can hold
            floor = top_k + len(exclude)
            keep = n if not cheap_models else min(n, max(math.ceil(stage2_fraction * n), floor))
            rows = np.sort(np.argsort(-stage1, kind="stable")[:keep])
            sub = {name: values[rows] for name, values in desc.items()}
            e_probs = np.column_stack([m.predict_proba(sub) for m in expensive_models])
            score = np.asarray((acquisition or mean_probability)(e_probs), dtype=float)
            cols = {name: values[rows] for name, values in cols.items()}
            cols.update({f"p_{m.name}": e_probs[:, j] for j, m in enumerate(expensive_models)})
            n_stage2 += len(rows)
        else:
            rows = np.arange(n)
            score = stage1 if acquisition is None else np.asarray(acquisition(probs), float)
        t4 = time.perf_counter()
        cols.update(
            stage1_score=stage1[rows],
            ordinal=offset + rows,
            na=batch.na[rows],
            m_index=batch.m_index[rows],
            m_amount=batch.m_amount[rows],
            a_amount=batch.a_amount[rows],
        )
        buffer.push(score, cols)
        t5 = time.perf_counter()
        for key, a, b in (
            ("enumerate", t0, t1), ("describe", t1, t2), ("cheap", t2, t3),
            ("expensive", t3, t4), ("top_k", t4, t5),
        ):  # fmt: skip
            timing[key] += b - a
        n_seen += n
        elapsed = time.perf_counter() - start
        rate = f"{n_seen / max(elapsed, 1e-9):,.0f}/s"
        progress.advance("screen", n, description=f"screening {space.name} ({rate})")
    progress.finish("screen")
    seconds = time.perf_counter() - start
    return _result(
        space, buffer, cheap_models, expensive_models, exclude, top_k,
        n_seen, n_stage2, seconds, timing, describe_top,
    )  # fmt: skip


def _result(
    space: DesignSpace,
    buffer: TopK,
    cheap_models: Sequence[ScoringModel],
    expensive_models: Sequence[ScoringModel],
    exclude: Collection[str],
    top_k: int,
    n_seen: int,
    n_stage2: int,
    seconds: float,
    timing: dict[str, float],
    describe_top: bool,
) -> ScreeningResult:
    score, cols = buffer.result()
    if len(score):
        batch = OccupancyBatch(
            cols["na"], cols["m_index"], cols["m_amount"], cols["a_amount"], space.table
        )
    else:
        batch = concat_batches([], space.table, space.width)
        cols = {
            k: np.zeros(0)
            for k in ("stage1_score", *(f"p_{m.name}" for m in (*cheap_models, *expensive_models)))
        }
    formulas = np.array(batch.formulas(), dtype=object)
    excluded = set(exclude)
    keep = np.array([f not in excluded for f in formulas], dtype=bool)
    keep &= np.cumsum(keep) <= top_k
    batch = batch.take(keep)
    names = [f"p_{m.name}" for m in (*cheap_models, *expensive_models)]
    desc = describe_arrays(batch)
    table = pd.DataFrame(
        {
            "formula": formulas[keep],
            "entropy_class": entropy_class(desc["s_mix_r"]),
            "score": score[keep],
            "stage1_score": cols["stage1_score"][keep],
            **{name: cols[name][keep] for name in names},
        }
    )
    if describe_top:
        for name, values in desc.items():
            if name not in table:
                table[name] = values
    probabilities = {name.removeprefix("p_"): cols[name][keep] for name in names}
    return ScreeningResult(table, batch, probabilities, n_seen, n_stage2, seconds, timing)


def merge_screening_results(results: Sequence[ScreeningResult], top_k: int) -> ScreeningResult:
    """Join the results of the shards of one screen: the ``top_k`` best rows of all of them
    by score (the same rows one worker keeps; rows of equal score may come in another order)."""
    if not results:
        raise ValidationError("no screening results to merge")
    table = pd.concat([r.table for r in results], ignore_index=True)
    batch = concat_batches(
        [r.batch for r in results],
        results[0].batch.m_ions,
        max(r.batch.m_index.shape[1] for r in results),
    )
    order = np.argsort(-table["score"].to_numpy(), kind="stable")[:top_k]
    table = table.iloc[order].reset_index(drop=True)
    batch = batch.take(order)
    probabilities = {
        name: np.concatenate([r.probabilities[name] for r in results])[order]
        for name in results[0].probabilities
    }
    stages = {
        k: sum(r.stage_seconds.get(k, 0.0) for r in results) for k in results[0].stage_seconds
    }
    return ScreeningResult(
        table,
        batch,
        probabilities,
        sum(r.n_screened for r in results),
        sum(r.n_stage2 for r in results),
        max(r.seconds for r in results),
        stages,
    )
