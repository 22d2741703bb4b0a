"""The chemistry engine with Li as the mobile ion: parsing, descriptors, the tolerance
factor marked out of domain for Li, and the refusal of Li+Na mixtures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli

from loop.chemistry import Ion, parse_nasicon
from loop.descriptors import TF_OUT_OF_DOMAIN, describe_formulas, tf_in_domain
from loop.errors import CompositionError


@pytest.mark.parametrize(
    ("formula", "li", "m_site", "canonical"),
    [
        ("Li1.3Al0.3Ti1.7(PO4)3", 1.3, {Ion("Ti", 4): 1.7, Ion("Al", 3): 0.3},
         "Li1.3Ti1.7Al0.3P3O12"),
        ("Li1.5Al0.5Ge1.5(PO4)3", 1.5, {Ion("Ge", 4): 1.5, Ion("Al", 3): 0.5},
         "Li1.5Ge1.5Al0.5P3O12"),
        ("LiZr2(PO4)3", 1.0, {Ion("Zr", 4): 2.0}, "LiZr2P3O12"),
    ],
)  # fmt: skip
def test_lithium_nasicons_parse(formula: str, li: float, m_site: dict, canonical: str) -> None:
    comp = parse_nasicon(formula)
    assert comp.mobile_ion == "Li"
    assert comp.na == pytest.approx(li)
    assert {ion: pytest.approx(a) for ion, a in comp.m_site} == m_site
    assert comp.charge == pytest.approx(0.0, abs=1e-9)
    assert comp.formula == canonical
    assert parse_nasicon(comp.formula) == comp  # round trip keeps the ion


def test_same_framework_with_li_and_na_differs_only_in_the_mobile_ion() -> None:
    table, parsed = describe_formulas(["LiZr2(PO4)3", "NaZr2(PO4)3"])
    li, na = parsed.compositions
    assert li != na and (li.na, li.m_site, li.a_site) == (na.na, na.m_site, na.a_site)
    assert table["r_mobile_a"].tolist() == [0.76, 1.02]
    assert tf_in_domain(parsed.batch).tolist() == [False, True]
    assert parsed.batch.take(np.array([0])).composition(0).mobile_ion == "Li"


def test_sodium_batches_keep_no_mobile_ion_array() -> None:
    _, parsed = describe_formulas(["Na3Zr2Si2PO12"])
    assert parsed.batch.mobile_ion is None
    assert parsed.batch.mobile_ions().tolist() == ["Na"]


@pytest.mark.parametrize("formula", ["Li2Na1Zr2Si2PO12", "Na2.9Li0.1Zr2Si2PO12", "LiNa(Zr2)(PO4)3"])
def test_li_na_mixtures_are_refused(formula: str) -> None:
    with pytest.raises(CompositionError, match="both Li and Na on the mobile-ion site"):
        parse_nasicon(formula)


def test_describe_marks_lithium_tolerance_factor_out_of_domain() -> None:
    result = run_cli(["describe", "--json", "Li1.3Al0.3Ti1.7(PO4)3", "Na3Zr2Si2PO12"])
    assert result.code == 0, result.stderr
    li, na = json.loads(result.stdout)
    assert li["sites"]["mobile_ion"] == "Li"
    assert li["descriptors"]["tf_accessible"] is None
    assert li["tolerance_factor_domain"] == {"in_domain": False, "reason": TF_OUT_OF_DOMAIN}
    assert na["descriptors"]["tf_accessible"] is False
    assert na["tolerance_factor_domain"]["in_domain"] is True


def test_describe_table_says_why_lithium_has_no_verdict() -> None:
    result = run_cli(["describe", "LiZr2(PO4)3"], env={"COLUMNS": "200"})
    assert result.code == 0, result.stderr
    assert "tolerance factor is a sodium model" in result.stdout
    assert "out of domain" in result.stdout


def test_describe_li_na_mixture_is_one_line_exit_2() -> None:
    result = run_cli(["describe", "Li2Na1Zr2Si2PO12"])
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "mixed Li/Na" in result.stderr
