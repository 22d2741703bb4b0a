"""The import contracts of pyproject.toml hold, and each package imports on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(REPO / "pyproject.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("package", ["loop", "registry", "experiments", "flows"])
def test_each_package_imports_alone(package: str) -> None:
    ours = "{'loop', 'registry', 'experiments', 'flows'}"
    code = (
        f"import {package}, sys; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {ours}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    if package == "loop":
        assert "registry" not in result.stdout and "flows" not in result.stdout
