"""``nasicon describe`` and ``nasicon featurize``: the chemistry engine on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loop.errors import CompositionError, DataMissingError, ValidationError
from nasicon.cli.options import AsJson
from nasicon.cli.output import Table, write_csv_atomically

console = Console()

Ox = Annotated[
    list[str] | None, typer.Option("--ox", help="Oxidation-state override, e.g. Ti=3.")
]


def parse_oxidation_overrides(items: list[str] | None) -> dict[str, int]:
    """``["Ti=3", "V=4"]`` -> ``{"Ti": 3, "V": 4}``."""
    out: dict[str, int] = {}
    for item in items or []:
        el, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[el.strip()] = int(value.strip().rstrip("+"))
        except ValueError:
            raise ValidationError(f"--ox {item!r} is not of the form Ti=3") from None
    return out


def _site_text(formula: str, overrides: dict[str, int]) -> dict[str, str]:
    from loop.chemistry import parse_nasicon

    comp = parse_nasicon(formula, overrides)
    return {
        "mobile_ion": comp.mobile_ion,
        "Na": f"{comp.na:g}",
        "M": ", ".join(f"{ion} {amt:.4g}" for ion, amt in comp.m_site),
        "A": ", ".join(f"{ion} {amt:.4g}" for ion, amt in comp.a_site),
    }


def _jsonable(value: object) -> object:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    return value


def describe(
    formulas: list[str] = typer.Argument(..., help="NASICON formulas, any common notation."),
    as_json: AsJson = False,
    ox: Ox = None,
) -> None:
    """Site assignment, descriptors and the tolerance-factor verdict of each formula.

    Li formulas (LATP, LAGP) are described, but their tolerance-factor verdict is null and
    marked out of domain: the tolerance factor is a sodium model.
    """
    from loop.descriptors import DESCRIPTOR_COLUMNS, TF_OUT_OF_DOMAIN, describe_formulas

    overrides = parse_oxidation_overrides(ox)
    table, parsed = describe_formulas(formulas, overrides)
    if parsed.errors:
        _, _, reason = parsed.errors[0]
        raise CompositionError(reason)
    records = []
    for formula, (_, rec) in zip(formulas, table.iterrows(), strict=True):
        sites = _site_text(formula, overrides)
        descriptors = {k: _jsonable(rec[k]) for k in DESCRIPTOR_COLUMNS}
        in_domain = sites["mobile_ion"] == "Na"
        if not in_domain:
            descriptors["tf_accessible"] = None
        records.append(
            {
                "input": formula,
                "formula": rec["formula"],
                "sites": sites,
                "descriptors": descriptors,
                "tolerance_factor_domain": {
                    "in_domain": in_domain,
                    "reason": None if in_domain else TF_OUT_OF_DOMAIN,
                },
            }
        )
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    out = Table(title="NASICON descriptors", show_lines=False)
    out.add_column("", style="bold")
    for rec in records:
        out.add_column(rec["formula"], justify="right")
    out.add_row("site Na/Li", *[f"{r['sites']['mobile_ion']} {r['sites']['Na']}" for r in records])
    for site in ("M", "A"):
        out.add_row(f"site {site}", *[rec["sites"][site] for rec in records])
    for name in DESCRIPTOR_COLUMNS:
        cells = []
        for rec in records:
            v = rec["descriptors"][name]
            cells.append(
                "out of domain" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)
            )
        out.add_row(name, *cells)
    console.print(out)
    if any(not r["tolerance_factor_domain"]["in_domain"] for r in records):
        console.print(f"Li formulas: no tf_accessible verdict; {TF_OUT_OF_DOMAIN}", highlight=False)


def featurize(
    input_csv: Path = typer.Argument(..., help="CSV with a 'formula' column."),
    output: Path = typer.Option(..., "-o", "--output", help="Output CSV."),
    column: str = typer.Option("formula", help="Name of the formula column."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Drop invalid rows (reported) instead of failing."
    ),
    ox: Ox = None,
) -> None:
    """Write every descriptor of every formula in a CSV; invalid rows stop the command."""
    import pandas as pd

    from loop.descriptors import DESCRIPTOR_COLUMNS, describe_formulas

    if not input_csv.is_file():
        raise DataMissingError(f"input file {input_csv} does not exist")
    try:
        # blank lines kept as rows, so a row's line in the file is its index + 2 (header: 1)
        frame = pd.read_csv(
            input_csv, dtype={column: str}, keep_default_na=False, skip_blank_lines=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{input_csv} is not a readable CSV file: {exc}") from exc
    if column not in frame.columns:
        raise ValidationError(
            f"{input_csv} has no {column!r} column (columns: {', '.join(frame.columns)})"
        )
    overrides = parse_oxidation_overrides(ox)
    table, parsed = describe_formulas(frame[column].tolist(), overrides)
    for row, formula, reason in parsed.errors:
        typer.echo(f"line {row + 2}: {formula!r}: {reason}", err=True)  # as batch files
    if parsed.errors and not skip_invalid:
        raise CompositionError(
            f"{len(parsed.errors)} of {len(frame)} rows are invalid; nothing written "
            "(fix them or pass --skip-invalid)"
        )
    result = table.drop(columns=["input_row", "formula"])
    result.insert(0, "formula", frame[column].to_numpy()[parsed.rows])
    write_csv_atomically(result, output)
    console.print(
        f"wrote {len(result)} rows x {len(DESCRIPTOR_COLUMNS)} descriptors to {output}"
        + (f" ({len(parsed.errors)} invalid rows skipped)" if parsed.errors else ""),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the chemistry commands to ``app``."""
    app.command("describe")(describe)
    app.command("featurize")(featurize)
