"""The propose service (``flows.services.propose``) on a real SQLite registry with trained
models: a dry run writes nothing (row for row, byte for byte, lapsed claims included), the
queued rows carry exactly the screened compositions (no formula text parsed back), the open
queue is read once, and the batch is written in one transaction."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import run_cli

from experiments.importers.design_spaces import load_space
from experiments.importers.dft import import_dft
from flows.services.propose import ProposeRequest, propose
from flows.services.retrain import retrain
from loop.acquisition import make_strategy
from loop.chemistry import parse_nasicon
from loop.screening import screen_space
from loop.settings import NasiconConfig
from loop.training import RetrainSettings
from registry import ProposalStatus, Registry

MODELS = ("tolerance_factor", "gnb", "knn", "decision_tree")
#: Two metals in thirds: most amounts (1/3, 2/3, ...) do not survive the 8-decimal formula text.
THIRDS = """
type = "grid"
name = "thirds"
description = "two metals in thirds"
pool = ["Zr", "Hf", "Ti", "Sn", "Sc", "Y", "In", "Nb"]

[metals]
min_cations = 2
max_cations = 2
amount_denominators = [3]

[polyanions]
centres = ["Si", "P"]
max_centres = 2
amount_denominators = [1]
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, dft_data_dir: Path) -> Path:
    """A registry file with the DFT labels and four cheap models of round 1 (champion set)."""
    folder = tmp_path_factory.mktemp("propose-service")
    cfg = NasiconConfig()
    cfg.database.url = f"sqlite:///{folder / 'nasicon.db'}"
    cfg.data.dft_path = dft_data_dir
    cfg.models.artifacts_dir = folder / "models"
    with Registry.from_url(cfg.database.url, check_schema=False) as registry:
        registry.init_schema()
        import_dft(registry, dft_data_dir)
        settings = RetrainSettings(folds=3, trials=0, models=MODELS, importance=())
        retrain(registry, cfg, settings, round_number=1)
    return folder / "nasicon.db"


@pytest.fixture
def lab(trained: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the trained registry (database file) and the thirds space (TOML file)."""
    db = tmp_path / "nasicon.db"
    shutil.copy(trained, db)
    space = tmp_path / "thirds.toml"
    space.write_text(THIRDS)
    return db, space


def request(space: Path, batch: int, strategy: str = "exploit") -> ProposeRequest:
    return ProposeRequest(load_space(space), make_strategy(strategy), batch, shortlist=200)


def dump(db: Path) -> tuple[list[str], str]:
    """Every row of every table (SQL dump) and the SHA-256 of the database file."""
    con = sqlite3.connect(db)
    try:
        rows = list(con.iterdump())
    finally:
        con.close()
    return rows, hashlib.sha256(db.read_bytes()).hexdigest()


def queue_with_a_lapsed_claim(db: Path, space: Path) -> tuple[int, int]:
    """Queue three proposals; claim one for a moment (lapsed) and one for three days."""
    with Registry.from_url(f"sqlite:///{db}") as registry:
        a, b, _ = (p.id for p in propose(registry, request(space, 3)).proposals)
        registry.run(lambda uow: uow.proposals.claim(b, "bob", hours=72))
        registry.run(lambda uow: uow.proposals.claim(a, "ann", hours=1e-7))
    time.sleep(0.01)
    return a, b


@pytest.fixture
def units(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``write`` flag of every unit of work opened from now on."""
    opened: list[bool] = []
    real_run, real_unit = Registry.run, Registry.unit_of_work

    def run(self, work, *, write=True):
        opened.append(write)
        return real_run(self, work, write=write)

    def unit_of_work(self, *, write=True):
        opened.append(write)
        return real_unit(self, write=write)

    monkeypatch.setattr(Registry, "run", run)
    monkeypatch.setattr(Registry, "unit_of_work", unit_of_work)
    return opened


def test_a_dry_run_writes_nothing_even_with_a_lapsed_claim(lab, units: list[bool]) -> None:
    db, space = lab
    lapsed, held = queue_with_a_lapsed_claim(db, space)
    units.clear()
    before = dump(db)
    result = run_cli(
        ["--db", f"sqlite:///{db}", "propose", "--space", str(space), "--batch", "4",
         "--dry-run", "--json", "--quiet"]
    )  # fmt: skip
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    assert dump(db) == before  # every row of every table, and the file's bytes
    assert units and not any(units)  # read-only units of work only
    assert out["dry_run"] is True and out["lapsed_claims"] == [lapsed]
    assert len(out["proposals"]) == 4 and all(p["id"] is None for p in out["proposals"])
    with Registry.from_url(f"sqlite:///{db}") as registry:
        with registry.unit_of_work(write=False) as uow:
            open_formulas = {p.formula for p in uow.proposals.snapshot().open}
            assert uow.proposals.get(lapsed).status is ProposalStatus.CLAIMED  # left as stored
            assert uow.proposals.get(held).claimed_by == "bob"
    assert not {p["formula"] for p in out["proposals"]} & open_formulas


def test_queued_rows_carry_exactly_the_screened_compositions(lab, monkeypatch) -> None:
    db, space = lab
    # three metals in thirds: every composition has an amount (1/3, 2/3) that the 8-decimal
    # formula text cannot hold exactly, whichever the recommender picks
    space.write_text(
        THIRDS.replace("min_cations = 2\nmax_cations = 2", "min_cations = 3\nmax_cations = 3")
    )
    screened = []

    def spy(space, **kwargs):
        screened.append(screen_space(space, **kwargs))
        return screened[-1]

    def no_parsing(*_args, **_kwargs):
        raise AssertionError("a proposed formula was parsed back")

    import registry.repositories.compositions as compositions_module
    import registry.repositories.proposals as proposals_module

    monkeypatch.setattr(proposals_module, "parse_nasicon", no_parsing)
    monkeypatch.setattr(compositions_module, "parse_nasicon", no_parsing)
    with Registry.from_url(f"sqlite:///{db}") as registry:
        result = propose(registry, request(space, 6), screen=spy)
        with registry.unit_of_work(write=False) as uow:
            rows = {p.id: p for p in uow.proposals.snapshot().open}
            stored = uow.compositions.by_formula(p.formula for p in result.proposals)
    (screening,) = screened
    row_of = {f: i for i, f in enumerate(screening.table["formula"])}
    inexact = 0
    for p in result.proposals:
        comp = screening.batch.composition(row_of[p.formula])  # the screened arrays' row
        assert p.composition == comp
        row, kept = rows[p.id], stored[p.formula]
        assert row.composition_id == kept.id and dict(row.probabilities) == p.probabilities
        assert kept.na == comp.na  # exactly
        assert kept.m_site == tuple((i.element, i.charge, a) for i, a in comp.m_site)
        assert kept.a_site == tuple((i.element, i.charge, a) for i, a in comp.a_site)
        monkeypatch.undo()
        inexact += parse_nasicon(comp.formula) != comp  # what a text round trip would store
    assert len(rows) == 6 and inexact > 0


def test_the_open_queue_is_read_once(lab) -> None:
    db, space = lab
    queue_with_a_lapsed_claim(db, space)
    with Registry.from_url(f"sqlite:///{db}") as registry:
        reads: list[str] = []

        @sa.event.listens_for(registry.engine, "before_cursor_execute")
        def seen(conn, cursor, statement, *args) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "FROM proposals" in statement:
                reads.append(" ".join(statement.split()))

        propose(registry, request(space, 2), dry_run=True)
        assert len(reads) == 1 and "proposals.status IN" in reads[0]
        reads.clear()
        propose(registry, request(space, 2))
    whole_queue = [s for s in reads if "proposals.composition_id IN" not in s
                   and "proposals.id IN" not in s]  # fmt: skip
    assert len(whole_queue) == 1, reads  # the plan's; the write reads only the batch's rows


def test_the_batch_and_the_lapsed_claims_are_one_transaction(lab, monkeypatch) -> None:
    db, space = lab
    lapsed, _ = queue_with_a_lapsed_claim(db, space)
    before = dump(db)[0]
    import registry.repositories.proposals as proposals_module

    real, calls = proposals_module.new_row, []

    def fails_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(proposals_module, "new_row", fails_second)
    with Registry.from_url(f"sqlite:///{db}") as registry:
        with pytest.raises(RuntimeError, match="injected"):
            propose(registry, request(space, 3))
        assert dump(db)[0] == before  # neither the first row nor the returned claim stayed
        monkeypatch.undo()
        result = propose(registry, request(space, 3))
        with registry.unit_of_work(write=False) as uow:
            returned = uow.proposals.get(lapsed)
            events = uow.proposals.events(lapsed)
    assert result.lapsed_claims == (lapsed,) and returned.status is ProposalStatus.QUEUED
    assert "expired" in events[-1].reason
    assert len([p for p in result.proposals if p.id is not None]) == 3
