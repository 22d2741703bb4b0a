"""Text tables of instrument exports: decoding, separators, decimal commas, the data block.

A table is the longest run of numeric rows with one field count (blank lines allowed inside).
Everything around it is header text, except where it cannot be: a line that is not a row of
numbers *inside* the table (more rows of the same width follow it), a row with another
number of fields, a trailing line cut in the middle of a number, or a value that is not
finite. Each of those is refused with its file:line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loop.errors import ValidationError
from loop.progress import ProgressHook

#: The exports the impedance reader understands (named in its refusals).
FORMATS = (
    "Novocontrol/WinDETA, BioLogic EC-Lab .mpt, Gamry .DTA, Scribner ZView/ZPlot .z, "
    "Metrohm Autolab, CH Instruments, Solartron, Zahner, plain CSV/TXT (f, Z', Z'')"
)

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NONFINITE = re.compile(r"^[+-]?(nan|inf|infinity|1\.#inf|1\.#ind|-?1\.#qnan)$", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d*([eE][+-]?\d+)?$")
#: Characters a data row (or the cut-off end of one) consists of.
_ROW_CHARS = re.compile(r"^[0-9eE+\-.,;\s]+$")
#: Fraction of control characters (besides tab, CR, LF, FF) above which a file is binary.
MAX_CONTROL_FRACTION = 0.01
#: Lines parsed between two progress reports.
PROGRESS_CHUNK = 20_000


def unquote(text: str) -> str:
    """``text`` without surrounding blanks and one pair of enclosing quotes (primes stay)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


@dataclass(frozen=True)
class Layout:
    """How the rows of a table are split: ``sep`` (None: whitespace) and the decimal mark."""

    sep: str | None
    decimal_comma: bool

    def split(self, line: str) -> list[str]:
        """Fields of ``line`` (quotes and surrounding blanks removed; empty fields dropped)."""
        parts = line.strip().split(self.sep) if self.sep else line.split()
        return [unquote(p) for p in parts if unquote(p)]

    def number(self, field: str) -> float | None:
        """``field`` as a float, or None when it is not a number (nan/inf give nan/inf)."""
        text = field.replace(",", ".") if self.decimal_comma else field
        if _NUMBER.match(text):
            return float(text)
        if _NONFINITE.match(text):
            return float("nan")
        return None


@dataclass(frozen=True, eq=False)
class Table:
    """The numeric table of a file: values (rows x columns) and their 1-based line numbers."""

    values: np.ndarray
    line_numbers: np.ndarray
    layout: Layout
    first_line: int  # index (0-based) of the first data line
    header_index: int | None  # index of the nearest text line above the data, if any


def decode(raw: bytes, path: Path, what: str) -> str:
    """Text of a file; refuses binary content (NUL bytes, control characters) in one line."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    sample = raw[:65536]
    if sample.count(0) > len(sample) // 4 and len(sample) > 1:
        evens, odds = sample[0::2].count(0), sample[1::2].count(0)
        enc = "utf-16-be" if evens > odds else "utf-16-le"
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in raw or control > MAX_CONTROL_FRACTION * len(sample):
        raise ValidationError(f"{what} {path} is binary, not a text export")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def guess_layout(lines: list[str]) -> Layout:
    """Separator and decimal mark that turn the most of ``lines`` into rows of numbers."""
    best, best_score = Layout(None, False), -1
    for sep in ("\t", ";", ",", None):
        for comma in (False, True):
            if sep == "," and comma:
                continue
            layout = Layout(sep, comma)
            score = 0
            for line in lines:
                fields = layout.split(line)
                if len(fields) >= 2 and all(layout.number(f) is not None for f in fields):
                    score += len(fields)
            if score > best_score:
                best, best_score = layout, score
    return best


def _row(layout: Layout, line: str) -> list[float] | None:
    fields = layout.split(line)
    if not fields:
        return None
    values = [layout.number(f) for f in fields]
    if any(v is None for v in values):
        return None
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class _Line:
    index: int  # 0-based line index in the file
    values: list[float] | None  # None: not a row of numbers
    text: str

    def width(self) -> int:
        return len(self.values) if self.values is not None else 0


def read_table(
    lines: list[str],
    path: Path,
    *,
    start: int = 0,
    header_like: Callable[[str], bool] = lambda _: False,
    progress: ProgressHook | None = None,
    key: str = "table",
) -> Table:
    """The data table of ``lines`` from index ``start`` on (see the module docstring).

    ``header_like`` tells a column-header line from a stray line: a run of rows above a
    header is a separate block (a preamble), above any other text it is part of the table.
    ``progress`` receives the lines parsed (bar ``key``, one step per line).

    Raises:
        ValidationError: no table of at least two numeric columns, a bad line inside the
            table, a row of another width, a truncated last line, a value that is not finite.
    """
    candidates = [ln for ln in lines[start:] if ln.strip() and _ROW_CHARS.match(ln.strip())]
    layout = guess_layout(candidates[:200] + candidates[-200:])
    rows = _parse_lines(lines, start, layout, progress, key)
    runs = _runs(rows)
    if not runs:
        raise ValidationError(
            f"{path} is not a recognised impedance export: it has no table of numbers (at "
            f"least two numeric columns); formats read: {FORMATS}"
        )
    a, b = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    width = rows[a].width()
    _check_after(rows, b, width, path)
    _check_before(rows, a, width, path, header_like)
    block = rows[a:b]
    values = np.array([r.values for r in block], dtype=float)
    numbers = np.array([r.index + 1 for r in block])
    bad = ~np.isfinite(values)
    if bad.any():
        r = block[int(np.argwhere(bad)[0][0])]
        raise ValidationError(f"{path}:{r.index + 1}: a value is not a finite number ({r.text!r})")
    first = rows[a].index
    header = next((i for i in range(first - 1, start - 1, -1) if lines[i].strip()), None)
    return Table(values, numbers, layout, first, header)


def _parse_lines(
    lines: list[str], start: int, layout: Layout, progress: ProgressHook | None, key: str
) -> list[_Line]:
    """The non-blank lines from ``start`` on, parsed, in chunks reported to ``progress``."""
    total = len(lines) - start
    if progress is not None:
        progress.start(key, "reading table rows", total)
    rows: list[_Line] = []
    for a in range(start, len(lines), PROGRESS_CHUNK):
        b = min(a + PROGRESS_CHUNK, len(lines))
        rows.extend(
            _Line(i, _row(layout, lines[i]), lines[i].strip())
            for i in range(a, b)
            if lines[i].strip()
        )
        if progress is not None:
            progress.advance(key, b - a)
    if progress is not None:
        progress.finish(key)
    return rows


def _runs(rows: list[_Line]) -> list[tuple[int, int]]:
    """[a, b) ranges of consecutive numeric rows of one width (indices into ``rows``)."""
    runs: list[tuple[int, int]] = []
    a: int | None = None
    for k, row in enumerate(rows):
        ok = row.width() >= 2
        if ok and a is not None and row.width() == rows[a].width():
            continue
        if a is not None:
            runs.append((a, k))
        a = k if ok else None
    if a is not None:
        runs.append((a, len(rows)))
    return runs


def _check_after(rows: list[_Line], b: int, width: int, path: Path) -> None:
    """Refuse a break inside the table, a row of another width, or a cut-off last line."""
    if b >= len(rows):
        return
    row = rows[b]
    more = any(r.width() == width for r in rows[b + 1 :])
    if more and row.values is None:
        raise ValidationError(
            f"{path}:{row.index + 1}: this line inside the data table is not a row of numbers "
            f"({row.text[:40]!r})"
        )
    if more or (row.values is not None and b == len(rows) - 1):
        raise ValidationError(
            f"{path}:{row.index + 1}: {_fields(row.width())} where the data table has {width} "
            "(a cut or damaged row)"
        )
    if row.values is None and b == len(rows) - 1 and _ROW_CHARS.match(row.text):
        raise ValidationError(f"{path}:{row.index + 1}: the last row is cut off (file truncated?)")


def _check_before(
    rows: list[_Line], a: int, width: int, path: Path, header_like: Callable[[str], bool]
) -> None:
    """Refuse rows of the table's width just above it, cut off by a line that is no header."""
    k = a - 1
    gap: list[_Line] = []
    while k >= 0 and rows[k].width() != width and len(gap) < 2:
        gap.append(rows[k])
        k -= 1
    if k < 0 or rows[k].width() != width or not gap:
        return
    if any(header_like(g.text) for g in gap):
        return
    bad = gap[-1]
    if bad.values is not None:
        raise ValidationError(
            f"{path}:{bad.index + 1}: {_fields(bad.width())} where the data table has {width} "
            "(a cut or damaged row)"
        )
    raise ValidationError(
        f"{path}:{bad.index + 1}: this line inside the data table is not a row of numbers "
        f"({bad.text[:40]!r})"
    )


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"
