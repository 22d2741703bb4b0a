"""Import literature ionic conductivities: the one reader of the conductivity tables.

Three compilations of NASICON-type **lithium** conductors (CC BY 4.0, from the OBELiX
repository; ``../shared/data/conductivity/SOURCE.md``), each recognised by its columns:

=============  ==============================  ==========================================
campaign       file                            columns read
=============  ==============================  ==========================================
obelix         obelix_nasicon.csv              ID, Reduced Composition, Ionic conductivity
                                               (S cm-1) at room temperature, DOI
liverpool      liverpool_nasicon.csv           ID, composition, temperature (C), target
                                               (S/cm), source (DOI)
laskowski      laskowski_nasicon_like.csv      composition, sigma_RT_S_per_cm, Ea_eV, DOI
=============  ==============================  ==========================================

and a plain table a lab writes itself (campaign = the file's name): ``formula``,
``sigma``, ``unit`` (S/cm or mS/cm), ``temperature_c``, ``reference``.

Every row becomes a sample (``<campaign>-<ID or line>``) with a synthesis record and a
conductivity record (S/cm at temperature_k; "room temperature" is taken as 25 C) whose
``notes`` hold the row's reference (``doi:...``), also the sample's citation. Rows of the
compilations the chemistry engine refuses (and those with no value or only a bound,
``<1E-10``) are left out and listed with the reason; any other bad value (negative or non-numeric
conductivity, missing temperature, unknown unit), and in a lab's own table any bad row,
refuses the whole import: nothing is stored. One transaction; re-importing adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.importers import ImportReport, InvalidEntriesError, import_report
from experiments.records import ConductivityRecord, SynthesisRecord
from experiments.units import SIGMA_UNITS
from loop.chemistry import parse_nasicon
from loop.conductivity.arrhenius import FITTED, MEASURED, targets_25c
from loop.errors import CompositionError, DataMissingError, NasiconError, ValidationError
from registry import Registry

log = logging.getLogger(__name__)

SOURCE = "literature"
DEFAULT_FOLDER = "../shared/data/conductivity"
ROOM_TEMPERATURE_C = 25.0
OBELIX = "OBELiX (arXiv:2502.14234), CC BY 4.0"


@dataclass(frozen=True)
class TableFormat:
    """How one table writes a conductivity (columns by their published names)."""

    campaign: str | None  # None: the file's name
    citation: str
    formula: str
    sigma: str
    reference: str
    id_column: str | None = None
    temperature_c: str | None = None  # None: room temperature (25 C)
    unit: str | None = None  # column of the unit; None: S/cm
    ea: str | None = None
    strict: bool = False  # a refused formula refuses the import (a lab's own table)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns a file must have to be read in this format."""
        named = (self.id_column, self.temperature_c, self.unit, self.ea)
        return (self.formula, self.sigma, self.reference, *[c for c in named if c])


FORMATS: tuple[TableFormat, ...] = (
    TableFormat(
        "obelix", f"{OBELIX}", "Reduced Composition", "Ionic conductivity (S cm-1)", "DOI", "ID"
    ),
    TableFormat(
        "liverpool",
        "Liverpool Ionics Dataset (Hargreaves et al., npj Comput. Mater. 2023, "
        f"doi:10.1038/s41524-022-00951-z), via {OBELIX}",
        "composition",
        "target",
        "source",
        "ID",
        temperature_c="temperature",
    ),
    TableFormat(
        "laskowski",
        f"Laskowski et al., Energy Environ. Sci. 16, 1264 (2023), SI, via {OBELIX}",
        "composition",
        "sigma_RT_S_per_cm",
        "DOI",
        ea="Ea_eV",
    ),
    TableFormat(
        None,
        "lab conductivity table",
        "formula",
        "sigma",
        "reference",
        temperature_c="temperature_c",
        unit="unit",
        strict=True,
    ),
)
KNOWN_FILES = ("obelix_nasicon.csv", "liverpool_nasicon.csv", "laskowski_nasicon_like.csv")


class ConductivityTableError(InvalidEntriesError):
    """Rows of a conductivity table are invalid; ``problems`` lists (line, reason) of each."""


@dataclass(frozen=True)
class SkippedRow:
    """A row left out: the engine refuses its formula or it gives only a bound."""

    file: str
    line: int
    formula: str
    reason: str


@dataclass
class ConductivityImport:
    """What ``import conductivity`` read, stored and left out."""

    reports: list[ImportReport] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    rows: int = 0
    targets: pd.DataFrame | None = None  # one 25 C target per (formula, reference) group

    def summary(self) -> str:
        """One line per source, the rows left out, and the 25 C targets."""
        lines = [r.summary() for r in self.reports]
        lines.append(f"{self.rows} rows read, {len(self.skipped)} left out (listed above)")
        if self.targets is not None:
            origin = self.targets["origin"].value_counts()
            n_25 = int(origin.get(MEASURED, 0) + origin.get(FITTED, 0))
            lines.append(
                f"{len(self.targets)} (composition, reference) groups: {n_25} with a 25 C "
                f"value ({int(origin.get(FITTED, 0))} through an Arrhenius fit of the group), "
                f"{len(self.targets) - n_25} measured at one other temperature only "
                "(kept, not used as 25 C targets)"
            )
        return "\n".join(lines)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any, what: str) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        raise ValidationError(f"{what} {value!r} is not a number") from None


def table_format(frame: pd.DataFrame, file: Path) -> TableFormat:
    """The format whose columns ``frame`` has.

    Raises:
        ValidationError: no known format fits (the message names the expected columns).
    """
    for fmt in FORMATS:
        if all(c in frame.columns for c in fmt.columns):
            return fmt
    lab = FORMATS[-1]
    raise ValidationError(
        f"{file} is not a known conductivity table: a lab table needs the columns "
        f"{', '.join(lab.columns)} (columns: {', '.join(frame.columns)})"
    )


def _row(fmt: TableFormat, rec: dict[str, Any], line: int, campaign: str) -> tuple[Any, ...]:
    """(synthesis, conductivity, reference) of one row; raises for a bad value."""
    formula = str(rec[fmt.formula]).strip()
    raw_sigma = str(rec[fmt.sigma]).strip()
    if not raw_sigma:
        if fmt.strict:
            raise ValidationError("conductivity is empty")
        raise _LeftOut("no conductivity given")
    if raw_sigma[0] in "<>":
        raise _LeftOut(f"conductivity {raw_sigma} is a bound, not a value")
    sigma = _number(raw_sigma, "conductivity")
    if sigma <= 0:
        raise ValidationError(f"conductivity {sigma:g} is not positive")
    unit = "S/cm" if fmt.unit is None else str(rec[fmt.unit]).strip()
    if unit not in SIGMA_UNITS:
        raise ValidationError(f"unit {unit!r} is not one of {', '.join(SIGMA_UNITS)}")
    if fmt.temperature_c is None:
        temperature_c = ROOM_TEMPERATURE_C
    elif _blank(rec[fmt.temperature_c]):
        raise ValidationError("measurement temperature is missing")
    else:
        temperature_c = _number(rec[fmt.temperature_c], "temperature")
    ea = None if fmt.ea is None or _blank(rec[fmt.ea]) else _number(rec[fmt.ea], "Ea_eV")
    reference = str(rec[fmt.reference]).strip()
    if not reference:
        raise ValidationError("reference (DOI) is empty")
    ref = reference if fmt.strict or reference.startswith("doi:") else f"doi:{reference}"
    ident = str(rec[fmt.id_column]).strip() if fmt.id_column else str(line)
    sample = f"{campaign}-{ident}"
    synthesis = SynthesisRecord.create(sample, formula, True, campaign=campaign)
    conductivity = ConductivityRecord.create(
        sample,
        sigma_total=sigma,
        unit=unit,
        temperature_c=temperature_c,
        ea_ev=ea,
        campaign=campaign,
        notes=ref,
    )
    return synthesis, conductivity, ref


class _LeftOut(ValidationError):
    """A compilation's row with no value or only a bound (``<1E-10``): left out, listed."""


def read_table(path: Path) -> tuple[pd.DataFrame, TableFormat]:
    """The rows of one conductivity table (text) and its format."""
    if not path.is_file():
        raise DataMissingError(f"conductivity table {path} not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path} is not a readable CSV file: {exc}") from None
    return frame, table_format(frame, path)


def table_files(path: str | Path) -> list[Path]:
    """The tables to read: the three known files of a folder, or one file.

    Raises:
        DataMissingError: no such path, or a folder without any known table.
    """
    where = Path(path)
    if where.is_dir():
        files = [where / name for name in KNOWN_FILES if (where / name).is_file()]
        if not files:
            raise DataMissingError(
                f"{where} holds none of {', '.join(KNOWN_FILES)} (the OBELiX NASICON tables)"
            )
        return files
    if not where.exists():
        raise DataMissingError(
            f"{where} not found; the conductivity tables are in {DEFAULT_FOLDER} "
            "(OBELiX, CC BY 4.0, see its SOURCE.md)"
        )
    return [where]


_Batch = tuple[str, str, Path, list[Any], list[Any]]


def parse_tables(path: str | Path) -> tuple[ConductivityImport, list[_Batch]]:
    """Read and check every row (stores nothing): the left-out rows and, per file,
    (campaign, citation, file, records, writes).

    Raises:
        ConductivityTableError: bad values (all listed).
    """
    out = ConductivityImport()
    problems: list[tuple[int, str]] = []
    bad_file: Path | None = None
    batches: list[_Batch] = []
    for file in table_files(path):
        frame, fmt = read_table(file)
        campaign = fmt.campaign or file.stem
        records: list[Any] = []
        writes: list[Any] = []
        for i, rec in enumerate(frame.to_dict("records")):
            line = i + 2
            try:
                synthesis, conductivity, ref = _row(fmt, rec, line, campaign)
            except (CompositionError, _LeftOut) as exc:
                if fmt.strict and not isinstance(exc, _LeftOut):
                    problems.append((line, f"{rec[fmt.formula]!r}: {exc}"))
                    bad_file = bad_file or file
                    continue
                out.skipped.append(SkippedRow(file.name, line, str(rec[fmt.formula]), str(exc)))
                continue
            except NasiconError as exc:
                problems.append((line, f"{file.name}: {exc}"))
                bad_file = bad_file or file
                continue
            citation = f"{ref}; {fmt.citation}"
            records += [synthesis, conductivity]
            writes += [r.to_write(SOURCE, citation) for r in (synthesis, conductivity)]
        out.rows += len(frame)
        batches.append((campaign, fmt.citation, file, records, writes))
    if problems:
        raise ConductivityTableError(bad_file or Path(path), problems, out.rows)
    return out, batches


def conductivity_frame(path: str | Path = DEFAULT_FOLDER) -> pd.DataFrame:
    """The usable rows of the tables at ``path`` as a table (stores nothing): ``campaign``,
    ``sample_id``, ``formula`` (canonical), ``reference``, ``temperature_k`` (K),
    ``sigma_s_cm`` (S/cm), ``ea_ev`` (eV or NaN)."""
    _, batches = parse_tables(path)
    return conductivity_frame_of(batches)


def conductivity_frame_of(batches: list[_Batch]) -> pd.DataFrame:
    """:func:`conductivity_frame` of parsed batches."""
    rows = [
        {
            "campaign": campaign,
            "sample_id": rec.sample_id,
            "formula": parse_nasicon(synthesis.formula).formula,
            "reference": rec.notes,
            "temperature_k": rec.temperature_k,
            "sigma_s_cm": rec.sigma_total_s_cm,
            "ea_ev": np.nan if rec.ea_ev is None else rec.ea_ev,
        }
        for campaign, _, _, records, _ in batches
        for synthesis, rec in zip(records[::2], records[1::2], strict=True)
    ]
    columns = ["campaign", "sample_id", "formula", "reference", "temperature_k", "sigma_s_cm"]
    return pd.DataFrame(rows, columns=[*columns, "ea_ev"])


def import_conductivity(
    registry: Registry,
    path: str | Path = DEFAULT_FOLDER,
    *,
    recorded_by: str = "nasicon import conductivity",
) -> ConductivityImport:
    """Store every usable row of the tables at ``path`` (folder or file), in one transaction.

    Raises:
        ConductivityTableError: bad values (all listed); nothing is stored.
        DataMissingError, ValidationError: no table, or not a known format.
    """
    out, batches = parse_tables(path)
    all_writes = [w for *_, writes in batches for w in writes]
    report = registry.run(
        lambda uow: uow.outcomes.write(
            all_writes, recorded_by=recorded_by, skip_identical=True, create_campaigns=True
        )
    )
    offset = 0
    for campaign, _, file, records, writes in batches:
        part = _slice_report(report, offset, len(writes))
        offset += len(writes)
        out.reports.append(
            import_report(campaign, file, records, part, ("synthesis", "conductivity"))
        )
    frame = conductivity_frame_of(batches)
    out.targets = targets_25c(frame)
    log.info("%s", out.summary())
    return out


@dataclass(frozen=True)
class _Part:
    added: tuple[tuple[int, str, int], ...]
    unchanged: tuple[int, ...]


def _slice_report(report: Any, start: int, n: int) -> _Part:
    """The part of a write report about writes ``start`` .. ``start + n`` (re-indexed)."""
    end = start + n
    return _Part(
        tuple((i - start, kind, rid) for i, kind, rid in report.added if start <= i < end),
        tuple(i - start for i in report.unchanged if start <= i < end),
    )
