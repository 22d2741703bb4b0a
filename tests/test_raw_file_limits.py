"""Issue 17: the XRD and impedance size limits are ``[limits]`` settings (environment
``NASICON_LIMITS__...``) used by ``record``, ``xrd analyze`` and ``eis fit``; a file above one
is refused with one line naming the limit and the setting, exit 2, nothing written. Big
reads report their progress through a hook (the CLI draws rich bars from it).

Every limit here is small and set through the environment: no big file is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from registry_fixtures import NZSP, row_counts

from experiments.impedance import read_spectrum
from experiments.impedance.simulate import simulate_spectrum
from experiments.limits import DEFAULT_EIS_LIMITS, ReadLimits, eis_limits, xrd_limits
from experiments.records import SynthesisRecord, store_records
from experiments.xrd.readers import make_pattern, read_pattern
from loop.errors import ValidationError
from loop.settings import LimitsConfig
from nasicon.settings import load_config
from registry import Registry

FREQ = np.logspace(6, -1, 60)


def _spectrum_file(path: Path, freq: np.ndarray = FREQ) -> Path:
    spec = simulate_spectrum(freq, r0=10.0, r_b=1e5, q_b=2.5e-11, n_b=0.93)
    rows = "\n".join(
        f"{f:.9e},{z.real:.9e},{z.imag:.9e}"
        for f, z in zip(spec.frequency_hz, spec.z, strict=True)
    )
    path.write_text("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n" + rows + "\n")
    return path


def _pattern_file(path: Path, n: int = 400) -> Path:
    x = np.linspace(10.0, 80.0, n)
    y = 100.0 + 1000.0 * np.exp(-(((x - 30.0) / 0.1) ** 2))
    path.write_text("".join(f"{a:.5f} {b:.2f}\n" for a, b in zip(x, y, strict=True)))
    return path


class Recorder:
    """A progress hook that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, key: str, description: str, total: int) -> None:
        self.calls.append(("start", key, description, total))

    def advance(self, key: str, amount: int = 1, description: str | None = None) -> None:
        self.calls.append(("advance", key, amount))

    def finish(self, key: str) -> None:
        self.calls.append(("finish", key))


# -- the settings ----------------------------------------------------------------------------


def test_the_limits_are_settings_with_environment_overrides() -> None:
    cfg = load_config(
        None,
        environ={
            "NASICON_LIMITS__MAX_XRD_POINTS": "500",
            "NASICON_LIMITS__MAX_XRD_BYTES": "4096",
            "NASICON_LIMITS__MAX_EIS_POINTS": "50",
            "NASICON_LIMITS__MAX_EIS_BYTES": "2048",
        },
    )
    assert xrd_limits(cfg.limits).max_points == 500
    assert xrd_limits(cfg.limits).max_bytes == 4096
    assert eis_limits(cfg.limits) == ReadLimits(
        50, 2048, "limits.max_eis_points", "limits.max_eis_bytes"
    )
    defaults = LimitsConfig()
    assert eis_limits(defaults) == DEFAULT_EIS_LIMITS
    assert (defaults.max_xrd_points, defaults.max_eis_points) == (3_000_000, 100_000)


# -- the readers -----------------------------------------------------------------------------


def test_readers_refuse_above_the_given_limits_in_one_line(tmp_path: Path) -> None:
    eis = _spectrum_file(tmp_path / "s.csv")
    small = ReadLimits(20, 10**6, "limits.max_eis_points", "limits.max_eis_bytes")
    with pytest.raises(ValidationError) as info:
        read_spectrum(eis, limits=small)
    msg = str(info.value)
    assert "60 rows; at most 20 are accepted" in msg and "\n" not in msg
    assert "setting limits.max_eis_points" in msg and "NASICON_LIMITS__MAX_EIS_POINTS" in msg
    tiny = ReadLimits(10**6, 100, "limits.max_eis_points", "limits.max_eis_bytes")
    with pytest.raises(ValidationError, match=r"at most 100 bytes .*limits\.max_eis_bytes"):
        read_spectrum(eis, limits=tiny)
    xy = _pattern_file(tmp_path / "p.xy")
    with pytest.raises(ValidationError, match=r"400 points; at most 300 .*max_xrd_points"):
        read_pattern(xy, limits=xrd_limits(LimitsConfig(max_xrd_points=300)))
    with pytest.raises(ValidationError, match=r"at most 1,000 bytes .*NASICON_LIMITS__MAX_XRD_B"):
        read_pattern(xy, limits=xrd_limits(LimitsConfig(max_xrd_bytes=1000)))
    x = np.linspace(10, 80, 400)
    with pytest.raises(ValidationError, match="at most 399"):
        make_pattern(x, np.ones_like(x), limits=xrd_limits(LimitsConfig(max_xrd_points=399)))
    assert len(read_pattern(xy)) == 400  # the defaults


def test_a_spectrum_read_reports_its_rows_to_the_progress_hook(tmp_path: Path) -> None:
    import experiments.impedance.textio as textio

    freq = np.logspace(6, -1, 250)
    path = _spectrum_file(tmp_path / "long.csv", freq)
    hook = Recorder()
    chunk = textio.PROGRESS_CHUNK
    textio.PROGRESS_CHUNK = 100  # a small chunk instead of a big file
    try:
        spec = read_spectrum(path, progress=hook)
    finally:
        textio.PROGRESS_CHUNK = chunk
    assert len(spec) == 250
    assert hook.calls[0][:2] == ("start", "eis-read") and hook.calls[0][3] == 251
    steps = [c[2] for c in hook.calls if c[0] == "advance"]
    assert steps == [100, 100, 51] and hook.calls[-1] == ("finish", "eis-read")


def test_the_cli_draws_bars_only_for_big_files_on_a_terminal(tmp_path: Path) -> None:
    from nasicon.cli.progress import shows_bars

    path = _pattern_file(tmp_path / "p.xy")
    assert not shows_bars(tmp_path / "missing.xy", 0)
    assert not shows_bars(path, 10**9)  # small file
    # (a big file shows bars only on a terminal: tests run on a pipe)
    assert not shows_bars(path, 0)


# -- the commands ----------------------------------------------------------------------------


@pytest.fixture
def lab(tmp_path: Path) -> dict:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    with Registry.from_url(url, check_schema=False) as registry:
        registry.init_schema()
        store_records(registry, [SynthesisRecord.create("S1", NZSP, True)], recorded_by="t")
    env = {
        "NASICON_DB": url,
        "NASICON_RAW_STORE": str(tmp_path / "raw"),
        "NASICON_DATA__REPORTS_DIR": str(tmp_path / "reports"),
    }
    return {"url": url, "env": env, "root": tmp_path}


def test_record_conductivity_above_the_eis_limit_is_refused_and_writes_nothing(
    lab: dict,
) -> None:
    eis = _spectrum_file(lab["root"] / "pellet.csv")
    before = row_counts(lab["url"])
    run = run_cli(
        ["record", "conductivity", "--sample", "S1", "--eis", str(eis),
         "--thickness-mm", "1", "--area-cm2", "0.5"],
        cwd=lab["root"], env={**lab["env"], "NASICON_LIMITS__MAX_EIS_POINTS": "20"},
    )  # fmt: skip
    msg = run.error_message()
    assert "60 rows; at most 20 are accepted" in msg
    assert "setting limits.max_eis_points" in msg
    assert row_counts(lab["url"]) == before
    assert not (lab["root"] / "raw").exists() and not (lab["root"] / "reports").exists()
    # the same file with --raw (typed numbers): the raw file is read within the limit too
    run = run_cli(
        ["record", "conductivity", "--sample", "S1", "--total", "1e-3", "--unit", "S/cm",
         "--raw", str(eis)],
        cwd=lab["root"], env={**lab["env"], "NASICON_LIMITS__MAX_EIS_BYTES": "100"},
    )  # fmt: skip
    assert "setting limits.max_eis_bytes" in run.error_message()
    assert row_counts(lab["url"]) == before and not (lab["root"] / "raw").exists()


def test_record_xrd_above_the_xrd_byte_limit_is_refused_and_writes_nothing(lab: dict) -> None:
    xy = _pattern_file(lab["root"] / "scan.xy")
    before = row_counts(lab["url"])
    run = run_cli(
        ["record", "xrd", "--sample", "S1", "--pattern", str(xy)],
        cwd=lab["root"], env={**lab["env"], "NASICON_LIMITS__MAX_XRD_BYTES": "1000"},
    )  # fmt: skip
    msg = run.error_message()
    assert "at most 1,000 bytes are accepted" in msg and "limits.max_xrd_bytes" in msg
    assert row_counts(lab["url"]) == before
    assert not (lab["root"] / "raw").exists() and not (lab["root"] / "reports").exists()


def test_analysis_commands_use_the_limits(tmp_path: Path) -> None:
    xy = _pattern_file(tmp_path / "scan.xy")
    run = run_cli(
        ["xrd", "analyze", str(xy)], cwd=tmp_path,
        env={"NASICON_LIMITS__MAX_XRD_POINTS": "100"},
    )  # fmt: skip
    assert "400 points; at most 100" in run.error_message()
    eis = _spectrum_file(tmp_path / "s.csv")
    for args in (["eis", "fit", str(eis)],
                 ["eis", "arrhenius", str(eis), "--temperatures-c", "25"]):  # fmt: skip
        run = run_cli(args, cwd=tmp_path, env={"NASICON_LIMITS__MAX_EIS_POINTS": "30"})
        assert "at most 30 are accepted (setting limits.max_eis_points" in run.error_message()


def test_an_xrd_analysis_reports_its_stages(tmp_path: Path) -> None:
    from experiments.xrd import analyze_pattern

    hook = Recorder()
    result = analyze_pattern(_pattern_file(tmp_path / "p.xy"), progress=hook)
    assert result.verdict == "no_nasicon"  # one stray peak: no fit is made
    assert hook.calls[0] == ("start", "xrd", "reading the pattern", 5)
    assert [c[0] for c in hook.calls[1:]] == ["advance"] * 4 + ["finish"]
