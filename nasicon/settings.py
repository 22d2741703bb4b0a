"""Load :class:`loop.settings.NasiconConfig` from a TOML file with environment overrides.

Precedence (highest first): explicit arguments (CLI options) > environment variables
``NASICON_<SECTION>__<KEY>`` (e.g. ``NASICON_XRD__IMPURITY_THRESHOLD=0.03``; a value that
starts with ``[`` or ``{`` is read as JSON, so ``NASICON_MODELS__COMPARE='["gnb"]'`` gives a
list; a few settings have short aliases such as ``NASICON_DB``) > the TOML file (``--config``,
``NASICON_CONFIG`` or ``./nasicon.toml``) > the defaults of :mod:`loop.settings`.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from loop.errors import ConfigError
from loop.settings import NasiconConfig

log = logging.getLogger(__name__)

#: Short environment aliases for the settings people change most.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "NASICON_DB": ("database", "url"),
    "NASICON_DFT_DATA": ("data", "dft_path"),
    "NASICON_LITERATURE_DATA": ("data", "literature_path"),
    "NASICON_RAW_STORE": ("data", "raw_store"),
}

#: Environment variables of the application that are not settings.
_NOT_SETTINGS = {"NASICON_CONFIG"}


def _env_value(key: str, value: str) -> Any:
    """The value of one environment setting; JSON for lists and tables."""
    if value.lstrip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"environment variable {key} is not valid JSON: {exc}") from exc
    return value


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Settings given as ``NASICON_<SECTION>__<KEY>`` (or an alias), by section."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        if key in _NOT_SETTINGS:
            continue
        if key in ENV_ALIASES:
            section, field = ENV_ALIASES[key]
        elif key.startswith("NASICON_") and "__" in key:
            section, _, field = key[len("NASICON_") :].lower().partition("__")
        else:
            continue
        out.setdefault(section, {})[field] = _env_value(key, value)
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def validate_settings(raw: Mapping[str, Any], *, origin: str = "configuration") -> NasiconConfig:
    """Validate a settings mapping; the first problem becomes one :class:`ConfigError` line."""
    try:
        return NasiconConfig.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid {origin} value {where}: {first['msg']}") from exc


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> NasiconConfig:
    """Load settings from ``path`` (or ``$NASICON_CONFIG`` / ``./nasicon.toml``) plus env.

    Raises:
        ConfigError: the file is unreadable, not TOML, or holds an invalid value.
    """
    environ = dict(os.environ if environ is None else environ)
    explicit = path is not None or "NASICON_CONFIG" in environ
    cfg_path = Path(path or environ.get("NASICON_CONFIG", "nasicon.toml"))
    raw: dict[str, Any] = {}
    if cfg_path.is_file():
        try:
            raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"cannot read config file {cfg_path}: {first}") from exc
        log.info("configuration read from %s", cfg_path)
    elif explicit:
        what = "is not a file" if cfg_path.exists() else "does not exist"
        raise ConfigError(f"config file {cfg_path} {what}")
    raw = _merge(raw, env_overrides(environ))
    return validate_settings(raw)
