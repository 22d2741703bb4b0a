"""Design-space files: the built-in TOML files shipped as package data and users' TOML files.

This is the one reader of design-space files; parsing and validation are
:func:`loop.spaces.space_from_toml_text` / :func:`loop.spaces.space_from_dict`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from loop.errors import DataMissingError
from loop.spaces import DesignSpace, SpaceError, SpaceSpec, build_space, space_from_toml_text

#: Built-in space name -> TOML file in the ``experiments.importers.spaces`` package.
BUILTIN_SPACES: dict[str, str] = {
    "ouyang-grid": "ouyang-grid.toml",
    "entropy-nzsp": "entropy-nzsp.toml",
    "nzsp-sodium-rich": "nzsp-sodium-rich.toml",
}
_PACKAGE = "experiments.importers.spaces"


def builtin_space_names() -> list[str]:
    """Names of the built-in spaces."""
    return list(BUILTIN_SPACES)


def read_space_toml(path: str | Path) -> SpaceSpec:
    """The space spec of a user's TOML file.

    Raises:
        DataMissingError: the file does not exist.
        SpaceError: unreadable, not TOML, or an invalid field.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"design-space file {path} does not exist")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"cannot read design-space file {path}: {exc}") from exc
    return space_from_toml_text(text, str(path))


def load_spec(name_or_path: str | Path) -> SpaceSpec:
    """The spec of a built-in space (by name) or of a user TOML file (by path).

    Raises:
        SpaceError: an unknown name that is not a file either, or an invalid file.
        DataMissingError: a ``.toml`` path that does not exist.
    """
    key = str(name_or_path)
    if key in BUILTIN_SPACES:
        text = resources.files(_PACKAGE).joinpath(BUILTIN_SPACES[key]).read_text()
        return space_from_toml_text(text, f"built-in space {key}")
    path = Path(key)
    if path.suffix == ".toml" or path.exists():
        return read_space_toml(path)
    raise SpaceError(
        f"unknown design space {key!r} (built-in: {', '.join(BUILTIN_SPACES)}; "
        "or the path of a .toml file)"
    )


def load_space(name_or_path: str | Path, *, allow_empty: bool = False) -> DesignSpace:
    """Load and build a space by built-in name or TOML path (see :func:`load_spec`)."""
    return build_space(load_spec(name_or_path), allow_empty=allow_empty)
