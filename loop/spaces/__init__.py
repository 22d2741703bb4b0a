"""Design spaces: declared in TOML, validated, enumerated lazily in occupancy chunks.

Files are read above this package (:mod:`experiments.importers.design_spaces`, which also
holds the built-in spaces); here specs are parsed from text or mappings and built:

>>> from loop.spaces import build_space, space_from_dict
>>> build_space(space_from_dict({"type": "grid", "name": "zr", "pool": ["Zr"]})).size > 0
True
"""

from loop.spaces.coverage import Coverage, coverage, dft_formulas, literature_formulas
from loop.spaces.design_space import (
    DEFAULT_CHUNK_SIZE,
    DesignSpace,
    build_space,
    concat_batches,
)
from loop.spaces.grids import amount_vectors
from loop.spaces.spec import (
    Constraints,
    DopantRule,
    DopedHostSpaceSpec,
    GridSpaceSpec,
    MetalSite,
    PolyanionSite,
    SodiumRange,
    SpaceError,
    SpaceSpec,
    space_from_dict,
    space_from_json,
    space_from_toml_text,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Constraints",
    "Coverage",
    "DesignSpace",
    "DopantRule",
    "DopedHostSpaceSpec",
    "GridSpaceSpec",
    "MetalSite",
    "PolyanionSite",
    "SodiumRange",
    "SpaceError",
    "SpaceSpec",
    "amount_vectors",
    "build_space",
    "concat_batches",
    "coverage",
    "dft_formulas",
    "literature_formulas",
    "space_from_dict",
    "space_from_json",
    "space_from_toml_text",
]
