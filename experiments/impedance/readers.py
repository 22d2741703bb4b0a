"""Impedance spectra from instrument text exports, read as they come.

Novocontrol/WinDETA, BioLogic EC-Lab (.mpt), Gamry (.DTA), Scribner ZView/ZPlot (.z),
Metrohm Autolab, CH Instruments, Solartron, Zahner and plain CSV/TXT: title and comment lines,
column headers with units (``Zs'[ohm]``, ``Z' [Ohms]``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``), tab,
blank, comma or semicolon separators, decimal commas, or no header at all (then three columns
f, Z', Z''). |Z| and phase-angle exports are converted to Z' and Z''.

Every reader returns the same :class:`Spectrum`: frequency (Hz), Z' and Z'' (ohm) with the
convention Z = Z' + jZ''. Whether the file's imaginary column holds Z'' or -Z'' is decided
from the data, not trusted to the header: a pellet's capacitive arcs have Z'' < 0, so a column
whose values are mostly positive holds -Z''. ``Spectrum.imag_sign`` says which it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from experiments.files import require_regular_file
from experiments.impedance.columns import Column, find_columns, names_frequency, split_header
from experiments.impedance.geometry import PelletGeometry, find_geometry
from experiments.impedance.textio import Table, decode, read_table
from experiments.limits import (
    DEFAULT_EIS_LIMITS,
    EIS_MAX_BYTES,
    EIS_MAX_POINTS,
    ReadLimits,
    setting_note,
)
from loop.errors import ValidationError
from loop.progress import ProgressHook

log = logging.getLogger(__name__)

#: Fewest points a spectrum must have to be fitted.
MIN_POINTS = 10
#: Default of the largest spectrum accepted, points (setting ``limits.max_eis_points``).
MAX_POINTS = EIS_MAX_POINTS
#: Header lines allowed on top of the most rows before a file is refused unparsed.
MAX_HEADER_LINES = 10_000
#: Default of the largest impedance file accepted, bytes (setting ``limits.max_eis_bytes``).
MAX_FILE_BYTES = EIS_MAX_BYTES


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One impedance spectrum: frequency (Hz), Z' and Z'' (ohm), Z = Z' + jZ''.

    ``imag_sign`` is "as stored" or "negated" (the file's column held -Z''), with the reason
    in ``notes``; ``geometry`` is the pellet the file states, if it states one.
    """

    frequency_hz: np.ndarray
    z_real: np.ndarray
    z_imag: np.ndarray
    source_format: str = "arrays"
    source: str = ""
    imag_sign: str = "as stored"
    geometry: PelletGeometry | None = None
    columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

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
    line_numbers: np.ndarray | None = None,
    limits: ReadLimits | None = None,
    **extra,
) -> Spectrum:
    """Validated :class:`Spectrum` from frequencies (Hz) and complex impedances (ohm).

    ``line_numbers`` (1-based, one per point) let errors name the file's lines; ``extra``
    sets the other :class:`Spectrum` fields.

    Raises:
        ValidationError: fewer than 10 or more than ``limits.max_points`` (default
            :data:`MAX_POINTS`) points, a non-positive or
            non-finite frequency, a non-finite impedance, a frequency given twice.
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
    (limits or DEFAULT_EIS_LIMITS).check_points(f.size, f"the spectrum{where}")

    def at(i: int) -> str:
        return f"{source}:{line_numbers[i]}" if line_numbers is not None else f"point {i + 1}"

    bad_f = np.flatnonzero(~np.isfinite(f) | (f <= 0))
    if bad_f.size:
        raise ValidationError(f"{at(bad_f[0])}: frequency {f[bad_f[0]]:g} is not a positive number")
    bad_z = np.flatnonzero(~np.isfinite(zc))
    if bad_z.size:
        raise ValidationError(f"{at(bad_z[0])}: the impedance is not a finite number")
    order = np.argsort(f, kind="stable")
    same = np.flatnonzero(np.diff(f[order]) == 0)
    if same.size:
        i, j = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise ValidationError(
            f"{at(j)}: frequency {f[j]:g} Hz is given twice (also at {at(i)}); "
            "give one spectrum per file"
        )
    return Spectrum(f, zc.real.copy(), zc.imag.copy(), source_format, source, **extra)


def read_spectrum(
    path: str | Path,
    *,
    limits: ReadLimits | None = None,
    progress: ProgressHook | None = None,
) -> Spectrum:
    """Read an impedance export (layout found from its content; see the module docstring).

    ``limits`` (default: the defaults of the ``[limits]`` settings) bound its bytes and
    points; ``progress`` receives the rows parsed (bar ``"eis-read"``).

    Raises:
        DataMissingError: the file does not exist.
        ValidationError: unreadable, empty, binary, larger than ``limits``, no recognisable
            table, a bad or truncated line (named file:line), a non-finite value, a repeated
            frequency, or fewer than 10 points.
    """
    limits = limits or DEFAULT_EIS_LIMITS
    p = require_regular_file(path, "impedance file")
    try:
        limits.check_bytes(p.stat().st_size, f"impedance file {p}")
        raw = p.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read impedance file {p}: {exc.strerror}") from None
    if not raw.strip():
        raise ValidationError(f"impedance file {p} is empty")
    lines = decode(raw, p, "impedance file").splitlines()
    if len(lines) > limits.max_points + MAX_HEADER_LINES:
        raise ValidationError(  # refused before parsing
            f"impedance file {p} has {len(lines):,} lines; at most {limits.max_points:,} data "
            f"rows (and {MAX_HEADER_LINES:,} other lines) are accepted "
            f"({setting_note(limits.points_setting)})"
        )
    fmt, start = _detect_format(p, lines)
    table = read_table(
        lines, p, start=start, header_like=names_frequency, progress=progress, key="eis-read"
    )
    limits.check_points(table.values.shape[0], f"impedance file {p}", "rows")
    names, columns = _columns(lines, table, p, fmt)
    f, z, sign, notes = _impedance(table, columns, p)
    geometry = find_geometry(lines[: table.first_line])
    log.debug("read %d points from %s (%s)", f.size, p, fmt)
    return make_spectrum(
        f,
        z,
        source_format=fmt,
        source=str(p),
        line_numbers=table.line_numbers,
        imag_sign=sign,
        geometry=geometry,
        columns=tuple(names),
        notes=tuple(notes),
        limits=limits,
    )


def _detect_format(path: Path, lines: list[str]) -> tuple[str, int]:
    """(format name, index of the line from which the table is searched)."""
    ext = path.suffix.lower()
    head = "\n".join(lines[:60])
    if ext == ".mpt" or head.startswith("EC-Lab ASCII FILE"):
        return "biologic", 0
    zcurve = next((i for i, ln in enumerate(lines) if ln.startswith("ZCURVE")), None)
    if zcurve is not None:
        return "gamry", zcurve + 1
    if head.startswith("ZPLOT2 ASCII") or ext == ".z":
        end = next((i for i, ln in enumerate(lines) if ln.strip() == "End Comments"), None)
        return "zplot", 0 if end is None else end + 1
    if "A.C. Impedance" in head:
        return "chinstruments", 0
    if "Z60W" in head or "Autolab" in head:
        return "autolab", 0
    if "Zs'" in head or "Zs''" in head or "Diameter[mm]" in head:
        return "novocontrol", 0
    return "csv" if ext == ".csv" else "text", 0


#: Fixed column layout of a ZPlot .z file with no header line: Freq, Ampl, Bias, Time, Z', Z''.
_ZPLOT_LAYOUT = ["Freq(Hz)", "Ampl", "Bias", "Time(Sec)", "Z'(a)", "Z''(b)"]


def _columns(lines: list[str], table: Table, path: Path, fmt: str):
    """Header names of the table and the recognised columns."""
    width = table.values.shape[1]
    header_line = None
    for k in range(table.first_line - 1, max(table.first_line - 5, -1), -1):
        if lines[k].strip() and names_frequency(lines[k]):
            header_line = k
            break
    if header_line is None:
        if fmt == "zplot" and width >= 6:
            names = _ZPLOT_LAYOUT + [f"col{i + 1}" for i in range(6, width)]
        elif width == 3:
            names = ["frequency", "Z'", "Z''"]
        else:
            raise ValidationError(
                f"{path} has {width} numeric columns and no header naming them; "
                "give a header line or exactly three columns f, Z', Z''"
            )
        return names, find_columns(names)
    names = split_header(lines[header_line], table.layout, width)
    if not names:
        raise ValidationError(
            f"{path}:{header_line + 1}: the header does not name the table's {width} columns"
        )
    return names, find_columns(names)


def _impedance(table: Table, cols: dict[str, Column], path: Path):
    """(f Hz, complex Z ohm, "as stored"/"negated", notes) from the recognised columns."""
    data = table.values
    if "frequency" not in cols:
        raise ValidationError(f"{path} has no frequency column")
    f = data[:, cols["frequency"].index] * cols["frequency"].scale
    notes: list[str] = []
    if "real" in cols and "imag" in cols:
        re_c, im_c = cols["real"], cols["imag"]
        z_re = data[:, re_c.index] * re_c.scale * (-1.0 if re_c.negated else 1.0)
        stored = data[:, im_c.index] * im_c.scale
        what, header_negated = f"column {im_c.name!r}", im_c.negated
    elif "modulus" in cols and "phase" in cols:
        mod, ph = cols["modulus"], cols["phase"]
        phi = np.radians(data[:, ph.index] * ph.scale)
        z_abs = data[:, mod.index] * mod.scale
        z_re, stored = z_abs * np.cos(phi), z_abs * np.sin(phi)
        what, header_negated = f"phase column {ph.name!r}", ph.negated
        notes.append(f"Z' and Z'' computed from {mod.name!r} and {ph.name!r}")
    else:
        found = ", ".join(repr(c.name) for c in cols.values())
        raise ValidationError(
            f"{path} has no Z' and Z'' (or |Z| and phase) columns; recognised: {found}"
        )
    positive = float(np.median(stored)) > 0
    sign = "negated" if positive else "as stored"
    if positive and header_negated:
        notes.append(f"{what} holds -Z'' (its header says so; values mostly positive)")
    elif positive:
        notes.append(f"{what} holds -Z'': its values are mostly positive; sign flipped")
    elif header_negated:
        notes.append(
            f"{what} is headed as -Z'' but its values are mostly negative, as Z'' of a "
            "capacitive arc is; taken as Z''"
        )
    else:
        notes.append(f"{what} holds Z'' (mostly negative, as for a capacitive arc)")
    return f, z_re + 1j * (-stored if positive else stored), sign, notes
