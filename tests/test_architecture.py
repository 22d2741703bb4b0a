"""The layers contract (nasicon | flows | experiments | registry | loop) holds, and would fail.

Three checks:

* ``lint-imports`` keeps the one ``layers`` contract of pyproject.toml, which has no
  ``ignore_imports``;
* for every forbidden direction (a lower layer importing a higher one) a copy of the
  packages with that import planted in a real, importing module of the lower layer makes
  ``lint-imports`` report the contract broken, so the contract is able to fail;
* importing a real module of each layer loads no module of a higher layer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from itertools import combinations
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("nasicon", "flows", "experiments", "registry", "loop")

#: A module of each layer that imports other modules (so a planted import is a real edge).
IMPORTING_MODULE = {
    "nasicon": "nasicon/cli/context.py",
    "flows": "flows/round.py",
    "experiments": "experiments/batch.py",
    "registry": "registry/tables/outcomes.py",
    "loop": "loop/descriptors/occupancy.py",
}

#: A module of each layer, deep enough to pull in most of the layer's dependencies.
DEEP_MODULE = {
    "flows": "flows.round",
    "experiments": "experiments.batch",
    "registry": "registry.tables",
    "loop": "loop.descriptors",
}


def _lint(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(lint), "--config", str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_one_layers_contract_without_ignores() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = config["contracts"]
    assert len(contracts) == 1
    assert contracts[0]["type"] == "layers"
    assert tuple(contracts[0]["layers"]) == LAYERS
    assert "ignore_imports" not in contracts[0]
    assert "ignore_imports" not in (REPO / "pyproject.toml").read_text()


def test_import_linter_contract_holds() -> None:
    result = _lint(REPO / "pyproject.toml", REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five packages' Python files and pyproject.toml, copied once."""
    root = tmp_path_factory.mktemp("layers")
    for package in LAYERS:
        shutil.copytree(
            REPO / package,
            root / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("upper", "lower"),
    list(combinations(LAYERS, 2)),
    ids=lambda name: name,
)
def test_upward_import_breaks_the_contract(package_copy: Path, upper: str, lower: str) -> None:
    module = package_copy / IMPORTING_MODULE[lower]
    original = module.read_text()
    assert "\nimport " in original or "\nfrom " in original
    target = IMPORTING_MODULE[upper].removesuffix(".py").replace("/", ".")
    planted = original.replace(
        "from __future__ import annotations\n",
        f"from __future__ import annotations\n\nimport {target}  # planted\n",
        1,
    )
    assert planted != original, f"{module} has no __future__ import to plant after"
    module.write_text(planted)
    try:
        result = _lint(package_copy / "pyproject.toml", package_copy)
    finally:
        module.write_text(original)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert target in result.stdout


@pytest.mark.parametrize("layer", list(DEEP_MODULE))
def test_a_layer_loads_nothing_above_it(layer: str) -> None:
    above = set(LAYERS[: LAYERS.index(layer)])
    code = (
        f"import {DEEP_MODULE[layer]}, sys; "
        "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(above)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    loaded_above = [line for line in result.stdout.splitlines() if line]
    assert loaded_above == [], f"{DEEP_MODULE[layer]} loaded {loaded_above}"


def test_services_import_no_prefect() -> None:
    services = sorted(p.stem for p in (REPO / "flows" / "services").glob("*.py"))
    assert {"propose", "record", "queue", "retrain", "rounds", "ingest"} <= set(services)
    for path in (REPO / "flows" / "services").glob("*.py"):
        assert "prefect" not in path.read_text().replace("Prefect", ""), path
    modules = ", ".join(f"flows.services.{name}" for name in services)
    code = f"import {modules}, sys; print(sorted(m for m in sys.modules if 'prefect' in m))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
