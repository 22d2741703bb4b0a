"""Impedance readers on every real export in ../shared and on generated layouts of them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.impedance import fit_spectrum, read_spectrum, resolve_pellet
from experiments.impedance.readers import MAX_FILE_BYTES, MAX_POINTS
from experiments.impedance.simulate import simulate_spectrum
from loop.errors import ValidationError

EXAMPLE_FILES = [
    "Circuit2_EIS_1.z",
    "exampleData.csv",
    "exampleDataAutolab.txt",
    "exampleDataBioLogic.mpt",
    "exampleDataCHInstruments.txt",
    "exampleDataGamry.DTA",
    "exampleDataZPlot.z",
    "eisfitpython/CSV_Example.csv",
    "eisfitpython/Example2a.txt",
    "eisfitpython/Example2b.txt",
    "eisfitpython/Example2c.txt",
    "eisfitpython/Example_header.txt",
    "eisfitpython/Example_noheader.txt",
]
#: impedance.py's own reader for the formats it knows (an independent implementation).
IMPEDANCE_PY_READER = {
    "Circuit2_EIS_1.z": "zplot",
    "exampleDataZPlot.z": "zplot",
    "exampleData.csv": None,
    "exampleDataAutolab.txt": "autolab",
    "exampleDataBioLogic.mpt": "biologic",
    "exampleDataCHInstruments.txt": "chinstruments",
    "exampleDataGamry.DTA": "gamry",
}


@pytest.fixture(scope="module")
def eis_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "eis_examples"


def _trailing_numeric_rows(path: Path) -> np.ndarray:
    """The file's last block of all-numeric rows, parsed here independently of the readers."""
    rows = []
    for line in reversed(path.read_bytes().decode("latin-1").splitlines()):
        fields = [f for f in re.split(r"[\t,;\s]+", line.strip()) if f]
        if not fields:
            continue
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            break
    width = len(rows[0])
    return np.array([r for r in reversed(rows) if len(r) == width])


def test_the_example_folder_holds_the_files_tested(eis_dir: Path) -> None:
    found = sorted(
        str(p.relative_to(eis_dir))
        for p in eis_dir.rglob("*")
        if p.is_file() and p.suffix.lower() not in {".md", ""}
    )
    assert found == sorted(EXAMPLE_FILES)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_every_example_file_reads_and_fits_as_it_comes(eis_dir: Path, name: str) -> None:
    path = eis_dir / name
    spec = read_spectrum(path)
    rows = _trailing_numeric_rows(path)
    assert len(spec) == rows.shape[0] >= 10
    assert np.all(spec.frequency_hz > 0) and np.all(np.isfinite(spec.z))
    assert np.median(spec.z_imag) < 0  # every file is a capacitive spectrum, Z'' < 0
    if name in IMPEDANCE_PY_READER:
        from impedance.preprocessing import readFile

        f_ref, z_ref = readFile(str(path), instrument=IMPEDANCE_PY_READER[name])
        np.testing.assert_allclose(spec.frequency_hz, f_ref)
        np.testing.assert_allclose(spec.z, z_ref)
    elif rows.shape[1] == 3:  # the EISFitpython files: f, Z', Z'' in that order
        np.testing.assert_allclose(spec.frequency_hz, rows[:, 0])
        np.testing.assert_allclose(spec.z, rows[:, 1] + 1j * rows[:, 2])
    fit = fit_spectrum(spec)
    assert fit.residual_rms < 0.15 and fit.r_total.value > 0


def test_biologic_minus_im_column_is_recognised_as_negated(eis_dir: Path) -> None:
    spec = read_spectrum(eis_dir / "exampleDataBioLogic.mpt")
    assert spec.imag_sign == "negated"
    assert any("-Im(Z)/Ohm" in n and "holds -Z''" in n for n in spec.notes)
    assert read_spectrum(eis_dir / "eisfitpython/Example2a.txt").imag_sign == "as stored"


def test_example2b_fit_above_5_hz_matches_the_source_projects_report(eis_dir: Path) -> None:
    """EISFitpython's Example 2 (f > 5 Hz): R1 4.471e4 ohm +- 0.6 %, R2 4.712e4 ohm +- 1.2 %,
    n1 0.850, n2 0.819. Our circuit adds a series R0 and chooses the circuit by BIC; the
    tolerances are the source's own standard errors for R and 0.002 for n (its 3 printed
    digits plus rounding)."""
    fit = fit_spectrum(eis_dir / "eisfitpython/Example2b.txt", f_min_hz=5.0)
    assert fit.circuit == "R0-(R_b||CPE_b)-(R_gb||CPE_gb)-CPE_el"
    assert fit.r_bulk.value == pytest.approx(4.471e4, rel=0.006)
    assert fit.r_grain_boundary.value == pytest.approx(4.712e4, rel=0.012)
    assert fit.parameters["n_b"].value == pytest.approx(0.850, abs=0.002)
    assert fit.parameters["n_gb"].value == pytest.approx(0.819, abs=0.002)
    kept = int((_trailing_numeric_rows(eis_dir / "eisfitpython/Example2b.txt")[:, 0] >= 5).sum())
    assert f"fitted {kept} of 50 points (5 Hz <= f)" in fit.notes


def test_pellet_stated_in_the_file_is_used_unless_the_user_gives_one(eis_dir: Path) -> None:
    spec = read_spectrum(eis_dir / "eisfitpython/Example2a.txt")
    assert spec.geometry is not None and spec.geometry.line == 2
    assert spec.geometry.thickness_mm == pytest.approx(0.75)  # not "Electrode Thickness" 4 mm
    assert spec.geometry.diameter_mm == pytest.approx(13.0)
    pellet = resolve_pellet(spec.geometry, None, None)
    assert pellet.area_cm2 == pytest.approx(np.pi * 1.3**2 / 4)
    assert (pellet.thickness_from, pellet.area_from) == ("file", "file")
    mixed = resolve_pellet(spec.geometry, 1.1, None)
    assert (mixed.thickness_mm, mixed.thickness_from, mixed.area_from) == (1.1, "user", "file")
    nothing = read_spectrum(eis_dir / "eisfitpython/Example2b.txt").geometry
    assert nothing is None
    with pytest.raises(ValidationError, match=r"does not state the pellet thickness"):
        resolve_pellet(nothing, None, 0.5, "Example2b.txt")


@pytest.mark.parametrize(
    ("header", "thickness", "area"),
    [
        ("Diameter[mm]: 1.300e+01  Thickness[mm]: 7.500e-01", 0.75, np.pi * 1.3**2 / 4),
        ("Sample Thickness = 0.75 mm\tArea[cm2]: 0.5", 0.75, 0.5),
        ("Thickness (cm): 0,12;  Diameter: 10 mm", 1.2, np.pi * 1.0**2 / 4),
        ("Electrode Thickness[mm]: 4.00e+00  Spacer Area[mm^2] 5.0", None, None),
    ],
)
def test_pellet_geometry_in_a_header(tmp_path: Path, header, thickness, area) -> None:
    rows = "\n".join(f"{10.0**-k:.4e}\t{100 + k}\t{-50 - k}" for k in range(-5, 7))
    path = tmp_path / "stated.txt"
    path.write_text(f"title\n{header}\nFreq.[Hz]\tZs'[ohm]\tZs''[ohm]\n{rows}\n")
    geometry = read_spectrum(path).geometry
    if thickness is None:
        assert geometry is None
    else:
        assert geometry.thickness_mm == pytest.approx(thickness)
        assert geometry.area_cm2 == pytest.approx(area)
        assert geometry.line == 2


# --- generated layouts ---------------------------------------------------------------------

NAMES = {
    "frequency": ["Freq.[Hz]", "Frequency (Hz)", "freq/Hz", "Freq", "f [Hz]", "Frequency/Hz"],
    "real": ["Zs'[ohm]", "Z' [Ohms]", "Re(Z)/Ohm", "Zreal", "Z' (Ω)", "Z'/ohm"],
    "imag": ["Zs''[ohm]", "Z'' [Ohms]", "Im(Z)/Ohm", "Zimag", 'Z"/ohm', "Z''(b)"],
    "neg_imag": ["-Z'' [Ohms]", "-Im(Z)/Ohm", "-Zimag", "-Z''"],
    "modulus": ["|Z|/Ohm", "Impedance/Ohm", "Zmod", "|Z| [Ohm]"],
    "phase": ["Phase(Z)/deg", "Phase/deg", "Zphz", "Phase [deg]"],
    "other": ["Time/s", "Idc", "Significance", "cycle"],
}
TITLES = ["s05751_25deg, 26.02.2025, 15:11", "# measured on pellet 7", "Sample: NZSP-3", ""]


@st.composite
def layouts(draw):
    kind = draw(st.sampled_from(["re_im", "mod_phase", "no_header"]))
    sep = draw(st.sampled_from(["\t", ";", ",", "  ", " "]))
    comma = sep != "," and draw(st.booleans())
    negate = draw(st.booleans())  # the file stores -Z'' (or -phase)
    if kind == "no_header":
        roles = ["frequency", "real", "imag"]
    else:
        roles = ["frequency", *(["real", "imag"] if kind == "re_im" else ["modulus", "phase"])]
        roles += draw(st.lists(st.sampled_from(["other", "modulus", "phase"]), max_size=2))
        roles = draw(st.permutations(roles))
    header = []
    for role in roles:
        minus = role == "imag" and negate and draw(st.booleans())
        header.append(draw(st.sampled_from(NAMES["neg_imag" if minus else role])))
    titles = draw(st.lists(st.sampled_from(TITLES), max_size=3))
    return kind, sep, comma, negate, roles, header, titles


def _render(spec, kind, sep, comma, negate, roles, header, titles) -> str:
    f, z = spec.frequency_hz, spec.z
    phase = np.degrees(np.angle(z))
    columns = {
        "frequency": f,
        "real": z.real,
        "imag": -z.imag if negate else z.imag,
        "modulus": np.abs(z),
        "phase": -phase if negate and kind == "mod_phase" else phase,
        "other": np.arange(f.size, dtype=float),
    }
    if kind == "re_im":  # extra |Z|/phase columns stay consistent with the data
        columns["phase"] = phase
    lines = list(titles)
    if kind != "no_header":
        lines.append(sep.join(header))
    for i in range(f.size):
        cells = [f"{columns[r][i]:.6e}" for r in roles]
        if comma:
            cells = [c.replace(".", ",") for c in cells]
        lines.append(sep.join(cells))
    return "\n".join(lines) + "\n"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layout=layouts(),
    r_b=st.floats(1e2, 1e7),
    n_b=st.floats(0.7, 1.0),
    seed=st.integers(0, 2**16),
)
def test_generated_layouts_read_back_to_the_same_numbers(tmp_path_factory, layout, r_b, n_b, seed):
    """Any column order, separator, decimal mark, header wording, title noise, sign of Z'' and
    |Z|/phase instead of Z'/Z'' reads back to the spectrum written. Tolerance: 7 significant
    digits are written (5e-7 relative); the |Z|/phase route loses up to tan(phase) times the
    phase's rounding, so points are compared within 1e-5 of |Z|."""
    kind, sep, comma, negate, roles, header, titles = layout
    freq = np.logspace(6, -1, 36)
    spec = simulate_spectrum(
        freq, r0=10.0, r_b=r_b, q_b=1e-11, n_b=n_b, q_el=1e-6, n_el=0.8,
        noise=0.002, rng=np.random.default_rng(seed),
    )  # fmt: skip
    text = _render(spec, kind, sep, comma, negate, roles, header, titles)
    path = tmp_path_factory.mktemp("layout") / "spectrum.txt"
    path.write_text(text, encoding="utf-8")
    got = read_spectrum(path)
    np.testing.assert_allclose(got.frequency_hz, spec.frequency_hz, rtol=1e-6)
    assert np.all(np.abs(got.z - spec.z) <= 1e-5 * np.abs(spec.z)), (text[:300], got.notes)
    assert got.imag_sign == ("negated" if negate else "as stored")


# --- refusals --------------------------------------------------------------------------------


def _example_lines(eis_dir: Path) -> list[str]:
    return (eis_dir / "eisfitpython/Example2a.txt").read_text().splitlines()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda ls: [*ls[:20], "garbage,row,here", *ls[20:]], r":21: this line inside the data"),
        (lambda ls: [*ls[:20], " 1.0e3\tnan\t-5.0e3", *ls[20:]], r":21: a value is not a finite"),
        (lambda ls: [*ls[:20], " 1.0e3\t2.0e3", *ls[20:]], r":21: 2 fields where the data"),
        (lambda ls: [*ls[:-1], " 3.0000001e-01\t 2.18"], r":55: 2 fields where the data"),
        (lambda ls: [*ls[:-1], " 3.0000001e-01\t 2.1831467e+05\t-1.5"], None),
        (lambda ls: [*ls, ls[10]], r":56: frequency 164910 Hz is given twice \(also at .*:11\)"),
        (lambda ls: ls[:4] + [ls[4]] * 12, r"frequency .* is given twice"),
    ],
)
def test_a_bad_line_is_named_not_taken_for_the_end_of_the_data(
    eis_dir: Path, tmp_path: Path, edit, message
) -> None:
    path = tmp_path / "edited.txt"
    path.write_text("\n".join(edit(_example_lines(eis_dir))) + "\n")
    if message is None:  # a last row with all its fields is data, even if it looks short
        assert len(read_spectrum(path)) == 51
        return
    with pytest.raises(ValidationError, match=message) as info:
        read_spectrum(path)
    assert "\n" not in str(info.value)


def test_junk_empty_and_oversized_files_are_refused(tmp_path: Path) -> None:
    cases = {
        "binary.dat": (bytes(range(256)) * 40, "is binary, not a text export"),
        "empty.txt": (b"", "is empty"),
        "blank.txt": (b"  \n\n", "is empty"),
        "words.txt": (b"hello\nworld\n", "has no table of numbers"),
        "four.csv": (
            "\n".join(f"{10.0**-i},1,2,3" for i in range(12)).encode(),
            "4 numeric columns and no header",
        ),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValidationError, match=message):
            read_spectrum(tmp_path / name)
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:  # sparse: no disk is used
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ValidationError, match=r"MiB; at most 32 MiB"):
        read_spectrum(big)
    many = tmp_path / "many.csv"
    freq = np.logspace(7, -2, MAX_POINTS + 1)
    np.savetxt(many, np.c_[freq, freq * 0 + 1.0, -freq * 0 - 1.0], delimiter=",", fmt="%.9e")
    with pytest.raises(ValidationError, match=r"100,001 rows; at most 100,000"):
        read_spectrum(many)


def test_a_large_sweep_is_thinned_for_the_fit(tmp_path: Path) -> None:
    freq = np.logspace(6, -1, 20_000)
    spec = simulate_spectrum(
        freq, r0=5.0, r_b=2e5, q_b=3e-11, n_b=0.9, q_el=1e-6, n_el=0.85,
        noise=0.01, rng=np.random.default_rng(1),
    )  # fmt: skip
    fit = fit_spectrum(spec, n_starts=3)
    assert any("20000 points averaged into 500" in n for n in fit.notes)
    assert fit.r_bulk.value == pytest.approx(2e5, rel=0.01)  # averaging keeps the arc
