"""Import published synthesis outcomes (CSV in the shape of zuo2026_entropy_nzsp.csv).

One row per sample. Columns (case as written; only the first three are required):

==========================  =====================================================
label                       the paper's sample name; becomes the sample id
formula                     composition as made
phase_pure                  1 when XRD showed only the NASICON phase, else 0
impurities                  secondary phases seen, ``;``-separated (not quantified)
space_group                 of the NASICON phase
a_A, b_A, c_A               lattice parameters, A
sigma_total_mS_cm           total conductivity, mS/cm
sigma_bulk_mS_cm            bulk conductivity, mS/cm
sigma_gb_mS_cm              grain-boundary conductivity, mS/cm
Ea_eV                       activation energy, eV
relative_density_pct        relative density, %
ccd_mA_cm2                  critical current density, mA/cm2
sinter_T_C, calcine_T_C     sintering / calcination temperature, C
measurement_T_C             conductivity temperature, C (default 25: room temperature)
==========================  =====================================================

Each row becomes a sample (in a campaign named after the file unless given) with a
synthesis record, an XRD record and, when any conductivity is given, a conductivity
record, all marked with the source's citation. Every bad row is reported; one bad
row means nothing is stored. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.importers import ImportReport, InvalidEntriesError, import_report
from experiments.records import (
    ConductivityRecord,
    OutcomeRecord,
    Phase,
    StoreOptions,
    SynthesisRecord,
    XRDRecord,
    store_records,
)
from loop.errors import DataMissingError, NasiconError, ValidationError
from registry import Registry

log = logging.getLogger(__name__)

REQUIRED = ("label", "formula", "phase_pure")
OPTIONAL = (
    "impurities",
    "space_group",
    "a_A",
    "b_A",
    "c_A",
    "sigma_total_mS_cm",
    "sigma_bulk_mS_cm",
    "sigma_gb_mS_cm",
    "Ea_eV",
    "relative_density_pct",
    "ccd_mA_cm2",
    "sinter_T_C",
    "calcine_T_C",
    "measurement_T_C",
)
#: Citations of the literature files we know, by file stem.
KNOWN_SOURCES: dict[str, str] = {
    "zuo2026_entropy_nzsp": (
        "Zuo et al., Machine learning-accelerated discovery of multi-cation entropy-stabilized "
        "NASICON solid electrolytes, Energy Environ. Sci. 2026, 19, 860, doi:10.1039/d5ee06594a"
    ),
}
SOURCE = "literature"


class LiteratureError(InvalidEntriesError):
    """Rows of a literature file are invalid; ``problems`` lists (line, reason) of each."""


def _cell(rec: dict[str, Any], name: str) -> Any:
    value = rec.get(name)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _flag(value: Any, what: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true", "yes", "y"):
        return True
    if text in ("0", "0.0", "false", "no", "n"):
        return False
    raise ValidationError(f"{what} {value!r} is not 1/0 or true/false")


def row_records(rec: dict[str, Any], campaign: str) -> list[OutcomeRecord]:
    """The synthesis, XRD and (if reported) conductivity records of one CSV row."""
    sample = str(_cell(rec, "label") or "").strip()
    formula = _cell(rec, "formula")
    if not sample:
        raise ValidationError("label (the sample id) is empty")
    if formula is None:
        raise ValidationError("formula is empty")
    if _cell(rec, "phase_pure") is None:
        raise ValidationError("phase_pure is empty")
    synthesis = SynthesisRecord.create(
        sample,
        str(formula),
        True,
        campaign=campaign,
        sintering_c=_cell(rec, "sinter_T_C"),
        calcination_c=_cell(rec, "calcine_T_C"),
    )
    impurities = [p.strip() for p in str(_cell(rec, "impurities") or "").split(";") if p.strip()]
    pure = _flag(rec["phase_pure"], "phase_pure")
    if pure and impurities:
        raise ValidationError(
            f"phase_pure is 1 but impurities are listed ({', '.join(impurities)})"
        )
    xrd = XRDRecord(
        sample,
        pure,
        (Phase("NASICON"), *(Phase(name) for name in impurities)),
        campaign=campaign,
        space_group=_cell(rec, "space_group"),
        a_a=_cell(rec, "a_A"),
        b_a=_cell(rec, "b_A"),
        c_a=_cell(rec, "c_A"),
    )
    out: list[OutcomeRecord] = [synthesis, xrd]
    sigmas = {k: _cell(rec, f"sigma_{k}_mS_cm") for k in ("total", "bulk", "gb")}
    if any(v is not None for v in sigmas.values()):
        measured_c = _cell(rec, "measurement_T_C")
        out.append(
            ConductivityRecord.create(
                sample,
                sigma_total=sigmas["total"],
                sigma_bulk=sigmas["bulk"],
                sigma_gb=sigmas["gb"],
                unit="mS/cm",
                temperature_c=25.0 if measured_c is None else measured_c,
                relative_density_pct=_cell(rec, "relative_density_pct"),
                ea_ev=_cell(rec, "Ea_eV"),
                ccd_ma_cm2=_cell(rec, "ccd_mA_cm2"),
                campaign=campaign,
            )
        )
    return out


def read_literature(path: str | Path) -> pd.DataFrame:
    """The rows of a literature CSV (all columns as text).

    Raises:
        DataMissingError: no such file. ValidationError: unreadable or lacking a column.
    """
    file = Path(path)
    if not file.is_file():
        raise DataMissingError(
            f"literature file {file} not found (e.g. ../shared/data/literature/"
            "zuo2026_entropy_nzsp.csv, the Zuo et al. 2026 outcomes)"
        )
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{file} is not a readable CSV file: {exc}") from None
    lacking = [c for c in REQUIRED if c not in frame.columns]
    if lacking:
        raise ValidationError(
            f"{file} lacks the column(s) {', '.join(lacking)} (columns: {', '.join(frame.columns)})"
        )
    unknown = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        log.warning("%s: ignoring unknown column(s) %s", file, ", ".join(unknown))
    return frame


def import_literature(
    registry: Registry,
    path: str | Path,
    *,
    campaign: str | None = None,
    citation: str | None = None,
    recorded_by: str = "nasicon import literature",
) -> ImportReport:
    """Store a literature CSV as samples with synthesis, XRD and conductivity records.

    One transaction; idempotent (identical records already stored are skipped).

    Raises:
        LiteratureError: invalid rows (all of them listed); nothing is stored.
        registry.RecordErrors: a row conflicts with what is stored (e.g. the same sample
            id with other values).
    """
    file = Path(path)
    frame = read_literature(file)
    campaign = campaign or file.stem
    citation = citation or KNOWN_SOURCES.get(file.stem, f"literature file {file.name}")
    records: list[OutcomeRecord] = []
    problems: list[tuple[int, str]] = []
    seen = Counter(s.strip() for s in frame["label"])
    for i, rec in enumerate(frame.to_dict("records")):
        line = i + 2
        try:
            if seen[str(rec["label"]).strip()] > 1:
                raise ValidationError(f"sample id {rec['label']!r} appears more than once")
            records.extend(row_records(rec, campaign))
        except NasiconError as exc:
            problems.append((line, str(exc)))
    if problems:
        raise LiteratureError(file, problems, len(frame))
    report = store_records(
        registry,
        records,
        recorded_by=recorded_by,
        options=StoreOptions(
            source=SOURCE, citation=citation, skip_identical=True, create_campaigns=True
        ),
    )
    out = import_report(
        f"{campaign} ({citation.split(',')[0]})", file, records, report,
        ("synthesis", "xrd", "conductivity"),
    )  # fmt: skip
    log.info("%s", out.summary())
    return out
