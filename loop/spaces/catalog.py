"""The built-in design spaces (TOML files shipped in this package) and how to load any space."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from loop.spaces.design_space import DesignSpace, build_space
from loop.spaces.spec import SpaceError, SpaceSpec, space_from_dict, space_from_toml

#: Built-in space name -> TOML file inside the ``loop.spaces`` package.
BUILTIN_SPACES: dict[str, str] = {
    "ouyang-grid": "ouyang-grid.toml",
    "entropy-nzsp": "entropy-nzsp.toml",
    "nzsp-sodium-rich": "nzsp-sodium-rich.toml",
}


def builtin_space_names() -> list[str]:
    """Names of the built-in spaces."""
    return list(BUILTIN_SPACES)


def load_spec(name_or_path: str | Path) -> SpaceSpec:
    """The spec of a built-in space (by name) or of a user TOML file (by path).

    Raises:
        SpaceError: an unknown name that is not a file either, or an invalid file.
    """
    key = str(name_or_path)
    if key in BUILTIN_SPACES:
        import tomllib

        text = resources.files("loop.spaces").joinpath(BUILTIN_SPACES[key]).read_text()
        return space_from_dict(tomllib.loads(text), f"built-in space {key}")
    path = Path(key)
    if path.suffix == ".toml" or path.exists():
        return space_from_toml(path)
    raise SpaceError(
        f"unknown design space {key!r} (built-in: {', '.join(BUILTIN_SPACES)}; "
        "or the path of a .toml file)"
    )


def load_space(name_or_path: str | Path, *, allow_empty: bool = False) -> DesignSpace:
    """Load and build a space by built-in name or TOML path (see :func:`load_spec`)."""
    return build_space(load_spec(name_or_path), allow_empty=allow_empty)
