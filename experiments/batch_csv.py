"""Read a batch CSV into text cells, one dict per row, each with its line in the file.

The csv module, not pandas: a row with more (or fewer) fields than the header is named by
its line and refused, never shifted into the wrong columns (pandas takes an extra first
field as the index). The dialect is sniffed (:class:`csv.Sniffer`) on the first lines and
checked against the header, so files written by spreadsheets are read as written:

* comma-separated (``,``), decimal point;
* semicolon-separated (``;``) with decimal commas (``1,2e-3``), as Excel writes CSV in
  much of Europe; a UTF-8 byte-order mark is ignored;
* tab-separated.

Lines are counted as in the file, the header being line 1; blank lines are skipped.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from loop.errors import DataMissingError, ValidationError

#: Delimiters tried, in order of preference when the header fits several.
DELIMITERS = (",", ";", "\t")
_NAMES = {",": "comma-separated", ";": "semicolon-separated", "\t": "tab-separated"}
#: A number written with a decimal comma: ``1,2``, ``-0,5``, ``1,2E-03``.
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
#: A decimal comma inside text such as ``NASICON=0,97;ZrO2=0,03`` (phases).
_INNER_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
#: Columns holding text in which a decimal comma is part of a number.
_TEXT_WITH_NUMBERS = ("phases",)
_EXTRA_HINT = " (a trailing delimiter or an unquoted delimiter in a value?)"


@dataclass(frozen=True)
class BatchTable:
    """The rows of a batch file: header, rows (line, cells), rows refused while reading."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]
    problems: list[tuple[int, str]] = field(default_factory=list)
    delimiter: str = ","
    decimal_comma: bool = False

    @property
    def n_rows(self) -> int:
        """Data rows in the file, good and bad."""
        return len(self.rows) + len({line for line, _ in self.problems})

    @property
    def format(self) -> str:
        """How the file was read, e.g. 'semicolon-separated, decimal comma'."""
        decimal = "decimal comma" if self.decimal_comma else "decimal point"
        return f"{_NAMES[self.delimiter]}, {decimal}"


def _text(file: Path, max_bytes: int | None) -> str:
    if not file.exists():
        raise DataMissingError(f"batch file {file} does not exist")
    if file.is_dir():
        raise ValidationError(f"batch file {file} is a directory, not a CSV file")
    if not file.is_file():
        raise ValidationError(f"batch file {file} is not a regular file")
    size = file.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ValidationError(
            f"batch file {file} is {size} bytes, more than the limit of {max_bytes} "
            "(setting limits.max_batch_bytes)"
        )
    try:
        return file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{file} is not a readable CSV file (not UTF-8 text: byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ValidationError(f"cannot read batch file {file}: {exc.strerror}") from None


def _split_header(line: str, delimiter: str) -> list[str]:
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]


def _delimiter(text: str, header: str, required: tuple[str, ...]) -> str:
    """The delimiter of the file: the sniffed one if the header splits into the required
    columns with it, else the first of :data:`DELIMITERS` that does (else a comma)."""
    candidates: list[str] = []
    try:
        sample = "\n".join(text.splitlines()[:20])
        candidates.append(csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter)
    except csv.Error:
        pass
    candidates += DELIMITERS
    for delimiter in candidates:
        if all(c in _split_header(header, delimiter) for c in required):
            return delimiter
    return ","


def _normalise(cells: dict[str, str]) -> dict[str, str]:
    """Decimal commas -> decimal points (only for a file that is not comma-separated)."""
    out = {}
    for name, value in cells.items():
        text = value
        if _DECIMAL_COMMA.match(text.strip()):
            text = text.strip().replace(",", ".")
        elif name in _TEXT_WITH_NUMBERS:
            text = _INNER_DECIMAL_COMMA.sub(".", text)
        out[name] = text
    return out


def read_table(
    path: str | Path,
    required: tuple[str, ...],
    *,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> BatchTable:
    """Read a batch file; rows whose field count differs from the header's are problems.

    Raises:
        DataMissingError: no such file.
        ValidationError: not a regular file, too large, not UTF-8, no header or no rows,
            more rows than ``max_rows``.
    """
    file = Path(path)
    text = _text(file, max_bytes)
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise ValidationError(f"{file} is empty (no header line)")
    delimiter = _delimiter(text, lines[first], required)
    reader = csv.reader(
        text.splitlines(keepends=True)[first:], delimiter=delimiter, skipinitialspace=True
    )
    try:
        header = [c.strip() for c in next(reader)]
        rows: list[tuple[int, dict[str, str]]] = []
        problems: list[tuple[int, str]] = []
        end = first + reader.line_num
        for fields in reader:
            line, end = end + 1, first + reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if max_rows is not None and len(rows) + len(problems) >= max_rows:
                raise ValidationError(
                    f"{file} has more than {max_rows} rows, the limit "
                    "(setting limits.max_batch_rows)"
                )
            if len(fields) != len(header):
                hint = _EXTRA_HINT if len(fields) > len(header) else ""
                problems.append(
                    (line, f"has {len(fields)} fields, the header has {len(header)}{hint}")
                )
                continue
            rows.append((line, dict(zip(header, fields, strict=True))))
    except csv.Error as exc:
        raise ValidationError(
            f"{file} is not a readable CSV file (line {first + reader.line_num}: {exc})"
        ) from None
    decimal_comma = False
    if delimiter != ",":
        read = rows
        rows = [(line, _normalise(cells)) for line, cells in read]
        decimal_comma = rows != read
    return BatchTable(tuple(header), tuple(rows), problems, delimiter, decimal_comma)
