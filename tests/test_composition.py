"""Formula parsing, site assignment and validation of NASICON compositions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loop.chemistry import parse_formula, parse_nasicon
from loop.chemistry.composition import M_TOTAL
from loop.chemistry.ions import M_SITE_OXIDATION_STATES, Ion
from loop.errors import CompositionError

NOTATIONS = {
    "Na3Zr2Si2PO12": (3.0, {"Zr": 2.0}, {"Si": 2.0, "P": 1.0}),
    "Na3Zr2(SiO4)2(PO4)": (3.0, {"Zr": 2.0}, {"Si": 2.0, "P": 1.0}),
    "NaZr2(PO4)3": (1.0, {"Zr": 2.0}, {"P": 3.0}),
    "Na6Hf3MgSi2(PO6)4": (3.0, {"Hf": 1.5, "Mg": 0.5}, {"Si": 1.0, "P": 2.0}),
    "Na3Mg7.5Sn4.5S18O72": (0.5, {"Mg": 1.25, "Sn": 0.75}, {"S": 3.0}),
    "Na3.6Zr0.5Ti0.5Hf0.4Lu0.5Ga0.1Si2PO12": (
        3.6,
        {"Zr": 0.5, "Ti": 0.5, "Hf": 0.4, "Lu": 0.5, "Ga": 0.1},
        {"Si": 2.0, "P": 1.0},
    ),
}


@pytest.mark.parametrize("formula", list(NOTATIONS))
def test_every_notation_parses_to_sites(formula: str) -> None:
    na, m, a = NOTATIONS[formula]
    comp = parse_nasicon(formula)
    assert comp.na == pytest.approx(na)
    assert {ion.element: amt for ion, amt in comp.m_site} == pytest.approx(m)
    assert {ion.element: amt for ion, amt in comp.a_site} == pytest.approx(a)
    assert comp.charge == pytest.approx(0.0, abs=1e-9)


def test_notations_of_one_compound_share_a_canonical_formula() -> None:
    assert parse_nasicon("Na3Zr2(SiO4)2(PO4)").formula == parse_nasicon("Na3Zr2Si2PO12").formula
    assert parse_nasicon("Na6Zr4Si4P2O24").formula == "Na3Zr2Si2PO12"


def test_formula_parser_handles_nesting_and_decimals() -> None:
    assert parse_formula("Ca3(PO4)2") == pytest.approx({"Ca": 3, "P": 2, "O": 8})
    assert parse_formula("Na.5[Zr(PO4)1.5]2") == pytest.approx(
        {"Na": 0.5, "Zr": 2, "P": 3, "O": 12}
    )


def test_default_oxidation_states_and_override() -> None:
    assert dict(parse_nasicon("Na3Zr2Si2PO12").m_site) == {Ion("Zr", 4): 2.0}
    comp = parse_nasicon("Na3Ti2(PO4)3", {"Ti": 3})
    assert comp.m_site[0][0] == Ion("Ti", 3)
    assert comp.formula == "Na3Ti2P3O12|Ti+3"
    assert parse_nasicon(comp.formula) == comp  # the override survives a round trip
    with pytest.raises(CompositionError, match="not charge balanced"):
        parse_nasicon("Na3Ti2(PO4)3", {"Ti": 4})  # an explicit state is never re-inferred


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("Na3Qq2Si2PO12", "unknown element 'Qq'"),
        ("Na3K2Si2PO12", "K fits no NASICON site"),
        ("Na3Li2Si2PO12", "both Li and Na on the mobile-ion site"),
        ("Li2.5Na0.5Zr2Si2PO12", "mixed Li/Na NASICONs are not supported"),
        ("Li5Zr2Si3O12|Zr+4", "Li is 5 per 12 O, must be within 0..4"),
        ("Na3Zr1.5Si2PO12", "M-site total is 1.5"),
        ("Na3Zr2Si2O12", "polyanion .* total is 2"),
        ("Na4Zr2Si2PO12", "not charge balanced: net charge \\+1"),
        ("Na5Zr2Si3O12|Zr+4", "Na is 5 per 12 O, must be within 0..4"),
        ("Na3Zr2Si2P", "no oxygen"),
        ("Na3Sn2(PO4)3|Sn+2", "Sn2\\+ has no Shannon radius"),
        ("Na3Zr2(SiO4", "unbalanced brackets"),
        ("Na3Zr2Si2PO12$", "not part of a formula"),
        ("", "empty formula"),
        ("Na3Ti2(PO4)3|Ti+7", "oxidation state \\+7 of Ti is not one of"),
    ],
)
def test_invalid_formulas_are_rejected_with_a_specific_message(formula: str, message: str) -> None:
    with pytest.raises(CompositionError, match=message):
        parse_nasicon(formula)


def test_every_dataset_formula_parses(dft_frame) -> None:
    comps = [parse_nasicon(f) for f in dft_frame.CompName]
    assert len({c.formula for c in comps}) == len(dft_frame)
    for comp in comps:
        assert sum(a for _, a in comp.m_site) == pytest.approx(M_TOTAL, abs=1e-9)
        again = parse_nasicon(comp.formula)  # the canonical formula reads back to itself
        assert again.formula == comp.formula
        assert again.na == pytest.approx(comp.na, abs=1e-8)


_METALS = sorted(M_SITE_OXIDATION_STATES)


@st.composite
def charge_balanced(draw) -> str:
    """Random valid compositions: 1-3 M cations, Si/P/S mix, Na from charge balance."""
    k = draw(st.integers(1, 3))
    metals = draw(
        st.lists(
            st.sampled_from(["Zr", "Hf", "Ti", "Sc", "Mg", "Nb", "Lu", "Ga"]),
            min_size=k,
            max_size=k,
            unique=True,
        )
    )
    cuts = sorted(draw(st.lists(st.integers(1, 19), min_size=k - 1, max_size=k - 1, unique=True)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 20], strict=True)]
    m_amounts = {el: p / 10 for el, p in zip(metals, parts, strict=True)}
    si = draw(st.integers(0, 12)) / 4
    p_amt = 3 - si
    m_charge = sum(M_SITE_OXIDATION_STATES[el] * a for el, a in m_amounts.items())
    na = 24 - m_charge - 4 * si - 5 * p_amt
    if not 0 <= na <= 4:
        from hypothesis import assume

        assume(False)
    body = "".join(f"{el}{a:g}" for el, a in m_amounts.items())
    return f"Na{na:g}{body}Si{si:g}P{p_amt:g}O12"


@settings(max_examples=150, deadline=None)
@given(charge_balanced())
def test_valid_compositions_round_trip(formula: str) -> None:
    comp = parse_nasicon(formula)
    again = parse_nasicon(comp.formula)
    assert again.formula == comp.formula
    assert again.na == pytest.approx(comp.na)
    assert abs(comp.charge) < 1e-9
