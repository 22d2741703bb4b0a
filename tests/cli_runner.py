"""Run the ``nasicon`` command line in-process through its real entry point.

:func:`run_cli` calls :func:`nasicon.cli.main.run`, the function the console script calls,
so the CLI's own mapping of errors to one ``error: ...`` line and exit code 2 is what the
tests see (no test-side mapping). Output is captured from ``sys.stdout``/``sys.stderr``.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CLIRun:
    """Exit code and captured output of one in-process ``nasicon`` run."""

    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """The non-blank lines written to stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def error_message(self) -> str:
        """The message of a refused command, without its ``error: `` prefix.

        Raises AssertionError unless the command exited with code 2 after writing exactly one
        ``error: ...`` line to stderr (the CLI's mapping of a domain error).
        """
        assert self.code == 2, f"exit code {self.code}, not 2; stderr: {self.stderr!r}"
        lines = self.error_lines
        assert len(lines) == 1 and lines[0].startswith("error: "), f"stderr: {self.stderr!r}"
        return lines[0].removeprefix("error: ")


@contextlib.contextmanager
def _working_directory(cwd: Path | None, env: Mapping[str, str] | None) -> Iterator[None]:
    old_cwd = Path.cwd()
    old_env = {k: os.environ.get(k) for k in (env or {})}
    if cwd is not None:
        os.chdir(cwd)
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.chdir(old_cwd)
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cli(
    args: list[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> CLIRun:
    """Run ``nasicon ARGS`` in this process (in ``cwd``, with ``env`` added)."""
    from nasicon.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (
        _working_directory(cwd, env),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CLIRun(code, out.getvalue(), err.getvalue())
