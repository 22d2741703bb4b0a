"""Impedance spectra from instrument exports: plain CSV, BioLogic .mpt, Gamry .DTA, ZView/ZPlot
.z, Autolab and CH Instruments text.

Every reader returns the same :class:`Spectrum`: frequency (Hz), Z' and Z'' (ohm) with the sign
convention Z = Z' + jZ'' (Z'' < 0 for a capacitive arc), whatever the file stored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loop.errors import DataMissingError, ValidationError

log = logging.getLogger(__name__)

#: Fewest points a spectrum must have to be fitted.
MIN_POINTS = 10

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One impedance spectrum: frequency (Hz), Z' and Z'' (ohm), Z = Z' + jZ''."""

    frequency_hz: np.ndarray
    z_real: np.ndarray
    z_imag: np.ndarray
    source_format: str = "arrays"
    source: str = ""

    @property
    def z(self) -> np.ndarray:
        """Complex impedance (ohm)."""
        return self.z_real + 1j * self.z_imag

    def __len__(self) -> int:
        return int(self.frequency_hz.size)


def make_spectrum(
    frequency_hz: np.ndarray,
    z: np.ndarray,
    *,
    source_format: str = "arrays",
    source: str = "",
) -> Spectrum:
    """Validated :class:`Spectrum` from frequencies (Hz) and complex impedances (ohm).

    Raises:
        ValidationError: fewer than 10 points, a non-positive or non-finite frequency, or a
            non-finite impedance.
    """
    f = np.asarray(frequency_hz, dtype=float).ravel()
    zc = np.asarray(z, dtype=complex).ravel()
    where = f" in {source}" if source else ""
    if f.size != zc.size:
        raise ValidationError(f"frequency and impedance arrays{where} differ in length")
    if f.size < MIN_POINTS:
        raise ValidationError(
            f"the spectrum{where} has {f.size} points; at least {MIN_POINTS} are needed"
        )
    if not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValidationError(f"the spectrum{where} has a frequency that is not a positive number")
    if not np.all(np.isfinite(zc)):
        raise ValidationError(f"the spectrum{where} has an impedance that is not a finite number")
    return Spectrum(f, zc.real.copy(), zc.imag.copy(), source_format, source)


def read_spectrum(path: str | Path) -> Spectrum:
    """Read an impedance spectrum, choosing the reader from the extension and the content.

    Raises:
        DataMissingError: the file does not exist.
        ValidationError: the file is unreadable, empty, of an unknown layout, or holds fewer
            than 10 valid points.
    """
    p = Path(path)
    if not p.is_file():
        raise DataMissingError(f"impedance file {p} does not exist")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read impedance file {p}: {exc.strerror}") from None
    if not raw.strip():
        raise ValidationError(f"impedance file {p} is empty")
    text = _decode(raw)
    lines = text.splitlines()
    fmt = _detect_format(p, lines)
    reader = _READERS[fmt]
    f, z = reader(lines, p)
    log.debug("read %d points from %s (%s)", f.size, p, fmt)
    return make_spectrum(f, z, source_format=fmt, source=str(p))


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _detect_format(path: Path, lines: list[str]) -> str:
    ext = path.suffix.lower()
    head = "\n".join(lines[:40])
    if ext == ".mpt" or head.startswith("EC-Lab ASCII FILE"):
        return "biologic"
    if ext == ".dta" or "ZCURVE" in head or any(ln.startswith("ZCURVE") for ln in lines):
        return "gamry"
    if ext == ".z" or head.startswith("ZPLOT2 ASCII"):
        return "zplot"
    if "A.C. Impedance" in head or "Freq/Hz" in head:
        return "chinstruments"
    if "Z60W" in head or re.search(r"Z'\s*\(", head) or "Frequency (Hz)" in head:
        return "autolab"
    return "csv"


def _split(line: str) -> list[str]:
    line = line.strip()
    for sep in ("\t", ";", ","):
        if sep in line:
            return [c.strip() for c in line.split(sep)]
    return line.split()


def _is_numeric_row(fields: list[str]) -> bool:
    return bool(fields) and all(_NUMBER.match(c) for c in fields if c != "") and any(fields)


def _numeric_block(lines: list[str], start: int) -> np.ndarray:
    """Consecutive all-numeric rows from ``start`` (blank lines skipped) as a 2-D array."""
    rows: list[list[float]] = []
    for line in lines[start:]:
        if not line.strip():
            continue
        fields = [c for c in _split(line) if c != ""]
        if not _is_numeric_row(fields):
            if rows:
                break
            continue
        rows.append([float(c) for c in fields])
    if not rows:
        return np.empty((0, 0))
    width = min(len(r) for r in rows)
    return np.array([r[:width] for r in rows], dtype=float)


def _header_columns(header: str) -> tuple[int, int, int, float]:
    """Indices of frequency, real and imaginary columns and the sign of the imaginary one."""
    clean = header.strip().strip('"').strip()
    if any(sep in clean for sep in ("\t", ";", ",")):
        names = [c.strip().lower() for c in _split(clean)]
    else:  # space-aligned header ("Freq (Hz)   Z'(a) ..."): columns are 2+ spaces apart
        names = [c.strip().lower() for c in re.split(r"\s{2,}", clean)]

    def find(patterns: tuple[str, ...]) -> int:
        for i, name in enumerate(names):
            if any(re.search(p, name) for p in patterns):
                return i
        raise ValueError(f"no column matching {patterns} in header {header.strip()!r}")

    fi = find((r"^freq",))
    ii = find((r"im\(z\)", r"zimag", r"z''", r'z"', r"z_?im"))
    ri = find((r"re\(z\)", r"zreal", r"z'(?!')", r"z_?re"))
    sign = -1.0 if names[ii].startswith("-") else 1.0
    return fi, ri, ii, sign


def _table_after_header(lines: list[str], header_index: int, path: Path, fmt: str):
    try:
        fi, ri, ii, sign = _header_columns(lines[header_index])
    except ValueError as exc:
        raise ValidationError(f"{fmt} file {path}: {exc}") from None
    data = _numeric_block(lines, header_index + 1)
    if data.size == 0 or data.shape[1] <= max(fi, ri, ii):
        raise ValidationError(f"{fmt} file {path} has no data rows under its column header")
    return data[:, fi], data[:, ri] + 1j * sign * data[:, ii]


def _find_line(lines: list[str], predicate, path: Path, what: str) -> int:
    for i, line in enumerate(lines):
        if predicate(line):
            return i
    raise ValidationError(f"{path} has no {what}; it is not a readable impedance export")


def _read_biologic(lines: list[str], path: Path):
    idx = _find_line(
        lines,
        lambda ln: "freq/hz" in ln.lower() and "re(z)" in ln.lower(),
        path,
        "'freq/Hz ... Re(Z)/Ohm' column header",
    )
    return _table_after_header(lines, idx, path, "BioLogic")


def _read_gamry(lines: list[str], path: Path):
    start = _find_line(lines, lambda ln: ln.startswith("ZCURVE"), path, "ZCURVE table")
    header = start + 1
    f, z = _table_after_header(lines, header, path, "Gamry")
    return f, z


def _read_zplot(lines: list[str], path: Path):
    end = _find_line(lines, lambda ln: ln.strip() == "End Comments", path, "'End Comments' line")
    header = next((i for i in range(end - 1, -1, -1) if "freq" in lines[i].lower()), None)
    data = _numeric_block(lines, end + 1)
    if data.size == 0:
        raise ValidationError(f"ZPlot file {path} has no data rows after 'End Comments'")
    if header is not None:
        try:
            fi, ri, ii, sign = _header_columns(lines[header])
        except ValueError:
            fi, ri, ii, sign = 0, 4, 5, 1.0
    else:  # ZPlot's fixed layout: Freq, Ampl, Bias, Time, Z', Z'', ...
        fi, ri, ii, sign = 0, 4, 5, 1.0
    return data[:, fi], data[:, ri] + 1j * sign * data[:, ii]


def _read_chinstruments(lines: list[str], path: Path):
    idx = _find_line(lines, lambda ln: ln.lower().startswith("freq/hz"), path, "'Freq/Hz' header")
    return _table_after_header(lines, idx, path, "CH Instruments")


def _read_autolab(lines: list[str], path: Path):
    idx = _find_line(
        lines,
        lambda ln: "freq" in ln.lower() and "z'" in ln.lower(),
        path,
        "column header with frequency and Z'",
    )
    return _table_after_header(lines, idx, path, "Autolab")


def _read_csv(lines: list[str], path: Path):
    header = next(
        (i for i, ln in enumerate(lines[:50]) if re.search(r"freq", ln, re.IGNORECASE)), None
    )
    if header is not None:
        return _table_after_header(lines, header, path, "CSV")
    data = _numeric_block(lines, 0)
    if data.size == 0 or data.shape[1] < 3:
        raise ValidationError(
            f"{path} is not a CSV of frequency, Z' and Z'' (no three numeric columns)"
        )
    return data[:, 0], data[:, 1] + 1j * data[:, 2]


_READERS = {
    "biologic": _read_biologic,
    "gamry": _read_gamry,
    "zplot": _read_zplot,
    "chinstruments": _read_chinstruments,
    "autolab": _read_autolab,
    "csv": _read_csv,
}
