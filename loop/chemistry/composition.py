"""NASICON compositions: site assignment and validation of Na_x M_2 (AO4)_3 formulas.

A formula unit has 12 O; the mobile ion Na or Li (0 to 4; one of them, never both) fills
the Na sites, octahedral metals the M site
(2 per formula unit) and the polyanion centres Si/P/S the A site (3 per formula unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from loop.chemistry.formula import parse_formula
from loop.chemistry.ions import (
    A_SITE_OXIDATION_STATES,
    ALLOWED_OXIDATION_STATES,
    M_SITE_OXIDATION_STATES,
    MOBILE_IONS,
    Ion,
    ion_properties,
    known_elements,
)
from loop.chemistry.oxidation import infer_m_site_states
from loop.errors import CompositionError

#: Tolerance on site totals (M = 2, A = 3 per formula unit) and on charge balance.
SITE_TOLERANCE = 1e-6
O_PER_FORMULA_UNIT = 12.0
M_TOTAL = 2.0
A_TOTAL = 3.0
NA_MAX = 4.0
_OVERRIDE_SEP = "|"


def _fmt_amount(x: float) -> str:
    if abs(x - 1.0) < 1e-9:
        return ""
    text = f"{x:.8f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True, slots=True)
class NasiconComposition:
    """Site occupancies of one NASICON formula unit (12 O).

    Attributes:
        na: mobile ion (Na or Li, see ``mobile_ion``) per formula unit (0 to 4).
        m_site: (ion, amount) of each M-site cation; amounts sum to 2.
        a_site: (ion, amount) of each polyanion centre (Si/P/S); amounts sum to 3.
        inferred: (element, state) of M-site cations whose default state did not balance
            the charge and was inferred (:mod:`loop.chemistry.oxidation`); not part of
            equality (the canonical formula carries the states).
        mobile_ion: "Na" (default) or "Li"; only Na is in the domain of the tolerance factor.
    """

    na: float
    m_site: tuple[tuple[Ion, float], ...]
    a_site: tuple[tuple[Ion, float], ...]
    inferred: tuple[tuple[str, int], ...] = field(default=(), compare=False)
    mobile_ion: str = "Na"

    @property
    def formula(self) -> str:
        """Canonical formula: Na (or Li), M by falling amount then symbol, Si, P, S, O12.

        A non-default oxidation state is kept as a suffix, e.g. ``Na3Ti2P3O12|Ti+3``,
        which :func:`parse_nasicon` reads back.
        """
        parts = [f"{self.mobile_ion}{_fmt_amount(self.na)}"] if self.na > 0 else []
        parts += [f"{ion.element}{_fmt_amount(a)}" for ion, a in self.m_site]
        parts += [f"{ion.element}{_fmt_amount(a)}" for ion, a in self.a_site]
        text = "".join(parts) + "O12"
        overrides = [
            f"{ion.element}{ion.charge:+d}"
            for ion, _ in self.m_site
            if M_SITE_OXIDATION_STATES.get(ion.element) != ion.charge
        ]
        return text + (_OVERRIDE_SEP + ",".join(overrides) if overrides else "")

    @property
    def charge(self) -> float:
        """Net formal charge per formula unit (0 for a valid composition)."""
        return (
            self.na
            + sum(ion.charge * a for ion, a in self.m_site)
            + sum(ion.charge * a for ion, a in self.a_site)
            - 2 * O_PER_FORMULA_UNIT
        )

    def __str__(self) -> str:
        return self.formula


def _split_overrides(formula: str) -> tuple[str, dict[str, int]]:
    if _OVERRIDE_SEP not in formula:
        return formula, {}
    body, _, tail = formula.partition(_OVERRIDE_SEP)
    overrides: dict[str, int] = {}
    for item in filter(None, (t.strip() for t in tail.split(","))):
        el = item.rstrip("+-0123456789")
        try:
            overrides[el] = int(item[len(el) :])
        except ValueError:
            raise CompositionError(
                f"oxidation-state override {item!r} is not of the form Ti+3"
            ) from None
    return body, overrides


def parse_nasicon(
    formula: str, oxidation_states: Mapping[str, int] | None = None
) -> NasiconComposition:
    """Parse, normalise to 12 O, assign sites and validate a NASICON formula.

    Args:
        formula: any notation pymatgen writes, optionally followed by
            ``|Ti+3,V+4`` oxidation-state overrides.
        oxidation_states: overrides of the default table (element -> charge).

    A multivalent M-site cation whose default state leaves the charge unbalanced gets the
    common state that balances it (:func:`loop.chemistry.oxidation.infer_m_site_states`;
    ``NaNbZr(PO4)3`` is Nb4+), reported in ``inferred`` and in the canonical formula.

    Raises:
        CompositionError: unknown element, an element that fits no site, no oxygen, M total
            != 2 or A total != 3, Na (Li) outside 0..4, Li and Na together, a charge that
            no common states balance or that several balance equally well, or an M-site ion
            with no CN VI Shannon radius. The message names the offending value.
    """
    body, inline = _split_overrides(formula)
    overrides = {**inline, **oxidation_states} if oxidation_states else inline
    amounts = parse_formula(body)
    oxygen = amounts.pop("O", 0.0)
    if oxygen <= 0:
        _check_elements(amounts, formula)
        raise CompositionError(f"{formula!r} has no oxygen; a NASICON formula unit has 12 O")
    scale = O_PER_FORMULA_UNIT / oxygen
    mobile_ion, na = _mobile_ion(amounts, formula)
    na *= scale
    m_amounts: dict[str, float] = {}
    a_site: list[tuple[Ion, float]] = []
    fixed_charge = na - 2 * O_PER_FORMULA_UNIT
    a_total = 0.0
    for el, amt in amounts.items():
        amt *= scale
        if el in A_SITE_OXIDATION_STATES:
            ion = _ion(el, A_SITE_OXIDATION_STATES[el])
            a_site.append((ion, amt))
            a_total += amt
            fixed_charge += ion.charge * amt
        elif el in M_SITE_OXIDATION_STATES:
            m_amounts[el] = amt
        else:
            _check_elements({el: amt}, formula)
            raise CompositionError(
                f"{el} fits no NASICON site (Na/Li, octahedral M, or polyanion centre Si/P/S)"
            )
    if overrides:
        _check_overrides(overrides)
    m_total = sum(m_amounts.values())
    if abs(m_total - M_TOTAL) > SITE_TOLERANCE:
        raise CompositionError(f"{formula!r}: M-site total is {m_total:.6g} per 12 O, must be 2")
    if abs(a_total - A_TOTAL) > SITE_TOLERANCE:
        raise CompositionError(
            f"{formula!r}: polyanion (Si+P+S) total is {a_total:.6g} per 12 O, must be 3"
        )
    if not -SITE_TOLERANCE <= na <= NA_MAX + SITE_TOLERANCE:
        raise CompositionError(
            f"{formula!r}: {mobile_ion} is {na:.6g} per 12 O, must be within 0..4"
        )
    for el in m_amounts.keys() & overrides.keys():
        ion_properties(_ion(el, overrides[el]))  # an explicit state must have a radius
    states, inferred = infer_m_site_states(m_amounts, fixed_charge, overrides, formula)
    m_site = [(_ion(el, states[el]), amt) for el, amt in m_amounts.items()]
    for ion, _ in m_site:
        ion_properties(ion)  # raises when there is no CN VI radius
    if len(m_site) > 1:
        m_site.sort(key=_m_order)
    if len(a_site) > 1:
        a_site.sort(key=_a_order)
    return NasiconComposition(
        max(na, 0.0),
        tuple(m_site),
        tuple(a_site),
        tuple((el, states[el]) for el in inferred),
        mobile_ion,
    )


def _mobile_ion(amounts: dict[str, float], formula: str) -> tuple[str, float]:
    """Pop the mobile ion from ``amounts``: ("Na" or "Li", amount); Na when there is none."""
    found = {el: amounts.pop(el) for el in MOBILE_IONS if el in amounts}
    if len(found) > 1:
        raise CompositionError(
            f"{formula!r} has both Li and Na on the mobile-ion site; mixed Li/Na NASICONs "
            "are not supported (one mobile ion per formula)"
        )
    return next(iter(found.items()), ("Na", 0.0))


@cache
def _ion(element: str, charge: int) -> Ion:
    return Ion(element, charge)


def _m_order(item: tuple[Ion, float]) -> tuple[float, str]:
    return (-round(item[1], 9), item[0].element)


_A_ORDER = {el: i for i, el in enumerate(A_SITE_OXIDATION_STATES)}


def _a_order(item: tuple[Ion, float]) -> int:
    return _A_ORDER[item[0].element]


def _check_elements(amounts: Mapping[str, float], formula: str) -> None:
    elements = known_elements()
    for el in amounts:
        if el not in elements:
            raise CompositionError(f"unknown element {el!r} in {formula!r}")


def _check_overrides(overrides: Mapping[str, int]) -> None:
    for el, charge in overrides.items():
        if el not in M_SITE_OXIDATION_STATES:
            raise CompositionError(f"oxidation-state override for {el}: not an M-site cation")
        allowed = ALLOWED_OXIDATION_STATES.get(el, (M_SITE_OXIDATION_STATES[el],))
        if charge not in allowed:
            choices = ", ".join(f"{q:+d}" for q in allowed)
            raise CompositionError(f"oxidation state {charge:+d} of {el} is not one of {choices}")
