"""Streamed two-stage screening: bounded top-k, model adapters, memory independent of size."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.naive_bayes import GaussianNB

from experiments.importers.design_spaces import load_space
from experiments.importers.dft import read_dft_dataset
from loop.descriptors import NUMERIC_DESCRIPTORS, describe, describe_arrays
from loop.descriptors.tolerance_factor import published_accessible
from loop.errors import ValidationError
from loop.models import PublishedToleranceFactor, ToleranceFactorClassifier
from loop.screening import (
    ScoringModel,
    TopK,
    model_features,
    screen_space,
    top_indices,
)
from loop.spaces.coverage import dft_formulas

GNB_FEATURES = ["r_mean_pm", "x_mean", "valence_mean", "s_mix_r"]
RF_FEATURES = ["n_na", "r_std", "x_minus_na", "ewald_ev_per_atom", "t1", "t2", "q_std"]


@pytest.fixture(scope="module")
def training(dft_frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    from loop.descriptors import describe_formulas

    table, parsed = describe_formulas(dft_frame["CompName"])
    assert not parsed.errors
    return table, (dft_frame["NewEhullLst"].to_numpy() <= 0).astype(int)


@pytest.fixture(scope="module")
def models(training) -> dict:
    table, y = training
    return {
        "tf": ToleranceFactorClassifier().fit(table[["t1", "t2"]].to_numpy(), y),
        "gnb": GaussianNB().fit(table[GNB_FEATURES], y),
        "rf": RandomForestClassifier(50, random_state=0, n_jobs=1).fit(table[RF_FEATURES], y),
    }


# -- top-k ---------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 100, 1000])
def test_top_k_over_chunks_equals_a_full_sort(chunk: int) -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(1000), 2)  # many ties
    scores[::97] = np.nan
    buffer = TopK(25)
    for start in range(0, len(scores), chunk):
        part = scores[start : start + chunk]
        buffer.push(part, {"row": np.arange(start, start + len(part))})
    got_scores, cols = buffer.result()
    clean = np.where(np.isnan(scores), -np.inf, scores)
    expected = np.lexsort((np.arange(len(scores)), -clean))[:25]
    assert cols["row"].tolist() == expected.tolist()
    assert np.array_equal(got_scores, scores[expected])
    assert buffer.seen == 1000


def test_top_indices_edge_cases() -> None:
    assert top_indices(np.array([0.3, 0.1]), 5).tolist() == [0, 1]
    assert top_indices(np.array([0.3, 0.1]), 0).tolist() == []
    assert top_indices(np.array([1.0, 1.0, 1.0, 0.5]), 2).tolist() == [0, 1]
    with pytest.raises(ValueError):
        TopK(0)


# -- model adapters ------------------------------------------------------------------------


def test_features_from_names_lists_and_dataset_aliases(training, models) -> None:
    table, y = training
    assert model_features(models["gnb"]) == tuple(GNB_FEATURES)
    assert model_features(models["tf"]) == ("t1", "t2")  # class attribute ``features``
    bare = GaussianNB().fit(table[["n_na", "anion_q_std"]].to_numpy(), y)
    with pytest.raises(ValidationError, match="declares no feature names"):
        model_features(bare)
    aliased = ScoringModel.wrap(bare, "bare", ["NNaLst", "AnionChgStdLst"])
    desc = describe_arrays(load_space("ouyang-grid").all())
    expected = bare.predict_proba(np.column_stack([desc["n_na"], desc["anion_q_std"]]))[:, 1]
    assert np.allclose(aliased.predict_proba(desc), expected)
    with pytest.raises(ValidationError, match="unknown feature"):
        ScoringModel.wrap(bare, "x", ["n_na", "colour"])
    with pytest.raises(ValidationError, match="has no predict_proba"):
        ScoringModel.wrap(object(), "x", ["n_na"])


def test_positive_class_column_is_found_whatever_the_order(training) -> None:
    table, y = training
    labels = np.where(y == 1, "accessible", "unstable")
    model = GaussianNB().fit(table[GNB_FEATURES], labels)
    scorer = ScoringModel.wrap(model, "gnb")
    desc = {c: table[c].to_numpy() for c in GNB_FEATURES}
    col = list(model.classes_).index("accessible")
    assert np.allclose(scorer.predict_proba(desc), model.predict_proba(table[GNB_FEATURES])[:, col])


def test_zoo_tolerance_factors_score_like_the_published_line(training) -> None:
    """The screen's cheap tolerance factors are the zoo's: the published line gives the
    published verdict at P = 0.5; the refit is the Platt form of its own SVC line."""
    table, y = training
    x = table[["t1", "t2"]].to_numpy()
    published = published_accessible(x[:, 0], x[:, 1])
    fixed = PublishedToleranceFactor().fit(x, y)
    assert model_features(fixed) == ("t1", "t2")
    assert np.array_equal(fixed.predict(x).astype(bool), published)
    p = fixed.predict_proba(x)[:, 1]
    assert np.array_equal(p >= 0.5, published)
    refit = clone(ToleranceFactorClassifier()).fit(x, y)
    assert refit.fit(x, y) is refit
    q = refit.predict_proba(x)[:, 1]
    assert np.array_equal(q >= 0.5, refit.predict(x) == 1)
    # refitted on the same labels, the line moves little: the same verdict on nearly all
    # rows and nearly the same ranking (both are monotone in nearly the same margin)
    assert np.mean((q >= 0.5) == published) > 0.98
    assert spearmanr(p, q).statistic > 0.995


# -- screening -----------------------------------------------------------------------------


def test_screening_with_every_row_in_stage_two_equals_brute_force(models) -> None:
    space = load_space("ouyang-grid")
    result = screen_space(
        space, cheap={"tf": models["tf"], "gnb": models["gnb"]}, expensive={"rf": models["rf"]},
        top_k=30, stage2_fraction=1.0, chunk_size=4000,
    )  # fmt: skip
    batch = space.all()
    table = describe(batch)
    p_rf = models["rf"].predict_proba(table[RF_FEATURES])[:, 1]
    order = np.lexsort((np.arange(len(p_rf)), -p_rf))[:30]
    formulas = np.array(batch.formulas(), dtype=object)
    assert result.table["formula"].tolist() == formulas[order].tolist()
    assert np.allclose(result.table["p_rf"], p_rf[order])
    assert np.allclose(result.table["score"], p_rf[order])
    p_gnb = models["gnb"].predict_proba(table[GNB_FEATURES])[:, 1]
    assert np.allclose(result.table["p_gnb"], p_gnb[order])
    assert result.n_screened == space.size == result.n_stage2
    assert set(NUMERIC_DESCRIPTORS) <= set(result.table.columns)


def test_stage_two_sees_the_best_fraction_of_each_chunk(models) -> None:
    space = load_space("ouyang-grid")
    chunk = 3000
    result = screen_space(
        space, cheap=[models["tf"], models["gnb"]], expensive={"rf": models["rf"]},
        top_k=10, stage2_fraction=0.1, chunk_size=chunk,
    )  # fmt: skip
    sizes = [len(b) for b in space.chunks(chunk)]
    assert result.n_stage2 == sum(math.ceil(0.1 * n) for n in sizes)
    # every kept row is in the top 10 % of its chunk by the mean cheap probability
    threshold = []
    for b in space.chunks(chunk):
        d = describe_arrays(b)
        s1 = (
            models["tf"].predict_proba(np.column_stack([d["t1"], d["t2"]]))[:, 1]
            + models["gnb"].predict_proba(pd.DataFrame({c: d[c] for c in GNB_FEATURES}))[:, 1]
        ) / 2
        threshold.append(np.sort(s1)[::-1][math.ceil(0.1 * len(b)) - 1])
    assert (result.table["stage1_score"] >= min(threshold) - 1e-12).all()
    assert result.table["score"].is_monotonic_decreasing


def test_excluded_formulas_never_come_back_and_top_k_is_kept(models) -> None:
    space = load_space("ouyang-grid")
    first = screen_space(space, cheap={"gnb": models["gnb"]}, top_k=20)
    excluded = set(first.table["formula"].iloc[:5])
    second = screen_space(
        space, cheap={"gnb": models["gnb"]}, top_k=20, exclude=excluded
    )
    assert len(second.table) == 20
    assert not excluded & set(second.table["formula"])
    assert second.table["formula"].tolist()[:15] == first.table["formula"].tolist()[5:]


class Record:
    """A progress hook that keeps every call it receives."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, key: str, description: str, total: int) -> None:
        self.calls.append(("start", key, total))

    def advance(self, key: str, amount: int = 1, description: str | None = None) -> None:
        self.calls.append(("advance", key, amount))

    def finish(self, key: str) -> None:
        self.calls.append(("finish", key))


@pytest.mark.parametrize("shard", [(0, 1), (1, 3)])
def test_progress_hook_sees_every_row_of_the_space(models, shard) -> None:
    space = load_space("ouyang-grid")
    record = Record()
    screen_space(
        space, cheap={"gnb": models["gnb"]}, top_k=5, chunk_size=3000, progress=record,
        shard=shard,
    )  # fmt: skip
    assert record.calls[0] == ("start", "screen", space.size)
    assert record.calls[-1] == ("finish", "screen")
    advanced = [c[2] for c in record.calls if c[0] == "advance"]
    assert sum(advanced) == space.size  # a shard's skipped chunks count too
    assert len(advanced) == len(list(space.chunks(3000)))


def test_memory_does_not_grow_with_the_space(models) -> None:
    space = load_space("entropy-nzsp")
    peaks = []
    for limit in (60_000, 240_000):
        tracemalloc.start()
        result = screen_space(
            space, cheap={"gnb": models["gnb"]}, top_k=50, chunk_size=20_000, limit=limit,
            describe_top=False,
        )  # fmt: skip
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert result.n_screened == limit
    assert peaks[1] < 1.5 * peaks[0], peaks  # 4x the rows, not 4x the memory


def test_dft_compositions_score_like_the_models_say(models, dft_data_dir) -> None:
    """The screened probabilities of data-set rows equal the model's own predictions."""
    space = load_space("ouyang-grid")
    result = screen_space(space, cheap={"tf": models["tf"]}, top_k=200)
    known = set(dft_formulas(read_dft_dataset(dft_data_dir)))
    inside = result.table[result.table["formula"].isin(known)]
    assert len(inside) > 0
    x = inside[["t1", "t2"]].to_numpy()
    assert np.allclose(inside["p_tf"], models["tf"].predict_proba(x)[:, 1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "at least one model"),
        ({"cheap": "gnb", "stage2_fraction": 0.0}, "stage2_fraction must be in"),
        ({"cheap": "gnb", "stage2_fraction": 1.5}, "stage2_fraction must be in"),
        ({"cheap": "gnb", "top_k": 0}, "top_k must be at least 1"),
    ],
)
def test_bad_screening_options(models, kwargs: dict, message: str) -> None:
    if kwargs.get("cheap") == "gnb":
        kwargs["cheap"] = {"gnb": models["gnb"]}
    with pytest.raises(ValidationError, match=message):
        screen_space(load_space("ouyang-grid"), **kwargs)
