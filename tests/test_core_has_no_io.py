"""``loop/`` does no file, database, network, environment or terminal access.

Two checks, each shown able to fail:

* no ``.py`` file under ``loop/`` holds an I/O call or imports an I/O library (a text
  search, so a comment or docstring naming one counts too: reword it);
* importing ``loop.training``, ``loop.screening`` and ``loop.simulation`` in a fresh
  interpreter loads no skops, SQLAlchemy or Prefect module, and no ``loop`` module imports
  one of those or rich. (rich.console itself does get loaded: scikit-learn >= 1.9 imports
  ``rich.progress`` for its optional progress-bar callback whenever rich is installed, so
  for rich the check names the importing module instead of only looking at
  ``sys.modules``.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: What ``loop/`` must not contain: file, database, environment and terminal access.
FORBIDDEN: dict[str, str] = {
    "open(": r"open\(",
    "read_csv": r"read_csv",
    "to_csv": r"to_csv",
    "savefig": r"savefig",
    "read_text": r"read_text",
    "read_bytes": r"read_bytes",
    "write_text": r"write_text",
    "write_bytes": r"write_bytes",
    "mkdir": r"mkdir",
    "unlink": r"unlink",
    "create_engine": r"create_engine",
    "os.environ": r"os\.environ",
    "getenv": r"getenv",
    "Console(": r"Console\(",
    "rich.console": r"rich\.console",
    "import skops": r"^\s*(import|from)\s+skops\b",
    "import sqlalchemy": r"^\s*(import|from)\s+(sqlalchemy|sqlmodel|psycopg)\b",
    "import prefect": r"^\s*(import|from)\s+prefect\b",
    "import rich": r"^\s*(import|from)\s+rich\b",
}
#: Top-level packages an import of the core must not load at all.
NOT_LOADED = ("skops", "sqlalchemy", "sqlmodel", "prefect")
#: Top-level packages no ``loop`` module may import.
NOT_IMPORTED_BY_LOOP = (*NOT_LOADED, "rich")
CORE_PACKAGES = ("loop.training", "loop.screening", "loop.simulation")

#: Run in a fresh interpreter: every import statement executed by a ``loop`` module that
#: names a package of NOT_IMPORTED_BY_LOOP, then every package of NOT_LOADED in sys.modules.
_PROBE = """
import builtins, sys
real_import = builtins.__import__
found = []

def watch(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {{}}).get("__name__") or ""
    if level == 0 and name.split(".")[0] in {banned!r} and importer.split(".")[0] == "loop":
        found.append(f"{{importer}} imports {{name}}")
    return real_import(name, globals, locals, fromlist, level)

builtins.__import__ = watch
import {packages}
builtins.__import__ = real_import
found += [f"{{m}} loaded" for m in {not_loaded!r} if m in sys.modules]
print("\\n".join(found))
"""


def offences(root: Path) -> list[str]:
    """``path:line: what`` for every forbidden text in the ``.py`` files under ``root``."""
    found = []
    patterns = {what: re.compile(rx, re.MULTILINE) for what, rx in FORBIDDEN.items()}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        for what, pattern in patterns.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(root.parent)}:{line}: {what}")
    return found


def loaded_io_modules(cwd: Path) -> list[str]:
    """What an import of :data:`CORE_PACKAGES` (run in ``cwd``) loads that it must not:
    ``<loop module> imports <module>`` and ``<package> loaded`` lines."""
    code = _PROBE.format(
        banned=NOT_IMPORTED_BY_LOOP, packages=", ".join(CORE_PACKAGES), not_loaded=NOT_LOADED
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd), "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_core_holds_no_io_calls() -> None:
    assert offences(REPO / "loop") == []


def test_importing_the_core_loads_no_io_library() -> None:
    assert loaded_io_modules(REPO) == []


@pytest.fixture(scope="module")
def core_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``loop/`` (Python files) to plant offences in."""
    root = tmp_path_factory.mktemp("core")
    shutil.copytree(REPO / "loop", root / "loop", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.parametrize(
    ("planted", "what"),
    [
        ("Path('x.csv').write_text('a')", "write_text"),
        ("pd.read_csv('x.csv')", "read_csv"),
        ("os.environ.get('HOME')", "os.environ"),
        ("import skops.io", "import skops"),
        ("from sqlalchemy import create_engine", "import sqlalchemy"),
        ("from rich.console import Console", "rich.console"),
    ],
)
def test_a_planted_io_call_is_found(core_copy: Path, planted: str, what: str) -> None:
    module = core_copy / "loop" / "screening" / "top_k.py"
    original = module.read_text()
    module.write_text(original + f"\n{planted}\n")
    try:
        found = offences(core_copy / "loop")
    finally:
        module.write_text(original)
    assert any(f.startswith("loop/screening/top_k.py:") and f.endswith(f": {what}") for f in found)
    assert offences(core_copy / "loop") == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        ("import rich.console", ["loop.screening.top_k imports rich.console"]),
        (
            "from skops.io import dumps",
            ["loop.screening.top_k imports skops.io", "skops loaded"],
        ),
    ],
)
def test_a_planted_io_import_is_loaded(core_copy: Path, planted: str, expected: list) -> None:
    module = core_copy / "loop" / "screening" / "top_k.py"
    original = module.read_text()
    module.write_text(original + f"\n{planted}  # planted\n")
    try:
        loaded = loaded_io_modules(core_copy)
    finally:
        module.write_text(original)
    assert loaded == expected
    assert loaded_io_modules(core_copy) == []
