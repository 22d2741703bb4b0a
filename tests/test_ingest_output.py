"""``nasicon ingest`` prints the summary ``record batch`` prints, not a Python repr, and
no Prefect INFO lines without ``-v`` (issue 17, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_fixtures import NZSP, SC_NZSP, run_nasicon

DFT = Path(__file__).resolve().parents[1] / "../shared/data/nasicon_dft"


@pytest.mark.prefect
def test_ingest_prints_the_batch_summary_and_no_prefect_info(tmp_path: Path) -> None:
    if not (DFT / "train.csv").is_file():
        pytest.skip(f"the DFT data set {DFT} is missing")
    # the user's path: Prefect's temporary server in this run's PREFECT_HOME (one per xdist
    # worker, see conftest.py; migrated once, not per test)
    env = {"NASICON_DFT_DATA": str(DFT.resolve()),
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}  # fmt: skip
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_nasicon(["--db", url, "init"], cwd=tmp_path, env=env).returncode == 0
    batch = tmp_path / "batch.csv"
    batch.write_text(f"sample_id,formula,succeeded\nI1,{NZSP},true\nI2,{SC_NZSP},false\n")
    proc = run_nasicon(
        ["--db", url, "ingest", str(batch), "--min-new-labels", "100"], cwd=tmp_path, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "WriteReport(" not in proc.stdout
    assert f"{batch}: stored 2 synthesis; 2 new samples, 0 records already stored" in proc.stdout
    assert "new labels since the last round (threshold 100)" in proc.stdout
    assert "INFO" not in proc.stderr and "INFO" not in proc.stdout, proc.stderr
