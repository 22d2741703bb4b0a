"""NASICON chemistry: ions and their data, formula parsing, site assignment and validation."""

from loop.chemistry.composition import NasiconComposition, parse_nasicon
from loop.chemistry.formula import parse_formula
from loop.chemistry.ions import (
    A_SITE_IONS,
    DEFAULT_OXIDATION_STATES,
    Ion,
    ion_properties,
)

__all__ = [
    "A_SITE_IONS",
    "DEFAULT_OXIDATION_STATES",
    "Ion",
    "NasiconComposition",
    "ion_properties",
    "parse_formula",
    "parse_nasicon",
]
