"""Oxidation states of multivalent M-site cations inferred from charge balance (issue 13)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loop.chemistry import parse_nasicon
from loop.chemistry.ions import ALLOWED_OXIDATION_STATES, M_SITE_OXIDATION_STATES, Ion
from loop.chemistry.oxidation import common_states, describe_inference
from loop.descriptors import describe_formulas
from loop.errors import CompositionError


@pytest.mark.parametrize(
    ("formula", "element", "state"),
    [
        ("NaNbZr(PO4)3", "Nb", 4),
        ("NaMoZr(PO4)3", "Mo", 4),
        ("Na3Ti2(PO4)3", "Ti", 3),
        ("NaV2(PO4)3", "V", 4),
    ],
)
def test_unbalanced_default_is_replaced_by_the_balancing_state(formula, element, state) -> None:
    comp = parse_nasicon(formula)
    assert abs(comp.charge) < 1e-9
    assert dict((ion.element, ion.charge) for ion, _ in comp.m_site)[element] == state
    assert comp.inferred == ((element, state),)
    assert comp.formula.endswith(f"|{element}{state:+d}")  # the choice is reported
    assert parse_nasicon(comp.formula) == comp  # and reads back without inference
    assert parse_nasicon(comp.formula).inferred == ()
    assert f"{element}{state}+" in describe_inference(dict(comp.inferred))


def test_defaults_that_balance_are_kept() -> None:
    for formula in ("Na3V2(PO4)3", "NaNb2(PO4)3|Nb+4", "Na2FeTi(PO4)3", "NaZr2(PO4)3"):
        comp = parse_nasicon(formula)
        assert comp.inferred == ()
        for ion, _ in comp.m_site:
            assert ion.charge == M_SITE_OXIDATION_STATES[ion.element] or "|" in formula


def test_ambiguous_and_impossible_balances_are_refused_in_one_line() -> None:
    with pytest.raises(CompositionError, match="several equally plausible") as info:
        parse_nasicon("Na3FeTi(PO4)3")  # Fe2+Ti4+ or Fe3+Ti3+
    assert "|Fe+2" in str(info.value) and "|Ti+3" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(CompositionError, match="no common states \\(V \\+3/\\+4/\\+5\\)"):
        parse_nasicon("Na2.5V2(PO4)3")  # V3.25+ would need mixed valence
    with pytest.raises(CompositionError, match="not charge balanced: net charge \\+1"):
        parse_nasicon("Na4Zr2Si2PO12")  # Zr has one state


def test_overrides_fix_a_state_and_the_rest_is_inferred() -> None:
    comp = parse_nasicon("Na3FeTi(PO4)3", {"Fe": 2})
    assert {ion.element: ion.charge for ion, _ in comp.m_site} == {"Fe": 2, "Ti": 4}
    comp = parse_nasicon("Na3FeTi(PO4)3|Ti+3")
    assert {ion.element: ion.charge for ion, _ in comp.m_site} == {"Fe": 3, "Ti": 3}
    assert comp.formula == "Na3FeTiP3O12|Ti+3"


def test_inferred_states_flow_into_the_descriptors() -> None:
    table, parsed = describe_formulas(["NaNbZr(PO4)3", "NaNbZrP3O12|Nb+4"])
    assert not parsed.errors
    assert table["valence_mean"].tolist() == pytest.approx([4.0, 4.0])
    assert table["formula"].nunique() == 1


def test_common_states_have_radii_and_start_with_the_default() -> None:
    for element in ALLOWED_OXIDATION_STATES:
        states = common_states(element)
        assert states[0] == M_SITE_OXIDATION_STATES[element]
        assert set(states) <= set(ALLOWED_OXIDATION_STATES[element])
    assert 2 not in common_states("Sn")  # Sn2+ has no CN VI radius


_MULTI = ["Ti", "V", "Nb", "Mn", "Fe", "Cr", "Co", "Mo", "Sn", "Ce", "W"]
_SINGLE = ["Zr", "Hf", "Mg", "Sc", "Al", "Zn"]


@st.composite
def balanced_with_random_states(draw) -> tuple[str, dict[str, int]]:
    """Charge-balanced compositions whose M cations take random common states."""
    k = draw(st.integers(1, 3))
    metals = draw(st.lists(st.sampled_from(_MULTI + _SINGLE), min_size=k, max_size=k,
                           unique=True))
    states = {el: draw(st.sampled_from(common_states(el))) for el in metals}
    cuts = sorted(draw(st.lists(st.integers(1, 7), min_size=k - 1, max_size=k - 1,
                                unique=True)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 8], strict=True)]
    amounts = {el: p / 4 for el, p in zip(metals, parts, strict=True)}
    si = draw(st.integers(0, 6)) / 2
    p_amt = 3 - si
    na = 24 - sum(states[el] * a for el, a in amounts.items()) - 4 * si - 5 * p_amt
    assume(0 <= na <= 4)
    body = "".join(f"{el}{a:g}" for el, a in amounts.items())
    return f"Na{na:g}{body}Si{si:g}P{p_amt:g}O12", states


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(balanced_with_random_states())
def test_balanced_compositions_parse_back_to_a_balanced_assignment(case) -> None:
    formula, states = case
    explicit = parse_nasicon(formula, states)  # the generating states always work
    assert {ion.element: ion.charge for ion, _ in explicit.m_site} == states
    try:
        comp = parse_nasicon(formula)
    except CompositionError as exc:  # a balance exists, so only ambiguity may be refused
        assert "several equally plausible" in str(exc)
        return
    assert abs(comp.charge) < 1e-9
    for ion, _ in comp.m_site:
        assert ion.charge in common_states(ion.element)
    changed = {ion.element for ion, _ in comp.m_site if ion != Ion(ion.element,
               M_SITE_OXIDATION_STATES[ion.element])}
    assert changed == {el for el, _ in comp.inferred}
    assert parse_nasicon(comp.formula) == comp
    multivalent = [el for el in states if len(common_states(el)) > 1]
    if len(multivalent) <= 1:  # one free state: the balance fixes it uniquely
        assert {ion.element: ion.charge for ion, _ in comp.m_site} == states
