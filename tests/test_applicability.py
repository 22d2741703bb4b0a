"""Domain of applicability: elements, descriptor ranges, nearest-neighbour distance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from loop.descriptors import NUMERIC_DESCRIPTORS, describe_formulas
from loop.errors import ValidationError
from loop.models.applicability import ApplicabilityDomain, batch_elements, nearest_distances


@pytest.fixture(scope="module")
def domain(dft_frame):
    """Fitted on 800 DFT compositions (seeded sample)."""
    rows = np.random.default_rng(5).choice(len(dft_frame), 800, replace=False)
    table, parsed = describe_formulas(dft_frame["CompName"].iloc[rows])
    X = table[list(NUMERIC_DESCRIPTORS)].to_numpy(float)
    return ApplicabilityDomain().fit(X, batch_elements(parsed.batch)), X, parsed


def _check(domain: ApplicabilityDomain, formulas: list[str]):
    table, parsed = describe_formulas(formulas)
    assert not parsed.errors
    return domain.check(table[list(NUMERIC_DESCRIPTORS)].to_numpy(float),
                        batch_elements(parsed.batch))


def test_training_compositions_are_in_domain_and_the_threshold_is_their_quantile(domain):
    ad, X, parsed = domain
    verdict = ad.check(X, batch_elements(parsed.batch))
    assert verdict.in_domain.all() and (verdict.reason == "").all()
    assert np.allclose(verdict.distance, 0.0, atol=1e-6)
    assert ad.threshold_ == pytest.approx(np.quantile(ad.train_nn_, 0.99))
    assert (ad.train_nn_ > ad.threshold_).mean() <= 0.011


def test_unseen_element_out_of_range_and_far_compositions_say_why(domain):
    ad, _, _ = domain
    verdict = _check(ad, ["NaV2(PO4)3", "Na3Fe2(PO4)3"])
    assert not verdict.in_domain.any()
    assert verdict.reason.tolist() == ["element V not in the training data",
                                       "element Fe not in the training data"]
    X = ad.train_z_[:2] * ad.scale_ + ad.mean_  # two training compositions
    n_na = NUMERIC_DESCRIPTORS.index("n_na")
    X[0, n_na] = ad.low_[n_na] - 0.5
    symbols, presence = batch_elements(domain[2].batch)
    verdict = ad.check(X, (symbols, presence[:2]))
    assert verdict.reason[0] == (f"n_na {X[0, n_na]:.3g} below the training range "
                                 f"{ad.low_[n_na]:.3g}-{ad.high_[n_na]:.3g}")
    assert verdict.in_domain.tolist() == [False, True]


def test_far_point_inside_the_ranges_is_caught_by_the_distance(domain):
    ad, X, parsed = domain
    corner = np.where(np.arange(X.shape[1]) % 2 == 0, ad.high_, ad.low_)
    symbols, presence = batch_elements(parsed.batch)
    verdict = ad.check(corner[None, :], (symbols, presence[:1]))
    assert not verdict.in_domain[0]
    assert verdict.distance[0] > ad.threshold_
    assert verdict.reason[0].endswith(f"(threshold {ad.threshold_:.2g})")


def test_chunking_does_not_change_the_distances() -> None:
    rng = np.random.default_rng(11)
    ref, z = rng.normal(size=(97, 5)), rng.normal(size=(503, 5))
    exact = cdist(z, ref).min(1)
    for chunk in (1, 7, 4096):
        np.testing.assert_allclose(nearest_distances(z, ref, chunk=chunk), exact, atol=1e-9)
    self_nn = nearest_distances(ref, ref, chunk=10, exclude_self=True)
    d = cdist(ref, ref)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(self_nn, d.min(1), atol=1e-9)


def test_bad_inputs_are_refused(domain):
    ad, X, parsed = domain
    elements = batch_elements(parsed.batch)
    with pytest.raises(ValidationError, match="not fitted"):
        ApplicabilityDomain().check(X, elements)
    with pytest.raises(ValidationError, match="19 columns"):
        ad.check(X[:, :5], elements)
    with pytest.raises(ValidationError, match="one row per composition"):
        ad.check(X[:10], elements)
    with pytest.raises(ValidationError, match="quantile"):
        ApplicabilityDomain(quantile=1.5).fit(X, elements)
    bad = X[:3].copy()
    bad[1, 0] = np.nan
    verdict = ad.check(bad, (elements[0], elements[1][:3]))
    assert verdict.reason[1] == "n_na is not finite" and not verdict.in_domain[1]


def test_batch_elements_marks_present_sites_only() -> None:
    _, parsed = describe_formulas(["Na3Zr2Si2PO12", "NaTi2(PO4)3", "NaMgAl(SO4)3"])
    symbols, presence = batch_elements(parsed.batch)
    present = [{s for s, p in zip(symbols, row, strict=True) if p} for row in presence]
    assert present == [{"Zr", "Si", "P"}, {"Ti", "P"}, {"Mg", "Al", "S"}]
