"""Oxidation states of multivalent M-site cations, inferred from charge balance.

The table of :mod:`loop.chemistry.ions` gives each M-site cation a default state. When the
defaults leave a formula unbalanced (``NaNbZr(PO4)3``: Nb5+ gives +1), the states of the
multivalent cations that were not set explicitly are chosen here:

1. candidates are the element's common states (:data:`ALLOWED_OXIDATION_STATES`, default
   first, then by how common they are) that have an octahedral (CN VI) Shannon radius;
2. of the combinations that balance the charge, the most plausible keeps the most
   cations at their defaults, then prefers the more common states (smaller summed
   position in those lists);
3. no balancing combination, or several equally plausible ones, is refused with one line
   that names the choices (the caller can then pass ``|Nb+4`` or ``--ox Nb=4``).

Mixed valence of one element (Fe2+/Fe3+ on the same site) is not inferred: one element has
one state per formula.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from functools import cache

from loop.chemistry.ions import ALLOWED_OXIDATION_STATES, M_SITE_OXIDATION_STATES, Ion
from loop.errors import CompositionError

#: Net charge per formula unit below which a composition counts as balanced.
CHARGE_TOLERANCE = 1e-5


@cache
def common_states(element: str) -> tuple[int, ...]:
    """Common oxidation states of an M-site ``element`` that have a CN VI radius (default
    first); a single-valent element gives its default only."""
    from loop.chemistry.ions import shannon_radius_vi

    states = ALLOWED_OXIDATION_STATES.get(element, (M_SITE_OXIDATION_STATES[element],))
    usable = []
    for q in states:
        try:
            shannon_radius_vi(element, q)
        except CompositionError:
            continue
        usable.append(q)
    return tuple(usable)


def _suffix(states: Mapping[str, int]) -> str:
    return ",".join(f"{el}{q:+d}" for el, q in states.items())


def _net(states: Mapping[str, int], amounts: Mapping[str, float], fixed: float) -> float:
    return fixed + sum(states[el] * a for el, a in amounts.items())


def infer_m_site_states(
    amounts: Mapping[str, float],
    fixed_charge: float,
    overrides: Mapping[str, int],
    formula: str,
) -> tuple[dict[str, int], tuple[str, ...]]:
    """Oxidation state of each M-site element that balances the charge.

    Args:
        amounts: M-site element -> amount per formula unit (12 O).
        fixed_charge: charge of everything else per formula unit (Na + polyanion centres
            - 24 for O), so the M site must carry ``-fixed_charge``.
        overrides: states set explicitly (never changed here).
        formula: the input, for messages.

    Returns:
        (element -> state, the elements whose state was inferred away from its default).

    Raises:
        CompositionError: not balanced by any common states ("not charge balanced"), or by
            several equally plausible ones ("charge balances with several ...").
    """
    states = {el: overrides.get(el, M_SITE_OXIDATION_STATES[el]) for el in amounts}
    net = _net(states, amounts, fixed_charge)
    if abs(net) <= CHARGE_TOLERANCE:
        return states, ()
    free = [el for el in amounts if el not in overrides and len(common_states(el)) > 1]
    unbalanced = f"{formula!r} is not charge balanced: net charge {net:+.4g} per formula unit"
    if not free:
        raise CompositionError(unbalanced)
    best: list[dict[str, int]] = []
    best_key: tuple[int, int] | None = None
    for combo in itertools.product(*(common_states(el) for el in free)):
        trial = {**states, **dict(zip(free, combo, strict=True))}
        if abs(_net(trial, amounts, fixed_charge)) > CHARGE_TOLERANCE:
            continue
        positions = [common_states(el).index(q) for el, q in zip(free, combo, strict=True)]
        key = (sum(p > 0 for p in positions), sum(positions))
        if best_key is None or key < best_key:
            best, best_key = [trial], key
        elif key == best_key:
            best.append(trial)
    if not best:
        options = "; ".join(
            f"{el} {'/'.join(f'{q:+d}' for q in common_states(el))}" for el in free
        )
        raise CompositionError(
            f"{unbalanced} with the default states, and no common states ({options}) balance it"
        )
    if len(best) > 1:
        choices = " or ".join(
            "|" + _suffix({el: t[el] for el in free if t[el] != states[el]}) for t in best[:3]
        )
        raise CompositionError(
            f"{formula!r}: charge balances with several equally plausible oxidation states "
            f"({choices}); append one to the formula or pass --ox"
        )
    chosen = best[0]
    return chosen, tuple(el for el in free if chosen[el] != states[el])


def describe_inference(inferred: Mapping[str, int]) -> str:
    """One line reporting inferred states, e.g. ``oxidation states inferred: Nb4+``."""
    if not inferred:
        return ""
    ions = ", ".join(str(Ion(el, q)) for el, q in inferred.items())
    return f"oxidation states inferred from charge balance: {ions}"
