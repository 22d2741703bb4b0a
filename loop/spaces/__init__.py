"""Design spaces: declared in TOML, validated, enumerated lazily in occupancy chunks.

>>> from loop.spaces import load_space
>>> space = load_space("ouyang-grid")
>>> space.size > 3881
True
"""

from loop.spaces.catalog import BUILTIN_SPACES, builtin_space_names, load_space, load_spec
from loop.spaces.coverage import Coverage, coverage, dft_formulas, literature_formulas
from loop.spaces.design_space import (
    DEFAULT_CHUNK_SIZE,
    DesignSpace,
    amount_vectors,
    build_space,
    concat_batches,
)
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
    space_from_toml,
)

__all__ = [
    "BUILTIN_SPACES",
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
    "builtin_space_names",
    "concat_batches",
    "coverage",
    "dft_formulas",
    "literature_formulas",
    "load_space",
    "load_spec",
    "space_from_dict",
    "space_from_json",
    "space_from_toml",
]
