"""``import made``: the 32 NASICONs reported as made become positive experimental labels with
their provenance, idempotent; a bad file stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_fixtures import *  # noqa: F403  (the registry fixture)
from registry_fixtures import row_counts

from experiments.importers.made import (
    CAMPAIGN,
    MadeCompositionsError,
    import_made,
    read_made_compositions,
)
from experiments.labels import experimental_labels
from loop.chemistry import parse_nasicon
from loop.errors import DataMissingError, ValidationError
from registry import Registry


@pytest.fixture(scope="module")
def made_json(shared_dir: Path) -> Path:
    return shared_dir / "data" / "experimental" / "ouyang2021_made_compositions.json"


def test_made_compositions_become_positive_labels_with_provenance(
    registry: Registry, made_json: Path
) -> None:
    lists = read_made_compositions(made_json)
    formulas = [*lists["reported_exp_comps"], *lists["new_exp_comps"]]
    assert (len(lists["reported_exp_comps"]), len(lists["new_exp_comps"])) == (27, 5)
    report = import_made(registry, made_json)
    assert report.added == {"synthesis": 32, "xrd": 32}
    labels = experimental_labels(registry).set_index("formula")["label"]
    assert labels.to_dict() == {parse_nasicon(f).formula: 1 for f in formulas}
    with registry.unit_of_work(write=False) as uow:
        history = uow.samples.history("new:Na3HfZrSi2PO12", CAMPAIGN)
    assert history.sample.source == "literature" and "Ouyang" in history.sample.citation
    assert {r.kind for r in history.records} == {"synthesis", "xrd"}
    again = import_made(registry, made_json)
    assert not again.changed_anything and "nothing changed" in again.summary()


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, DataMissingError, "not found"),
        ("not json", ValidationError, "is not a JSON file"),
        ('{"other": []}', ValidationError, "holds neither reported_exp_comps"),
        ('{"reported_exp_comps": "NaZr2(PO4)3"}', ValidationError, "must be a list"),
        ('{"reported_exp_comps": []}', ValidationError, "lists no compositions"),
        (
            '{"reported_exp_comps": ["NaZr2(PO4)3", "Na9Zr2(PO4)3", "NaZr2(PO4)3"]}',
            MadeCompositionsError,
            "3 of 3 entries of .* are invalid",
        ),
    ],
)
def test_a_bad_file_stores_nothing(
    sqlite_registry: Registry,
    sqlite_url: str,
    tmp_path: Path,
    content: str | None,
    error: type,
    message: str,
) -> None:
    path = tmp_path / "made.json"
    if content is not None:
        path.write_text(content)
    before = row_counts(sqlite_url)
    with pytest.raises(error, match=message) as info:
        import_made(sqlite_registry, path)
    assert "\n" not in str(info.value)
    assert row_counts(sqlite_url) == before


def test_the_file_is_read_as_written(made_json: Path) -> None:
    assert read_made_compositions(made_json) == {
        k: v for k, v in json.loads(made_json.read_text()).items()
    }
