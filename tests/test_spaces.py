"""Design spaces: built-in grids, user TOML constraints, exact size, lazy enumeration, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.importers.design_spaces import (
    builtin_space_names,
    load_space,
    load_spec,
    read_space_toml,
)
from experiments.importers.dft import read_dft_dataset
from experiments.importers.literature import read_literature
from loop.chemistry import parse_nasicon
from loop.descriptors import describe
from loop.descriptors.occupancy import batch_from_compositions
from loop.errors import DataMissingError
from loop.spaces import (
    DopedHostSpaceSpec,
    GridSpaceSpec,
    SpaceError,
    build_space,
    concat_batches,
    coverage,
    dft_formulas,
    literature_formulas,
    space_from_dict,
    space_from_json,
    space_from_toml_text,
)

REPO = Path(__file__).resolve().parents[1]
NASICON = str(Path(sys.executable).with_name("nasicon"))
CLI_ENV = {
    "PATH": "/usr/bin:/bin",
    "MPLBACKEND": "Agg",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def enumerate_formulas(space) -> list[str]:
    return [f for chunk in space.chunks(5000) for f in chunk.formulas()]


def small_grid(**overrides) -> dict:
    spec = {
        "type": "grid",
        "name": "small",
        "pool": ["Mg", "Sc", "Ti", "Zr", "Nb"],
        "metals": {"max_cations": 3, "amount_denominators": [4]},
        "polyanions": {"centres": ["Si", "P"], "max_centres": 2, "amount_denominators": [2]},
        "sodium": {"min": 0.0, "max": 4.0, "step": 0.0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


# -- built-in spaces -----------------------------------------------------------------------


def test_builtin_spaces_are_listed_and_load() -> None:
    assert builtin_space_names() == ["ouyang-grid", "entropy-nzsp", "nzsp-sodium-rich"]
    for name in builtin_space_names():
        assert load_space(name).name == name


def test_default_proposal_space_is_sodium_rich_and_holds_the_papers_samples(
    literature_csv: Path,
) -> None:
    from loop.settings import NasiconConfig

    space = load_space(NasiconConfig().proposals.space)
    assert space.name == "nzsp-sodium-rich"
    records = literature_formulas(read_literature(literature_csv))
    assert coverage(space, list(records.values())).n_contained == len(records) == 6
    for batch in space.chunks(200_000):
        assert batch.na.min() >= 3.0 - 1e-9 and batch.na.max() <= 4.0 + 1e-9
        assert (batch.m_amount > 0).sum(1).max() <= 5


def test_ouyang_grid_holds_the_dft_data_set(dft_data_dir: Path) -> None:
    space = load_space("ouyang-grid")
    cov = coverage(space, dft_formulas(read_dft_dataset(dft_data_dir)))
    assert cov.n_total == 3881
    assert cov.fraction >= 0.99, cov.missing[:5]


def test_ouyang_grid_enumeration_is_valid_distinct_and_counted_exactly() -> None:
    space = load_space("ouyang-grid")
    batch = space.all()
    batch.validate()  # M = 2, A = 3, 0 <= Na <= 4, charge balance
    assert len(batch) == space.size == sum(space.breakdown.by_cations.values())
    formulas = batch.formulas()
    assert len(set(formulas)) == len(formulas)
    na = batch.na
    assert np.allclose(na * 2, np.round(na * 2))  # Na in steps of 0.5
    metals = (batch.m_amount > 0).sum(1)
    assert set(np.unique(metals)) == {1, 2}
    assert space.contains(batch).all()


def test_entropy_nzsp_holds_the_four_synthesised_compositions(literature_csv: Path) -> None:
    space = load_space("entropy-nzsp")
    records = literature_formulas(read_literature(literature_csv))
    for label in ("ME1-NZSP", "ME2-NZSP", "HE1-NZSP", "HE2-NZSP"):
        assert coverage(space, [records[label]]).n_contained == 1, label
    batch = batch_from_compositions([parse_nasicon(records[k]) for k in ("ME1-NZSP", "HE1-NZSP")])
    assert list(describe(batch)["entropy_class"]) == ["medium", "high"]


def test_entropy_nzsp_dopants_follow_the_papers_criteria() -> None:
    spec = load_spec("entropy-nzsp")
    assert isinstance(spec, DopedHostSpaceSpec)
    space = build_space(spec)
    from loop.chemistry.ions import shannon_radius_vi

    r_zr = shannon_radius_vi("Zr", 4)
    for ion in space.ions:
        assert 2 <= ion.charge <= 6
        if ion.element not in ("Zr", "Nb", "Ta"):
            assert abs(shannon_radius_vi(*ion) - r_zr) <= 0.2 * r_zr + 1e-9
    elements = {ion.element for ion in space.ions}
    assert {"Ti", "Hf", "Lu", "Ga", "Sc", "Nb", "Ta"} <= elements
    assert not {"La", "Y", "Ca", "Ge", "Al"} & elements  # radius far from Zr4+
    assert space.required == (0,) and space.ions[0].element == "Zr"


def test_entropy_nzsp_size_is_exact_for_a_smaller_cut() -> None:
    spec = load_spec("entropy-nzsp").model_copy(
        update={"metals": load_spec("entropy-nzsp").metals.model_copy(update={"max_cations": 3})}
    )
    space = build_space(spec)
    formulas = enumerate_formulas(space)
    assert len(formulas) == space.size == len(set(formulas))
    assert all("Zr" in f for f in formulas)
    assert all(f.endswith("Si2PO12") for f in formulas)


@pytest.mark.slow
def test_entropy_nzsp_full_enumeration_matches_its_size() -> None:
    space = load_space("entropy-nzsp")
    assert sum(len(chunk) for chunk in space.chunks()) == space.size


def test_chunks_are_bounded_and_share_one_ion_table() -> None:
    space = load_space("entropy-nzsp")
    sizes = []
    for i, chunk in enumerate(space.chunks(10_000)):
        assert len(chunk) <= 10_000
        assert chunk.m_ions is space.table
        assert chunk.m_index.shape[1] == space.width == 5
        sizes.append(len(chunk))
        if i == 30:
            break
    assert sum(sizes) > 100_000  # lazily, without the other 12 million rows
    whole = concat_batches(
        list(build_space(space_from_dict(small_grid())).chunks(50)), space.table, 5
    )
    assert whole.m_index.shape[1] == 5


# -- user spaces: constraints against an independent filter -------------------------------


def _sites(formula: str):
    comp = parse_nasicon(formula)
    return comp, {ion.element for ion, _ in comp.m_site}


def test_user_constraints_equal_filtering_the_unconstrained_space() -> None:
    base = enumerate_formulas(build_space(space_from_dict(small_grid())))
    constrained = space_from_dict(
        small_grid(
            constraints={"include": ["Ti"], "exclude": ["Mg"], "entropy_classes": ["medium"]},
            sodium={"min": 1.0, "max": 3.0},
            metals={"max_cations": 3, "min_cations": 2},
        )
    )
    got = enumerate_formulas(build_space(constrained))
    table = describe(batch_from_compositions([parse_nasicon(f) for f in base]))
    expected = []
    for formula, cls in zip(base, table["entropy_class"], strict=True):
        comp, elements = _sites(formula)
        if (
            "Ti" in elements
            and "Mg" not in elements
            and 1.0 - 1e-9 <= comp.na <= 3.0 + 1e-9
            and len(elements) >= 2
            and cls == "medium"
        ):
            expected.append(formula)
    assert sorted(got) == sorted(expected)
    assert len(got) == build_space(constrained).size > 0


def test_na_step_and_max_cations_constraints() -> None:
    space = build_space(
        space_from_dict(small_grid(sodium={"step": 1.0}, metals={"max_cations": 1}))
    )
    batch = space.all()
    assert np.allclose(batch.na, np.round(batch.na))
    assert ((batch.m_amount > 0).sum(1) == 1).all()
    assert len(batch) == space.size


def test_contains_rejects_compositions_outside_the_space() -> None:
    space = build_space(space_from_dict(small_grid(constraints={"exclude": ["Nb"]})))
    batch = batch_from_compositions(
        [
            parse_nasicon("Na3Zr2Si2PO12"),  # inside
            parse_nasicon("Na2NbMg(PO4)3"),  # Nb is excluded
            parse_nasicon("Na3Zr2Si2PO12".replace("Zr2", "Zr1.5Ti0.5")),  # 1/4 grid: inside
            parse_nasicon("Na3.1Zr1.9Sc0.1Si2PO12"),  # amount 0.1 is off the 1/4 grid
            parse_nasicon("Na2Zr2SiP2O12"),  # polyanion 1:2 is on the 1/2 grid: inside
            parse_nasicon("Na4Zr2Si3O12"),
        ]
    )
    assert space.contains(batch).tolist() == [True, False, True, False, True, True]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=st.lists(
        st.sampled_from(["Mg", "Zn", "Al", "Sc", "Ti", "Zr", "Hf", "Nb", "Ta", "Mo"]),
        min_size=1, max_size=5, unique=True,
    ),
    max_cations=st.integers(1, 3),
    denominators=st.lists(st.sampled_from([1, 2, 3, 4]), min_size=1, max_size=2, unique=True),
    na=st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.sampled_from([2.0, 3.0, 4.0])),
    step=st.sampled_from([0.0, 0.5]),
)  # fmt: skip
def test_size_equals_enumeration_for_random_specs(
    pool, max_cations, denominators, na, step
) -> None:
    data = small_grid(
        pool=pool,
        metals={"max_cations": max_cations, "amount_denominators": denominators},
        sodium={"min": na[0], "max": na[1], "step": step},
    )
    space = build_space(space_from_dict(data), allow_empty=True)
    batches = list(space.chunks(997))
    n = sum(len(b) for b in batches)
    assert n == space.size
    if n:
        whole = concat_batches(batches, space.table, space.width)
        whole.validate()
        assert space.contains(whole).all()
        formulas = whole.formulas()
        assert len(set(formulas)) == n


# -- serialisation -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ouyang-grid", "entropy-nzsp"])
def test_json_round_trip_keeps_the_type(name: str) -> None:
    spec = load_spec(name)
    text = spec.to_json()
    assert json.loads(text)["type"] == spec.type
    again = space_from_json(text)
    assert again == spec and type(again) is type(spec)
    assert type(spec).from_json(text) == spec
    assert build_space(again).size == build_space(spec).size


def test_user_toml_file_loads_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'type = "grid"\nname = "mine"\npool = ["Zr", "Ti"]\n'
        "[metals]\nmax_cations = 2\namount_denominators = [2]\n"
        "[polyanions]\nfixed = { Si = 2.0, P = 1.0 }\n"
        '[constraints]\nentropy_classes = ["low"]\n'
    )
    spec = load_spec(str(path))
    assert isinstance(spec, GridSpaceSpec)
    space = load_space(path)
    assert sorted(enumerate_formulas(space)) == sorted(
        ["Na3Zr2Si2PO12", "Na3Ti2Si2PO12", "Na3TiZrSi2PO12", "Na3Zr1.5Ti0.5Si2PO12",
         "Na3Ti1.5Zr0.5Si2PO12"]
    )  # fmt: skip


# -- bad input: one clear message each -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (small_grid(constraints={"exclude": ["Mg", "Sc", "Ti", "Zr", "Nb"]}), "is empty: no metal"),
        (small_grid(sodium={"min": 3.9, "max": 4.0}, pool=["Nb"]), "is empty: no charge-balanced"),
        (small_grid(constraints={"include": ["Ta"]}), "infeasible: required element(s) Ta"),
        (
            small_grid(
                constraints={"include": ["Mg", "Sc", "Ti", "Zr"]}, metals={"max_cations": 3}
            ),
            "infeasible: 4 required elements but max_cations = 3",
        ),
        (small_grid(metals={"amount_denominators": [60], "max_cations": 8}), "amount vectors"),
    ],
)
def test_empty_or_infeasible_spaces_are_refused(data: dict, message: str) -> None:
    with pytest.raises(SpaceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_space(space_from_dict(data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "pool": ["Zr"]}, "missing 'type'"),
        ({"type": "cubic", "name": "x"}, "unknown space type 'cubic'"),
        (small_grid(pool=["Zr", "Xx"]), "Xx not an M-site metal"),
        (small_grid(metals={"min_cations": 3, "max_cations": 2}), "min_cations (3) exceeds"),
        (small_grid(sodium={"min": 3.0, "max": 1.0}), "sodium min (3) exceeds max (1)"),
        (small_grid(polyanions={"fixed": {"Si": 2.0, "P": 2.0}}), "sum to 4, must be 3"),
        (small_grid(constraints={"entropy_classes": ["huge"]}), "entropy_classes"),
        (small_grid(colour="red"), "colour"),
    ],
)
def test_invalid_specs_name_the_field(data: dict, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space_from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_space_and_missing_file() -> None:
    with pytest.raises(SpaceError, match=r"unknown design space .nope.*ouyang-grid"):
        load_space("nope")
    with pytest.raises(DataMissingError, match=r"missing\.toml does not exist"):
        read_space_toml("missing.toml")
    with pytest.raises(SpaceError, match=r"space TOML is not valid TOML"):
        space_from_toml_text("type = ")
    with pytest.raises(SpaceError, match="not valid JSON"):
        space_from_json("{")


# -- CLI -----------------------------------------------------------------------------------


def run_script(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """The installed ``nasicon`` script, in a bare environment."""
    return subprocess.run(
        [NASICON, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env=CLI_ENV,
    )  # fmt: skip


def test_cli_spaces_list_and_show(dft_data_dir: Path) -> None:
    listed = run_cli(["spaces", "list", "--json"])
    assert listed.code == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["ouyang-grid"]["size"] == load_space("ouyang-grid").size
    assert rows["ouyang-grid"]["dft_coverage"]["fraction"] >= 0.99
    shown = run_cli(["spaces", "show", "entropy-nzsp", "--json"])
    assert shown.code == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert facts["size"] == load_space("entropy-nzsp").size
    labels = ("ME1-NZSP", "ME2-NZSP", "HE1-NZSP", "HE2-NZSP")
    assert all(facts["literature_contained"][k] for k in labels)
    table = run_cli(["spaces", "show", "ouyang-grid"])
    assert table.code == 0 and "100.00% (3881/3881)" in table.stdout
    unknown = run_cli(["spaces", "show", "nope"])
    assert unknown.error_message().startswith("unknown design space 'nope' (built-in: ")


def test_cli_unknown_and_empty_space_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text('type = "grid"\nname = "empty"\npool = ["Nb"]\n[sodium]\nmin = 3.9\n')
    result = run_script("spaces", "show", str(empty))
    assert result.returncode == 2
    assert result.stderr.startswith("error: design space 'empty' is empty: no charge-balanced")
    assert len(result.stderr.strip().splitlines()) == 1
