"""The registry on the command line: every bad input of issue 4 (exit 2, one specific line,
nothing written), and the bench workflow from init to export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from registry_fixtures import (
    LU_NZSP,
    NZSP,
    SC_NZSP,
    assert_one_error_line,
    invoke,
    row_counts,
    run_nasicon,
)

from registry import ProposalStatus, Registry


@pytest.fixture
def lab(tmp_path: Path) -> str:
    """URL of an initialised SQLite registry holding sample S1 (NZSP) with one XRD result."""
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert invoke(["--db", url, "init"]).code == 0
    ok = invoke(
        [
            "--db",
            url,
            "record",
            "synthesis",
            "--sample",
            "S1",
            "--formula",
            NZSP,
            "--succeeded",
            "--by",
            "ann",
        ]
    )
    assert ok.code == 0, ok.output
    assert invoke(["--db", url, "record", "xrd", "--sample", "S1", "--phase", "NASICON"]).code == 0
    return url


def refused(url: str, args: list[str], *needles: str) -> str:
    """Run a command that must be refused: exit 2, one ``error:`` line naming the problem (after
    the list of bad rows, for a batch), nothing written."""
    before = row_counts(url)
    result = invoke(["--db", url, *args])
    assert result.code == 2, result.output
    lines = result.error.splitlines()
    assert [ln for ln in lines if ln.startswith("error: ")] == [lines[-1]], result.error
    if len(lines) > 1:  # a batch lists its bad rows first, one per line
        assert all(ln.startswith("line ") for ln in lines[:-1]), result.error
    for needle in needles:
        assert needle in result.error, result.error
    assert row_counts(url) == before
    return lines[-1]


# -- bad input: each case of the issue --


@pytest.mark.parametrize(
    ("formula", "needle"),
    [
        ("Na3Zr2Si2PX12", "unknown element 'X'"),
        ("Na3Zr2((SiO4", "Na3Zr2((SiO4"),
        ("Na4Zr2Si2PO12", "not charge balanced"),
    ],
    ids=["unknown-element", "unparseable", "charge-unbalanced"],
)
def test_bad_formula(lab: str, formula: str, needle: str) -> None:
    refused(
        lab, ["record", "synthesis", "--sample", "S2", "--formula", formula, "--succeeded"], needle
    )


def test_duplicate_sample_id(lab: str) -> None:
    refused(
        lab,
        ["record", "synthesis", "--sample", "S1", "--formula", SC_NZSP, "--failed"],
        "duplicate sample id 'S1'",
    )


@pytest.mark.parametrize("kind", ["xrd", "conductivity"])
def test_result_for_an_unknown_sample(lab: str, kind: str) -> None:
    extra = ["--phase", "NASICON"] if kind == "xrd" else ["--total", "1e-3", "--unit", "S/cm"]
    refused(lab, ["record", kind, "--sample", "S404", *extra], "unknown sample id 'S404'")


@pytest.mark.parametrize(
    ("value", "unit"),
    [("0", "S/cm"), ("-0.001", "S/cm"), ("10.01", "S/cm"), ("12000", "mS/cm")],
)
def test_conductivity_out_of_range(lab: str, value: str, unit: str) -> None:
    args = ["record", "conductivity", "--sample", "S1", "--total", value, "--unit", unit]
    refused(lab, args, "outside (0, 1) S/cm")


@pytest.mark.parametrize("unit", ["S/m", "mS/m", "uS/cm", "MS/cm"])
def test_conductivity_unit_not_s_or_ms_per_cm(lab: str, unit: str) -> None:
    args = ["record", "conductivity", "--sample", "S1", "--total", "1", "--unit", unit]
    refused(lab, args, f"unit '{unit}' is not S/cm or mS/cm")


@pytest.mark.parametrize("option", [["--temperature-k", "-5"], ["--temperature-c", "-280"]])
def test_temperature_below_0_k(lab: str, option: list[str]) -> None:
    args = ["record", "conductivity", "--sample", "S1", "--total", "1e-3", "--unit", "S/cm"]
    args += option
    refused(lab, args, "below absolute zero (0 K)")


@pytest.mark.parametrize("phases", [["NASICON=0.9", "ZrO2=0.05"], ["NASICON=0.99", "ZrO2=0.04"]])
def test_weight_fractions_not_summing_to_one(lab: str, phases: list[str]) -> None:
    args = ["record", "xrd", "--sample", "S1"] + [a for p in phases for a in ("--phase", p)]
    refused(lab, args, "weight fractions sum to", "not 1 +- 0.02")


def _batch(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "batch.csv"
    path.write_text(text)
    return path


def test_batch_missing_column_stores_no_row(lab: str, tmp_path: Path) -> None:
    path = _batch(tmp_path, "sample_id,succeeded\nS7,true\n")
    refused(lab, ["record", "batch", str(path)], "lacks the required column(s) formula")


def test_batch_wrong_type_stores_no_row(lab: str, tmp_path: Path) -> None:
    path = _batch(
        tmp_path,
        "sample_id,formula,succeeded,sigma_total,sigma_unit\n"
        f"S7,{SC_NZSP},true,1.2,mS/cm\n"
        f"S8,{LU_NZSP},perhaps,,\n"
        f"S9,{NZSP},true,fast,mS/cm\n",
    )
    error = refused(
        lab, ["record", "batch", str(path)], "2 of 3 rows are invalid", "nothing stored"
    )
    assert "line 3" in error


def test_batch_bad_rows_are_each_reported_by_the_executable(lab: str, tmp_path: Path) -> None:
    path = _batch(
        tmp_path,
        "sample_id,formula,succeeded,phases,sigma_total,sigma_unit\n"
        f"S7,{SC_NZSP},true,NASICON,1.2,mS/cm\n"
        f"S1,{NZSP},false,,,\n"
        f"S8,{LU_NZSP},true,NASICON=0.5;ZrO2=0.1,,\n"
        f"S9,{LU_NZSP},true,,0.4,S/m\n"
        "S10,Na3Zr2Si2PX12,true,,,\n",
    )
    before = row_counts(lab)
    proc = run_nasicon(["--db", lab, "record", "batch", str(path)], cwd=path.parent)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: 4 of 5 rows are invalid") and "nothing stored" in lines[-1]
    report = "\n".join(lines[:-1])
    for line, needle in (
        (3, "duplicate sample id 'S1'"),
        (4, "sum to 0.600"),
        (5, "S/m"),
        (6, "'X'"),
    ):
        assert f"line {line}: " in report and needle in report, report
    assert row_counts(lab) == before


def test_batch_unknown_column_is_refused(lab: str, tmp_path: Path) -> None:
    path = _batch(tmp_path, f"sample_id,formula,succeeded,sigma_totl\nS7,{NZSP},true,1\n")
    refused(lab, ["record", "batch", str(path)], "unknown column(s) sigma_totl")


def test_unreachable_postgres_is_one_clear_line(tmp_path: Path) -> None:
    proc = run_nasicon(
        ["--db", "postgresql://lab@127.0.0.1:1/registry", "queue", "list"], cwd=tmp_path
    )
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "cannot reach the registry database", "127.0.0.1:1")


def test_unopenable_sqlite_is_one_clear_line(tmp_path: Path) -> None:
    proc = run_nasicon(["--db", f"sqlite:///{tmp_path}/no/such/dir/lab.db", "init"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "cannot open the SQLite registry file", "folder exists")


def test_executable_exit_code_and_single_line_for_a_duplicate(lab: str, tmp_path: Path) -> None:
    before = row_counts(lab)
    args = ["--db", lab, "record", "synthesis", "--sample", "S1", "--formula", NZSP, "--succeeded"]
    proc = run_nasicon(args, cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "duplicate sample id 'S1'")
    assert row_counts(lab) == before


# -- the bench workflow --


def test_record_correct_retract_history_and_export(lab: str, tmp_path: Path) -> None:
    r = invoke(
        [
            "--db",
            lab,
            "record",
            "conductivity",
            "--sample",
            "S1",
            "--total",
            "1.3",
            "--unit",
            "mS/cm",
            "--temperature-c",
            "30",
            "--density-pct",
            "97.8",
        ]
    )
    assert r.code == 0 and "label: synthesizable" in r.output
    fix = [
        "--db",
        lab,
        "record",
        "conductivity",
        "--sample",
        "S1",
        "--total",
        "1.4",
        "--unit",
        "mS/cm",
        "--supersedes",
        "1",
        "--reason",
        "re-fit",
        "--by",
        "bob",
    ]
    assert invoke(fix).code == 0
    wrong = invoke(
        [
            "--db",
            lab,
            "record",
            "xrd",
            "--sample",
            "S1",
            "--phase",
            "NASICON=0.9",
            "--phase",
            "ZrO2=0.1",
        ]
    )
    assert "not synthesizable" in wrong.output
    assert (
        invoke(
            ["--db", lab, "retract", "xrd", "2", "--reason", "pattern of S2", "--by", "cid"]
        ).code
        == 0
    )
    history = invoke(["--db", lab, "history", "S1", "--json"])
    trail = json.loads(history.output)
    states = [(r["kind"], r["id"], r["status"]) for r in trail["records"]]
    assert ("conductivity", 1, "superseded") in states and ("conductivity", 2, "current") in states
    assert ("xrd", 2, "retracted") in states and ("xrd", 3, "retraction") in states
    assert (
        next(r for r in trail["records"] if r["id"] == 2 and r["kind"] == "conductivity")[
            "recorded_by"
        ]
        == "bob"
    )
    table = invoke(["--db", lab, "history", "S1"]).output
    assert "corrects" in table and "retracts" in table  # (the table wraps at 80 columns)
    out = tmp_path / "export.csv"
    assert invoke(["--db", lab, "export", "-o", str(out)]).code == 0
    frame = pd.read_csv(out)
    assert sorted(frame["record_kind"]) == ["conductivity", "synthesis", "xrd"]
    sigma = frame[frame.record_kind == "conductivity"].iloc[0]
    assert sigma["sigma_total_s_cm"] == pytest.approx(1.4e-3) and sigma[
        "temperature_k"
    ] == pytest.approx(298.15)
    assert (frame["formula"] == NZSP).all() and (frame["sample_label"] == 1).all()
    assert invoke(["--db", lab, "export", "-o", str(out), "--history"]).code == 0
    assert len(pd.read_csv(out)) == 6
    assert invoke(["--db", lab, "export", "-o", str(out), "--training"]).code == 0
    assert pd.read_csv(out)[["formula", "label", "source"]].values.tolist() == [
        [NZSP, 1, "experiment"]
    ]


def test_batch_ingest_is_all_or_nothing_and_idempotent(lab: str, tmp_path: Path) -> None:
    path = _batch(
        tmp_path,
        "sample_id,formula,succeeded,sintering_c,date,phases,sigma_total,sigma_unit,temperature_c\n"
        f"S7,{SC_NZSP},true,1100,2026-11-20,NASICON=0.97;ZrO2=0.03,1.2,mS/cm,25\n"
        f"S8,{LU_NZSP},false,1100,2026-11-21,,,,\n"
        f"S1,{NZSP},,,,,0.9,mS/cm,25\n",
    )
    first = invoke(["--db", lab, "record", "batch", str(path), "--by", "robot"])
    assert first.code == 0 and "2 new samples" in first.output, first.output
    counts = row_counts(lab)
    again = invoke(["--db", lab, "record", "batch", str(path), "--by", "robot"])
    assert again.code == 0 and "stored nothing new" in again.output
    assert row_counts(lab) == counts
    with Registry.from_url(lab) as reg, reg.unit_of_work(write=False) as uow:
        labels = {o.sample_id: o.values for o in uow.outcomes.find(kinds=("xrd",))}
        history = uow.samples.history("S8")
    assert (
        labels["S7"]["impurity_fraction"] == pytest.approx(0.03) and not labels["S7"]["phase_pure"]
    )
    assert history.records[0].values["succeeded"] is False


def test_queue_commands(lab: str) -> None:
    items = [
        {"formula": f, "strategy": "exploit", "probabilities": {"rf": 0.8}}
        for f in (SC_NZSP, LU_NZSP, "Na3.1Zr1.9Sc0.1Si2PO12")
    ]
    with Registry.from_url(lab) as reg:
        a, b, c = reg.run(lambda uow: uow.proposals.add(1, items))
    listing = json.loads(invoke(["--db", lab, "queue", "list", "--json"]).output)
    assert [p["status"] for p in listing] == ["queued"] * 3
    assert (
        "claimed by ann"
        in invoke(["--db", lab, "queue", "claim", str(a), "--by", "ann", "--hours", "4"]).output
    )
    taken = invoke(["--db", lab, "queue", "claim", str(a), "--by", "bob"])
    assert taken.code == 2 and "claimed by ann" in taken.error
    assert invoke(["--db", lab, "queue", "release", str(a), "--by", "ann"]).code == 0
    assert (
        invoke(
            ["--db", lab, "queue", "abandon", str(b), "--reason", "no Lu2O3", "--by", "ann"]
        ).code
        == 0
    )
    assert (
        invoke(["--db", lab, "queue", "reject", str(c), "--reason", "too close to NZSP"]).code == 0
    )
    assert invoke(["--db", lab, "queue", "abandon", str(b), "--reason", "again"]).code == 2
    open_now = json.loads(invoke(["--db", lab, "queue", "list", "--json"]).output)
    assert [p["id"] for p in open_now] == [a]
    every = json.loads(invoke(["--db", lab, "queue", "list", "--all", "--json"]).output)
    assert {p["id"]: p["status_reason"] for p in every}[b] == "no Lu2O3"
    done = invoke(
        ["--db", lab, "record", "synthesis", "--sample", "S2", "--formula", SC_NZSP, "--failed"]
    )
    assert f"proposal {a} is now measured" in done.output
    with Registry.from_url(lab) as reg:
        assert reg.run(lambda uow: uow.proposals.get(a), write=False).status is (
            ProposalStatus.MEASURED
        )
    assert invoke(["--db", lab, "queue", "list", "--status", "nonsense"]).code == 2


def test_imports_from_the_command_line(
    tmp_path: Path, dft_data_dir: Path, literature_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert invoke(["--db", url, "init"]).code == 0
    missing = invoke(["--db", url, "import", "dft", str(tmp_path / "nowhere")])
    assert missing.code == 2 and "NASICON_DFT_DATA" in missing.error
    monkeypatch.setenv("NASICON_DFT_DATA", str(dft_data_dir))  # the configured default path
    first = invoke(["--db", url, "import", "dft"])
    again = invoke(["--db", url, "import", "dft"])
    assert first.code == 0 and "added 3881 computed records" in first.output
    assert again.code == 0 and "nothing changed" in again.output
    lit = invoke(["--db", url, "import", "literature", str(literature_csv)])
    assert lit.code == 0 and "added" in lit.output
    assert (
        "nothing changed"
        in invoke(["--db", url, "import", "literature", str(literature_csv)]).output
    )
    assert "NZSP" in invoke(["--db", url, "history", "NZSP"]).output


def test_campaigns_and_the_configured_claim_time(lab: str, monkeypatch: pytest.MonkeyPatch) -> None:
    refused(
        lab,
        [
            "record",
            "synthesis",
            "--sample",
            "X1",
            "--formula",
            SC_NZSP,
            "--succeeded",
            "--campaign",
            "scale-up",
        ],
        "no campaign 'scale-up'",
        "nasicon campaign add scale-up",
    )
    assert (
        invoke(["--db", lab, "campaign", "add", "scale-up", "--description", "10 g batches"]).code
        == 0
    )
    ok = invoke(
        [
            "--db",
            lab,
            "record",
            "synthesis",
            "--sample",
            "S1",
            "--formula",
            SC_NZSP,
            "--succeeded",
            "--campaign",
            "scale-up",
        ]
    )
    assert ok.code == 0  # S1 again, but in another campaign
    assert "scale-up" in invoke(["--db", lab, "campaign", "list"]).output
    ambiguous = invoke(["--db", lab, "record", "xrd", "--sample", "S1", "--phase", "NASICON"])
    assert ambiguous.code == 2 and "say which (--campaign)" in ambiguous.error
    with Registry.from_url(lab) as reg:
        (pid,) = reg.run(
            lambda uow: uow.proposals.add(1, [{"formula": LU_NZSP, "strategy": "exploit"}])
        )
    monkeypatch.setenv("NASICON_QUEUE__CLAIM_HOURS", "5")
    assert invoke(["--db", lab, "queue", "claim", str(pid), "--by", "ann"]).code == 0
    (claimed,) = json.loads(invoke(["--db", lab, "queue", "list", "--json"]).output)
    held = datetime.fromisoformat(claimed["claim_expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=4.9) < held <= timedelta(hours=5)


def test_a_raw_file_is_kept_by_content_hash(
    lab: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pattern = tmp_path / "S1.xy"
    # a raw file given with typed numbers must read as a pattern (issue 17): a real scan length
    pattern.write_text("".join(f"{10 + 0.02 * i:.2f} {120 + i % 7}\n" for i in range(2000)))
    store = tmp_path / "raw"
    monkeypatch.setenv("NASICON_RAW_STORE", str(store))
    args = [
        "--db",
        lab,
        "record",
        "xrd",
        "--sample",
        "S1",
        "--phase",
        "NASICON",
        "--raw",
        str(pattern),
    ]
    assert invoke(args).code == 0
    latest = json.loads(invoke(["--db", lab, "history", "S1", "--json"]).output)["records"][-1]
    digest = latest["values"]["raw_sha256"]
    kept = Path(latest["values"]["raw_path"])
    assert kept.parent.parent == store and kept.name == f"{digest}.xy"
    assert kept.read_text() == pattern.read_text()
    missing = invoke(
        [
            "--db",
            lab,
            "record",
            "xrd",
            "--sample",
            "S1",
            "--phase",
            "NASICON",
            "--raw",
            str(tmp_path / "gone.xy"),
        ]
    )
    assert missing.code == 2 and "does not exist" in missing.error
