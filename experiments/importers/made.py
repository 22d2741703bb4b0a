"""Import the NASICONs reported as made (JSON in the shape of ouyang2021_made_compositions.json).

The file (Ouyang et al. 2021, data repository Jeff-oakley/NASICON_Predictor_Data,
``RawData/exp_comps.json``) holds two lists of formulas: ``reported_exp_comps``, NASICONs
reported as synthesized in the literature before the paper, and ``new_exp_comps``, the ones
the paper's authors made after predicting them. All formed the NASICON phase.

Each formula becomes a sample of the campaign ``ouyang2021_made`` (sample id
``reported:<formula>`` or ``new:<formula>`` as written in the file) with a successful
synthesis record and an XRD record naming the NASICON phase (unquantified; the sources
report the phase, not its purity), both carrying the citation. By the label rule
(:mod:`experiments.labels`) each is a positive experimental label. Every bad entry is
reported; one bad entry means nothing is stored. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from experiments.importers import ImportReport, InvalidEntriesError, import_report
from experiments.records import (
    OutcomeRecord,
    Phase,
    StoreOptions,
    SynthesisRecord,
    XRDRecord,
    store_records,
)
from loop.chemistry import parse_nasicon
from loop.errors import DataMissingError, NasiconError, ValidationError
from registry import Registry

log = logging.getLogger(__name__)

#: The file's lists and the sample-id prefix of each.
LISTS = {"reported_exp_comps": "reported", "new_exp_comps": "new"}
CAMPAIGN = "ouyang2021_made"
SOURCE = "literature"
CITATION = (
    "Ouyang et al., Synthetic accessibility and stability rules of NASICONs, Nat. Commun. "
    "(2021), arXiv:2102.03627; data: Jeff-oakley/NASICON_Predictor_Data RawData/exp_comps.json"
)
NOTE = "reported as made in the NASICON structure; phase purity not stated by the source"


class MadeCompositionsError(InvalidEntriesError):
    """Entries of a made-compositions file are invalid; ``problems`` lists (where, why)."""

    def __init__(self, path: Path, problems: list[tuple[str, str]], total: int) -> None:
        super().__init__(path, problems, total, noun="entries", prefix="")


def read_made_compositions(path: str | Path) -> dict[str, list[str]]:
    """The formula lists of the file, by list name (``reported_exp_comps``, ``new_exp_comps``).

    Raises:
        DataMissingError: no such file. ValidationError: not JSON, or not the two lists.
    """
    file = Path(path)
    if not file.is_file():
        what = "is not a file" if file.exists() else "not found"
        raise DataMissingError(
            f"made-compositions file {file} {what} (e.g. ../shared/data/experimental/"
            "ouyang2021_made_compositions.json, from Ouyang et al. 2021, "
            "Jeff-oakley/NASICON_Predictor_Data)"
        )
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{file} is not a JSON file: {exc}") from None
    if not isinstance(doc, dict) or not any(name in doc for name in LISTS):
        raise ValidationError(
            f"{file} holds neither {' nor '.join(LISTS)} (a JSON object of formula lists)"
        )
    out: dict[str, list[str]] = {}
    for name in LISTS:
        items = doc.get(name, [])
        if not isinstance(items, list) or not all(isinstance(f, str) for f in items):
            raise ValidationError(f"{file}: {name} must be a list of formula strings")
        out[name] = items
    return out


def _records(formula: str, sample_id: str) -> list[OutcomeRecord]:
    parse_nasicon(formula)  # an engine refusal names the formula
    synthesis = SynthesisRecord.create(sample_id, formula, True, notes=NOTE, campaign=CAMPAIGN)
    xrd = XRDRecord.create(
        sample_id, phases=(Phase("NASICON", None),), notes=NOTE, campaign=CAMPAIGN
    )
    return [synthesis, xrd]


def import_made(
    registry: Registry, path: str | Path, *, recorded_by: str = "nasicon import made"
) -> ImportReport:
    """Store every made composition as a sample with a successful synthesis and an XRD record.

    One transaction; idempotent (identical records already stored are skipped).

    Raises:
        MadeCompositionsError: invalid entries (all listed); nothing is stored.
    """
    file = Path(path)
    lists = read_made_compositions(file)
    records: list[OutcomeRecord] = []
    problems: list[tuple[str, str]] = []
    entries = [(name, i, f) for name, items in lists.items() for i, f in enumerate(items)]
    seen = Counter(f"{LISTS[name]}:{f.strip()}" for name, _, f in entries)
    for name, i, formula in entries:
        sample_id = f"{LISTS[name]}:{formula.strip()}"
        try:
            if seen[sample_id] > 1:
                raise ValidationError(f"{formula!r} appears more than once")
            records.extend(_records(formula.strip(), sample_id))
        except NasiconError as exc:
            problems.append((f"{name}[{i}]", str(exc)))
    if problems:
        raise MadeCompositionsError(file, problems, len(entries))
    if not records:
        raise ValidationError(f"{file} lists no compositions")
    report = store_records(
        registry,
        records,
        recorded_by=recorded_by,
        options=StoreOptions(
            source=SOURCE, citation=CITATION, skip_identical=True, create_campaigns=True
        ),
    )
    out = import_report(
        f"{CAMPAIGN} (Ouyang et al. 2021)", file, records, report, ("synthesis", "xrd")
    )
    log.info("%s", out.summary())
    return out
