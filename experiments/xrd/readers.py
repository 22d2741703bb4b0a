"""Powder patterns from lab exports, read with geddes (a maintained Rust parser with Python
bindings): two-column .xy/.xye/.csv/.txt/.dat, PANalytical .xrdml, Bruker .raw (RAW3/RAW4) and
.brml, Rigaku .ras and .rasx. Angles are deg 2theta, intensities as stored (counts or cps).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geddes
import numpy as np

from experiments.files import require_regular_file
from experiments.limits import DEFAULT_XRD_LIMITS, XRD_MAX_BYTES, XRD_MAX_POINTS, ReadLimits
from loop.errors import ValidationError

log = logging.getLogger(__name__)

#: Fewest points a pattern must have to be analysed.
MIN_POINTS = 50
#: Default of the most points a pattern may have (setting ``limits.max_xrd_points``).
MAX_POINTS = XRD_MAX_POINTS
#: Default of the largest pattern file read, bytes (setting ``limits.max_xrd_bytes``).
MAX_FILE_BYTES = XRD_MAX_BYTES
SUPPORTED_SUFFIXES = frozenset(
    {".xy", ".xye", ".csv", ".txt", ".dat", ".xrdml", ".raw", ".brml", ".ras", ".rasx"}
)
_TEXT_SUFFIXES = frozenset({".xy", ".xye", ".csv", ".txt", ".dat"})


@dataclass(frozen=True, eq=False)
class Pattern:
    """A powder pattern: 2theta (deg, strictly increasing) and intensity."""

    two_theta: np.ndarray
    intensity: np.ndarray
    source: str = ""
    wavelength_a: float | None = None  # declared by the file (Ka1, A), when it says

    def __len__(self) -> int:
        return int(self.two_theta.size)


def make_pattern(
    two_theta: np.ndarray,
    intensity: np.ndarray,
    *,
    source: str = "",
    wavelength_a: float | None = None,
    limits: ReadLimits | None = None,
) -> Pattern:
    """Validated :class:`Pattern` from arrays (at most ``limits.max_points`` points; default
    :data:`MAX_POINTS`).

    Raises:
        ValidationError: too few or too many points, lengths differ, a non-finite value,
            negative intensities throughout, or 2theta that is not strictly increasing.
    """
    x = np.asarray(two_theta, dtype=float).ravel()
    y = np.asarray(intensity, dtype=float).ravel()
    where = f" in {source}" if source else ""
    if x.size != y.size:
        raise ValidationError(f"2-theta and intensity{where} differ in length")
    if x.size < MIN_POINTS:
        raise ValidationError(
            f"the pattern{where} has {x.size} points; at least {MIN_POINTS} are needed"
        )
    (limits or DEFAULT_XRD_LIMITS).check_points(x.size, f"the pattern{where}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValidationError(f"the pattern{where} has a value that is not a finite number")
    if np.any(np.diff(x) <= 0):
        raise ValidationError(f"2-theta values{where} are not strictly increasing")
    if not (0 < x[0] and x[-1] < 180):
        raise ValidationError(f"2-theta values{where} are not between 0 and 180 degrees")
    if np.max(y) <= 0:
        raise ValidationError(f"the pattern{where} has no positive intensity")
    return Pattern(x, y, source, wavelength_a)


def read_pattern(path: str | Path, *, limits: ReadLimits | None = None) -> Pattern:
    """Read a powder pattern file (format chosen by geddes from the content and extension).

    ``limits`` (default: the defaults of the ``[limits]`` settings) bound its bytes and points.

    Raises:
        DataMissingError: the file does not exist.
        ValidationError: unreadable, empty, unsupported, or not a valid pattern (for
            example 2theta not strictly increasing), or larger than ``limits``.
    """
    limits = limits or DEFAULT_XRD_LIMITS
    p = require_regular_file(path, "XRD pattern file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValidationError(
            f"XRD pattern file {p} has extension {suffix or '(none)'}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    try:
        limits.check_bytes(p.stat().st_size, f"XRD pattern file {p}")
        data = p.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read XRD pattern file {p}: {exc.strerror}") from None
    if not data.strip():
        raise ValidationError(f"XRD pattern file {p} is empty")
    if suffix in _TEXT_SUFFIXES and _descending(data):
        # geddes silently reverses a descending scan; the file's own order is checked here
        raise ValidationError(f"2-theta values in {p} are not strictly increasing")
    try:
        pat = geddes.read_bytes(data, p.name)
        x, y = np.asarray(pat.x, dtype=float), np.asarray(pat.y, dtype=float)
    except ValueError as exc:
        msg = str(exc)
        if "increasing" in msg:
            raise ValidationError(f"2-theta values in {p} are not strictly increasing") from None
        if suffix not in _TEXT_SUFFIXES:
            raise ValidationError(f"cannot read XRD pattern file {p}: {msg}") from None
        x, y = _read_delimited(data, p)  # e.g. semicolon-separated exports geddes declines
    return make_pattern(
        x, y, source=str(p), wavelength_a=_declared_wavelength(data, suffix), limits=limits
    )


def _descending(data: bytes) -> bool:
    """True when the first data row's 2theta exceeds the last one's (a reversed scan)."""
    lines = data[:65536].decode("utf-8-sig", errors="replace").splitlines()
    tail = data[-65536:].decode("utf-8", errors="replace").splitlines()[1:]
    first = next((v for v in map(_row_x, lines) if v is not None), None)
    last = next((v for v in map(_row_x, reversed(tail)) if v is not None), None)
    return first is not None and last is not None and first > last


def _row_x(line: str) -> float | None:
    fields = [f for f in re.split(r"[;,\t ]+", line.strip()) if f]
    if len(fields) < 2:
        return None
    try:
        values = [float(f.replace(",", ".")) for f in fields[:2]]
    except ValueError:
        return None
    return values[0]


def _read_delimited(data: bytes, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Fallback for two-column text with ';' or other separators geddes does not accept."""
    rows = []
    for line in data.decode("utf-8-sig", errors="replace").splitlines():
        fields = [f for f in re.split(r"[;,\t ]+", line.strip()) if f]
        try:
            values = [float(f.replace(",", ".")) for f in fields[:2]]
        except ValueError:
            continue
        if len(values) == 2:
            rows.append(values)
    if not rows:
        raise ValidationError(f"XRD pattern file {path} has no rows of two numbers")
    arr = np.array(rows)
    return arr[:, 0], arr[:, 1]


def _declared_wavelength(data: bytes, suffix: str) -> float | None:
    """The Ka1 wavelength (A) an .xrdml or .ras file declares, else None."""
    head = data[:200_000].decode("utf-8", errors="ignore")
    if suffix == ".xrdml":
        m = re.search(r"<kAlpha1[^>]*>\s*([0-9.]+)\s*</kAlpha1>", head)
    elif suffix == ".ras":
        m = re.search(r'\*HW_XG_WAVE_LENGTH_ALPHA1\s+"([0-9.]+)"', head)
    else:
        m = None
    return float(m.group(1)) if m else None
