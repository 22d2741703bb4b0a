"""Tables never cut a formula or a number in an 80-column terminal or a pipe (issue 17,
item 5): a cell too wide for its column folds onto the next line, no ``…``."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from registry_fixtures import add, proposals

from registry import Registry

#: Charge balanced, with four and five M-site dopants.
LONG = "Na3.4Zr1.6Sc0.1Y0.1Lu0.1Yb0.1Si2PO12"
LONGER = "Na3.35Zr1.6Hf0.05Sc0.1Y0.1Lu0.05Yb0.1Si2PO12"


@pytest.fixture
def lab(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"], cwd=tmp_path).code == 0
    with Registry.from_url(url) as registry:
        items = proposals(LONG, LONGER)
        items[0]["acquisition_score"] = 0.812345678
        items[0]["reason"] = "high P(accessible) and far from every measured composition " * 2
        add(registry, 1, items)
    return url


def _stored_formulas(url: str) -> list[str]:
    with Registry.from_url(url) as registry, registry.unit_of_work() as uow:
        formulas = [p.formula for p in uow.proposals.find()]
    assert len(formulas) == 2 and all(len(f) > 30 for f in formulas), formulas
    return formulas


def _cells(text: str) -> list[dict[int, str]]:
    """The body rows of a rich table, each cell's folded lines joined (column -> text)."""
    rows: list[dict[int, str]] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells[0]:  # the id column starts a new row
            rows.append({})
        for i, cell in enumerate(cells):
            rows[-1][i] = rows[-1].get(i, "") + cell
    return rows


@pytest.mark.parametrize("columns", ["80"])
def test_queue_list_keeps_every_formula_and_number_whole(
    lab: str, tmp_path: Path, columns: str
) -> None:
    run = run_cli(["--db", lab, "queue", "list"], cwd=tmp_path, env={"COLUMNS": columns})
    assert run.code == 0, run.stderr
    assert "…" not in run.stdout, run.stdout
    widths = {len(line) for line in run.stdout.splitlines()}
    assert max(widths) <= int(columns), (widths, run.stdout)
    rows = _cells(run.stdout)
    assert [r[2] for r in rows] == _stored_formulas(lab), run.stdout
    assert rows[0][4] == "0.812", run.stdout


def test_every_cli_table_is_the_folding_one() -> None:
    """A module building ``rich.table.Table`` directly would cut its cells again."""
    cli = Path(__file__).resolve().parents[1] / "nasicon" / "cli"
    direct = [
        p.name
        for p in cli.glob("*.py")
        if p.name != "output.py" and "from rich.table import" in p.read_text()
    ]
    assert direct == []
