"""Size limits of the raw-file readers (XRD patterns, impedance spectra) and the one-line
refusals that name them.

The limits are settings (``[limits]`` in ``nasicon.toml``, :class:`loop.settings.LimitsConfig`,
environment ``NASICON_LIMITS__MAX_XRD_POINTS`` ...): :func:`xrd_limits` and :func:`eis_limits`
turn the settings into the :class:`ReadLimits` a reader takes. A reader given no limits
uses the defaults of those settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loop.errors import ValidationError

if TYPE_CHECKING:
    from loop.settings import LimitsConfig


@dataclass(frozen=True)
class ReadLimits:
    """Most points and bytes a raw file of one kind may have, and the settings that say so."""

    max_points: int
    max_bytes: int
    points_setting: str
    bytes_setting: str

    def check_bytes(self, size: int, what: str) -> None:
        """Refuse a file of ``size`` bytes above :attr:`max_bytes` (``what`` names the file)."""
        if size > self.max_bytes:
            raise ValidationError(
                f"{what} has {_size(size)}; at most {_size(self.max_bytes)} are accepted "
                f"({setting_note(self.bytes_setting)})"
            )

    def check_points(self, n: int, what: str, unit: str = "points") -> None:
        """Refuse ``n`` points (or rows, ``unit``) above :attr:`max_points`."""
        if n > self.max_points:
            raise ValidationError(
                f"{what} has {n:,} {unit}; at most {self.max_points:,} are accepted "
                f"({setting_note(self.points_setting)})"
            )


def setting_note(name: str) -> str:
    """``setting limits.x, environment NASICON_LIMITS__X``: where a limit is changed."""
    section, _, key = name.partition(".")
    return f"setting {name}, environment NASICON_{section.upper()}__{key.upper()}"


def _size(n: int) -> str:
    """``n`` bytes as people read it: ``512 bytes``, ``3.2 MiB``."""
    if n < 1024 * 1024:
        return f"{n:,} bytes"
    if n % 2**20 == 0:
        return f"{n // 2**20} MiB"
    return f"{n / 2**20:.1f} MiB"


#: Defaults (the settings' defaults, :class:`loop.settings.LimitsConfig`).
XRD_MAX_POINTS = 3_000_000  # a 0.0001 deg step over 170 deg is 1.7 million
XRD_MAX_BYTES = 128 * 1024 * 1024  # 3 million "2theta counts" rows take about 60 MB
EIS_MAX_POINTS = 100_000  # a frequency sweep has at most a few thousand
EIS_MAX_BYTES = 32 * 1024 * 1024  # 100,000 rows of a 20-column BioLogic export

DEFAULT_XRD_LIMITS = ReadLimits(
    XRD_MAX_POINTS, XRD_MAX_BYTES, "limits.max_xrd_points", "limits.max_xrd_bytes"
)
DEFAULT_EIS_LIMITS = ReadLimits(
    EIS_MAX_POINTS, EIS_MAX_BYTES, "limits.max_eis_points", "limits.max_eis_bytes"
)


def xrd_limits(cfg: LimitsConfig) -> ReadLimits:
    """The XRD reader's limits from the ``[limits]`` settings."""
    return ReadLimits(
        cfg.max_xrd_points, cfg.max_xrd_bytes, "limits.max_xrd_points", "limits.max_xrd_bytes"
    )


def eis_limits(cfg: LimitsConfig) -> ReadLimits:
    """The impedance reader's limits from the ``[limits]`` settings."""
    return ReadLimits(
        cfg.max_eis_points, cfg.max_eis_bytes, "limits.max_eis_points", "limits.max_eis_bytes"
    )
