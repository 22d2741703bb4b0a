"""Settings from the environment as a new user writes them (issue 17, item 9): a list as
JSON, a bad one as one line; ``--config``/``--db`` after the subcommand."""

from __future__ import annotations

from pathlib import Path

from cli_runner import run_cli

from nasicon.settings import load_config


def test_a_list_setting_from_the_environment(tmp_path: Path) -> None:
    environ = {"NASICON_MODELS__COMPARE": '["gnb", "rf"]', "NASICON_CONFIG": str(_toml(tmp_path))}
    cfg = load_config(environ=environ)
    assert cfg.models.compare == ["gnb", "rf"]
    assert cfg.queue.claim_hours == 12


def _toml(tmp_path: Path) -> Path:
    path = tmp_path / "nasicon.toml"
    path.write_text("[queue]\nclaim_hours = 12\n")
    return path


def test_a_bad_list_setting_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    run = run_cli(["--db", url, "init"], cwd=tmp_path, env={"NASICON_MODELS__COMPARE": '["gnb"'})
    assert "NASICON_MODELS__COMPARE is not valid JSON" in run.error_message()


def test_config_after_the_subcommand(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert run_cli(["init", "--db", url], cwd=tmp_path).code == 0
    run = run_cli(["queue", "list", "--db", url, "--config", "nope.toml"], cwd=tmp_path)
    assert run.error_message() == "config file nope.toml does not exist"
    ok = run_cli(["queue", "list", "--config", str(_toml(tmp_path)), "--db", url], cwd=tmp_path)
    assert ok.code == 0, ok.stderr
