"""``nasicon import made``: the made compositions from the command line, idempotent; a missing
file is one line naming the path and the source, exit 2, nothing stored."""

from __future__ import annotations

from pathlib import Path

from cli_runner import run_cli
from registry_fixtures import row_counts

from experiments.importers.made import read_made_compositions


def test_import_made_from_the_command_line(tmp_path: Path, shared_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"]).code == 0
    before = row_counts(url)
    missing = run_cli(["--db", url, "import", "made", str(tmp_path / "nowhere.json")])
    message = missing.error_message()
    assert "nowhere.json" in message and "Ouyang" in message
    assert row_counts(url) == before
    made = shared_dir / "data" / "experimental" / "ouyang2021_made_compositions.json"
    n = sum(len(v) for v in read_made_compositions(made).values())
    # the default path is the configured data.made_path
    first = run_cli(["--db", url, "import", "made"], env={"NASICON_DATA__MADE_PATH": str(made)})
    assert first.code == 0, first.stderr
    assert f"added {n} synthesis, {n} xrd" in first.stdout
    after = row_counts(url)
    again = run_cli(["--db", url, "import", "made", str(made)])
    assert again.code == 0 and "nothing changed" in again.stdout
    assert row_counts(url) == after


def test_import_made_lists_every_bad_entry_and_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["--db", url, "init"]).code == 0
    before = row_counts(url)
    bad = tmp_path / "made.json"
    bad.write_text('{"reported_exp_comps": ["NaZr2(PO4)3", "Na9Zr2(PO4)3", "Xx2(PO4)3"]}')
    run = run_cli(["--db", url, "import", "made", str(bad)])
    assert run.code == 2
    assert "reported_exp_comps[1]" in run.stderr and "reported_exp_comps[2]" in run.stderr
    assert row_counts(url) == before
