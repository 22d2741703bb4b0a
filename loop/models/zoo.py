"""The model registry: every model of the zoo by name, in the declared simplicity order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from loop.errors import ValidationError
from loop.models import (
    decision_tree,
    gnb,
    gradient_boosting,
    gradient_boosting_monotone,
    knn,
    mlp,
    random_forest,
    svm,
    tolerance_factor,
)
from loop.models.spec import ModelSpec

_SPECS: tuple[ModelSpec, ...] = (
    tolerance_factor.PUBLISHED_SPEC,
    tolerance_factor.SPEC,
    gnb.GNB_SPEC,
    gnb.GNB_FULL_SPEC,
    decision_tree.SPEC,
    knn.SPEC,
    svm.SPEC,
    random_forest.SPEC,
    gradient_boosting.SPEC,
    gradient_boosting_monotone.SPEC,
    mlp.SPEC,
)

#: name -> spec, ordered from simplest to most complex (the champion tie-break order).
MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {spec.name: spec for spec in sorted(_SPECS, key=lambda s: s.complexity)}
)
#: Model names, simplest first.
COMPLEXITY_ORDER: tuple[str, ...] = tuple(MODELS)
#: The refitted tolerance factor, whose boundary every retrain reports.
TOLERANCE_FACTOR = tolerance_factor.SPEC.name
#: The fixed published line.
PUBLISHED_TOLERANCE_FACTOR = tolerance_factor.PUBLISHED_SPEC.name


def get_spec(name: str) -> ModelSpec:
    """The spec called ``name``.

    Raises:
        ValidationError: no model of that name (the message lists the known ones).
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValidationError(
            f"unknown model {name!r}; known models: {', '.join(MODELS)}"
        ) from None


def select_specs(names: Iterable[str] | None = None) -> list[ModelSpec]:
    """Specs for ``names`` (all models when None or empty), simplest first, no repeats."""
    wanted = list(names or [])
    if not wanted:
        return list(MODELS.values())
    specs = {get_spec(n).name: get_spec(n) for n in wanted}
    return sorted(specs.values(), key=lambda s: s.complexity)
