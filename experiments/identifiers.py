"""Sample ids and formulas as the lab types them: one rule for every entry point (CLI,
batch CSV, web API), applied by :mod:`experiments.records`.

Sample ids: 1 to :data:`MAX_SAMPLE_ID` (64) characters, printable, no tab, newline or
other control character; spaces only inside (leading and trailing ones are dropped).
Ids are compared case-insensitively within a campaign: the registry refuses a new
``s001`` when ``S001`` exists, naming the existing one.

Formulas: amounts are normalised to :data:`AMOUNT_DECIMALS` (4) decimals before lookup and
insert, so ``Na3Zr1.9999999Si2PO12`` is ``Na3Zr2Si2PO12``; a composition whose rounded
amounts no longer balance (thirds, ...) is kept as parsed.
"""

from __future__ import annotations

import re

from loop.chemistry import parse_nasicon
from loop.errors import CompositionError, ValidationError

MAX_SAMPLE_ID = 64
AMOUNT_DECIMALS = 4
_AMOUNT = re.compile(r"(\d+\.\d+)")


def check_sample_id(value: str) -> str:
    """``value`` stripped, if it is a valid sample id.

    Raises:
        ValidationError: empty, longer than 64 characters, or holding a control character
            (tab, newline, ...).
    """
    text = value.strip()
    if not text:
        raise ValidationError("a sample id is required (e.g. --sample S-042)")
    if len(text) > MAX_SAMPLE_ID:
        raise ValidationError(
            f"sample id {text[:20]!r}... has {len(text)} characters; at most {MAX_SAMPLE_ID}"
        )
    bad = next((c for c in text if not c.isprintable()), None)
    if bad is not None:
        raise ValidationError(
            f"sample id {text!r} holds the control character {bad!r}; use printable "
            "characters (spaces only inside)"
        )
    return text


def normalise_formula(formula: str) -> str:
    """The canonical formula with amounts rounded to :data:`AMOUNT_DECIMALS` decimals.

    Raises:
        CompositionError: not a NASICON formula.
    """
    canonical = parse_nasicon(formula).formula
    body, sep, states = canonical.partition("|")
    rounded = _AMOUNT.sub(lambda m: f"{round(float(m.group(1)), AMOUNT_DECIMALS):g}", body)
    if rounded == body:
        return canonical
    try:
        return parse_nasicon(rounded + sep + states).formula
    except CompositionError:
        return canonical
