"""A fast chemical-formula parser: element amounts from any nesting of parentheses.

Accepts pymatgen's notations (``Na3Zr2Si2PO12``, ``Na3Zr2(SiO4)2(PO4)``,
``Na6Hf3MgSi2(PO6)4``, ``Na3Mg7.5Sn4.5S18O72``, fractional ``Na3.6Zr0.5...``) without
building a pymatgen ``Composition`` (about 20x faster, which matters when millions of
candidates are parsed).
"""

from __future__ import annotations

import re

from loop.errors import CompositionError

_TOKEN = re.compile(r"[A-Z][a-z]?|\d+\.\d*|\.\d+|\d+|[()\[\]]")
_SPACES = re.compile(r"\s+")
_OPEN = {"(": ")", "[": "]"}


def parse_formula(formula: str) -> dict[str, float]:
    """Element -> amount for ``formula`` (amounts summed over repeated elements).

    Raises:
        CompositionError: empty formula, a character that is not part of a formula or
            unbalanced brackets. Elements with amount 0 are dropped.
    """
    text = _SPACES.sub("", formula)
    if not text:
        raise CompositionError("empty formula")
    tokens = _TOKEN.findall(text)
    if sum(map(len, tokens)) != len(text):
        bad = _TOKEN.sub("", text)
        raise CompositionError(
            f"formula {formula!r} contains characters {bad!r} that are not part of a formula"
        )
    stack: list[dict[str, float]] = [{}]
    closers: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        i += 1
        if tok in _OPEN:
            stack.append({})
            closers.append(_OPEN[tok])
            continue
        mult = 1.0
        if i < n and (tokens[i][0].isdigit() or tokens[i][0] == "."):
            mult = float(tokens[i])
            i += 1
        if tok in (")", "]"):
            if not closers or closers.pop() != tok:
                raise CompositionError(f"formula {formula!r} has unbalanced brackets")
            group = stack.pop()
            top = stack[-1]
            for el, amt in group.items():
                top[el] = top.get(el, 0.0) + amt * mult
        elif tok[0].isalpha():
            top = stack[-1]
            top[tok] = top.get(tok, 0.0) + mult
        else:
            raise CompositionError(f"formula {formula!r} has a number {tok!r} with no element")
    if closers:
        raise CompositionError(f"formula {formula!r} has unbalanced brackets")
    return {el: amt for el, amt in stack[0].items() if amt > 0}  # "Si0" means no Si
