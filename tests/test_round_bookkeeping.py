"""Round bookkeeping (issue 17, item 14): the new-label count of a round is of current lab
labels only, and two concurrent runs of one batch file on PostgreSQL end as on SQLite: one
stores the rows, the other reports them already stored."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cli_runner import run_cli
from registry_fixtures import NZSP, SC_NZSP

from experiments.batch import record_batch
from experiments.records import StoreOptions, SynthesisRecord, XRDRecord, store_records
from flows.services.rounds import labels_since_last_round
from registry import Registry


def _labels(url: str) -> int:
    with Registry.from_url(url) as registry:
        return registry.run(labels_since_last_round, write=False)


def test_new_labels_count_current_lab_labels_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    db = ["--db", url]
    assert run_cli([*db, "init"], cwd=tmp_path).code == 0
    for args in (
        ["record", "synthesis", "--sample", "S1", "--formula", NZSP, "--succeeded"],
        ["record", "xrd", "--sample", "S1", "--phase", "NASICON"],
    ):
        assert run_cli([*db, *args], cwd=tmp_path).code == 0
    assert _labels(url) == 1
    fix = ["record", "xrd", "--sample", "S1", "--phase", "NASICON=0.9", "--phase", "ZrO2=0.1",
           "--supersedes", "1", "--reason", "misread"]  # fmt: skip
    assert run_cli([*db, *fix], cwd=tmp_path).code == 0
    assert _labels(url) == 1  # the correction replaces the superseded result
    with Registry.from_url(url) as registry:
        store_records(
            registry,
            [SynthesisRecord.create("L1", SC_NZSP, True), XRDRecord.create("L1", phases="NASICON")],
            recorded_by="importer",
            options=StoreOptions(source="literature", citation="doi:10/x"),
        )
    assert _labels(url) == 1  # a literature import is not a new lab label
    failed = ["record", "synthesis", "--sample", "S2", "--formula", SC_NZSP, "--failed"]
    assert run_cli([*db, *failed], cwd=tmp_path).code == 0
    assert _labels(url) == 2


@pytest.mark.postgres
def test_concurrent_runs_of_one_batch_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    assert run_cli(["--db", postgres_url, "init"], cwd=tmp_path).code == 0
    path = tmp_path / "batch.csv"
    rows = "".join(f"C{i},{NZSP},true,NASICON\n" for i in range(40))
    path.write_text("sample_id,formula,succeeded,phases\n" + rows)
    start = threading.Barrier(2)
    reports: list = []
    errors: list[BaseException] = []

    def run() -> None:
        with Registry.from_url(postgres_url) as registry:
            start.wait()
            try:
                reports.append(record_batch(registry, path, recorded_by="ann"))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    stored = sorted(len(r.added) for r in reports)
    unchanged = sorted(len(r.unchanged) for r in reports)
    assert stored == [0, 80] and unchanged == [0, 80], reports
