"""``nasicon simulate --pool FILE.csv --target COLUMN``: a backtest on the user's own history
(rows of the DFT data set written to a temporary CSV), its JSON, refused rows, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from loop.errors import ValidationError
from loop.simulation.user_pool import experiments_to, user_pool


@pytest.fixture(scope="module")
def history(dft_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 DFT rows as a user's table (formula, Ehull, a 0/1 label), plus two rows the
    engine refuses (K fits no NASICON site; a Li/Na mixture is refused)."""
    rows = dft_frame.iloc[::32].head(120)
    frame = pd.DataFrame(
        {
            "formula": [*rows["CompName"].to_list(), "KSn2(PO4)3", "Na2LiZr2Si2PO12"],
            "ehull_mev": [*rows["NewEhullLst"].to_list(), 1.0, 2.0],
        }
    )
    frame["stable"] = (frame["ehull_mev"] <= 0).astype(int)
    path = tmp_path_factory.mktemp("history") / "history.csv"
    frame.to_csv(path, index=False)
    return path


def test_pool_backtest_json(history: Path, tmp_path: Path) -> None:
    result = run_cli(
        ["simulate", "--pool", str(history), "--target", "ehull_mev", "--minimize",
         "--top-fraction", "0.2", "--seed-size", "10", "--batch", "5", "--budget", "40",
         "--repeats", "2", "--json", "--quiet", "--figure", str(tmp_path / "c.png")],
        cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out["enhancement"]) == {"exploit", "random"}
    assert set(out["acceleration_factor"]) == set(out["top_decile_enhancement"]) == {
        "exploit", "random"
    }  # fmt: skip
    assert out["pool"]["rows"] == 120 and out["pool"]["refused"] == 2
    assert [r["line"] for r in out["pool"]["refused_rows"]] == [122, 123]
    assert "left out: pool line 122 'KSn2(PO4)3'" in result.stderr  # listed
    assert out["positives_in_pool"] == 24  # 20 % of 120 (no ties in Ehull)
    assert out["acceleration_factor"]["random"] == pytest.approx(1.0)
    shares = out["share_of_positives_found"]
    hits = out["strategies"]["exploit"]["hits_mean"]
    assert shares["exploit"] == pytest.approx(hits / 24)
    assert out["signal"] == "labels"


def test_label_target(history: Path) -> None:
    frame = pd.read_csv(history)
    pool = user_pool(frame, "stable", mode="label")
    assert pool.pool.labels.sum() == int((frame["ehull_mev"].iloc[:120] <= 0).sum())
    assert len(pool.refused) == 2


def test_experiments_to_k_hits() -> None:
    curve = np.array([0, 1, 1, 2, 3], dtype=float)
    assert experiments_to(curve, 2) == 4
    assert experiments_to(curve, 9) == float("inf")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pool", "missing.csv", "--target", "x"], "error: pool file missing.csv not found"),
        (["--target", "nope"], "error: the pool has no column 'nope'"),
        (["--target", "formula"], "error: target column 'formula' is not numeric"),
        (["--target", "ehull_mev", "--label"], "error: label column 'ehull_mev' holds"),
        ([], "error: --pool needs --target COLUMN"),
        (["--target", "ehull_mev", "--minimize", "--label"], "error: give one of --maximize"),
        (["--target", "ehull_mev", "--signal", "ehull"], "error: --pool backtests learn from"),
        (["--target", "ehull_mev", "--budget", "500"], "error: budget 500 is larger than the pool"),
    ],
)
def test_bad_pool_input_exits_2(
    history: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    base = [] if "--pool" in args else ["--pool", str(history)]
    result = run_cli(["simulate", "--quiet", *base, *args], cwd=tmp_path)
    assert result.error_message().startswith(message.removeprefix("error: "))
    assert not (tmp_path / "reports").exists()


def test_too_few_rows(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    pd.DataFrame({"formula": ["Na3Zr2Si2PO12", "KSn2(PO4)3"], "y": [1.0, 2.0]}).to_csv(path)
    result = run_cli(["simulate", "--quiet", "--pool", str(path), "--target", "y"], cwd=tmp_path)
    assert result.error_message().startswith("only 1 usable rows in the pool (1 refused")
    with pytest.raises(ValidationError, match="top fraction must be between 0 and 1"):
        user_pool(pd.read_csv(path), "y", top_fraction=1.5)
