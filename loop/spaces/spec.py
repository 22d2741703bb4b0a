"""Design-space declarations: typed, validated, serialisable (TOML text in, JSON round trip).

Two kinds of space, told apart by their ``type`` field:

* ``grid`` (:class:`GridSpaceSpec`): an explicit pool of M-site metals, e.g. the 16 metals of
  the DFT data set for ``ouyang-grid``.
* ``doped-host`` (:class:`DopedHostSpaceSpec`): a host cation (Zr) that every composition
  keeps, plus dopants chosen by the entropy-NZSP paper's criteria (Shannon radius within a
  window around the reference ion, valence within a range, named extras).

Both share the site grids:

* M site (2 per formula unit): between ``min_cations`` and ``max_cations`` different metals;
  every amount is n/d per formula unit for one denominator d of ``amount_denominators``
  (``[4, 6]``: quarters or sixths; ``[10]``: steps of 0.1).
* polyanion site (3 per formula unit): up to ``max_centres`` of Si/P/S with amounts n/d, or
  one ``fixed`` mixture such as Si2 P1.
* Na by charge balance, kept when within ``[min, max]`` and a multiple of ``step``
  (``step = 0``: any value).
* constraints: ``include`` (elements every composition holds), ``exclude`` (elements removed
  from the pool) and ``entropy_classes`` (low/medium/high configurational entropy).
"""

from __future__ import annotations

import json
import tomllib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from loop.chemistry.ions import (
    A_SITE_OXIDATION_STATES,
    M_SITE_OXIDATION_STATES,
    Ion,
    shannon_radius_vi,
)
from loop.descriptors.composition_descriptors import ENTROPY_CLASSES
from loop.errors import CompositionError, ConfigError

EntropyClass = Literal["low", "medium", "high"]


class SpaceError(ConfigError):
    """A design space that is invalid, empty or infeasible."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetalSite(_Spec):
    """How many metals share the M site and on which amount grid."""

    min_cations: int = Field(1, ge=1, description="fewest different M-site metals")
    max_cations: int = Field(2, ge=1, le=8, description="most different M-site metals")
    amount_denominators: tuple[int, ...] = Field(
        (4, 6), min_length=1, description="each M amount is n/d per formula unit, one d per row"
    )
    oxidation_states: dict[str, int] = Field(
        default_factory=dict, description="element -> charge overrides of the default table"
    )

    @field_validator("amount_denominators")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 1 or d > 60 for d in v):
            raise ValueError("amount denominators must be integers from 1 to 60")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _order(self) -> MetalSite:
        if self.min_cations > self.max_cations:
            raise ValueError(
                f"min_cations ({self.min_cations}) exceeds max_cations ({self.max_cations})"
            )
        return self


class PolyanionSite(_Spec):
    """Polyanion centres (Si, P, S): a grid of mixtures, or one fixed mixture."""

    centres: tuple[Literal["Si", "P", "S"], ...] = ("Si", "P", "S")
    max_centres: int = Field(2, ge=1, le=3)
    amount_denominators: tuple[int, ...] = Field((4,), min_length=1)
    fixed: dict[Literal["Si", "P", "S"], float] | None = Field(
        None, description="one fixed mixture, e.g. {Si = 2, P = 1}; amounts sum to 3"
    )

    @field_validator("amount_denominators")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 1 or d > 60 for d in v):
            raise ValueError("amount denominators must be integers from 1 to 60")
        return tuple(sorted(set(v)))

    @field_validator("centres")
    @classmethod
    def _distinct(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one polyanion centre is needed")
        order = list(A_SITE_OXIDATION_STATES)
        return tuple(sorted(set(v), key=order.index))

    @field_validator("fixed")
    @classmethod
    def _sums_to_three(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        if any(a <= 0 for a in v.values()):
            raise ValueError("fixed polyanion amounts must be positive")
        if abs(sum(v.values()) - 3.0) > 1e-6:
            raise ValueError(f"fixed polyanion amounts sum to {sum(v.values()):g}, must be 3")
        return v


class SodiumRange(_Spec):
    """Na per formula unit (set by charge balance), its range and grid."""

    min: float = Field(0.0, ge=0.0, le=4.0)
    max: float = Field(4.0, ge=0.0, le=4.0)
    step: float = Field(0.0, ge=0.0, description="Na must be a multiple of step; 0 = any")

    @model_validator(mode="after")
    def _order(self) -> SodiumRange:
        if self.min > self.max:
            raise ValueError(f"sodium min ({self.min:g}) exceeds max ({self.max:g})")
        return self


class Constraints(_Spec):
    """Filters applied on top of the grids."""

    include: tuple[str, ...] = Field((), description="elements every composition must contain")
    exclude: tuple[str, ...] = Field((), description="elements never used")
    entropy_classes: tuple[EntropyClass, ...] = ENTROPY_CLASSES  # type: ignore[assignment]

    @field_validator("entropy_classes")
    @classmethod
    def _nonempty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("entropy_classes must name at least one of low, medium, high")
        return tuple(c for c in ENTROPY_CLASSES if c in v)


def _check_elements(elements: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = [e for e in elements if e not in M_SITE_OXIDATION_STATES]
    if unknown:
        raise ValueError(
            f"{what}: {', '.join(unknown)} not an M-site metal of the ion table "
            f"(known: {', '.join(sorted(M_SITE_OXIDATION_STATES))})"
        )
    return tuple(dict.fromkeys(elements))


class _SpaceSpecBase(_Spec):
    """Fields every space kind shares."""

    type: str
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    metals: MetalSite = MetalSite()
    polyanions: PolyanionSite = PolyanionSite()
    sodium: SodiumRange = SodiumRange()
    constraints: Constraints = Constraints()

    def pool(self) -> tuple[Ion, ...]:
        """The M-site ions this space draws from (after ``exclude``)."""
        raise NotImplementedError

    def required(self) -> tuple[str, ...]:
        """Elements every composition must contain."""
        return self.constraints.include

    def charge_of(self, element: str) -> int:
        """Oxidation state used for ``element`` (default table plus overrides)."""
        return self.metals.oxidation_states.get(element, M_SITE_OXIDATION_STATES[element])

    def to_json(self) -> str:
        """JSON text with a ``type`` field; :func:`space_from_json` reads it back."""
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, text: str) -> SpaceSpec:
        """The spec of a JSON text (any space type, chosen by its ``type`` field)."""
        return space_from_json(text)


class GridSpaceSpec(_SpaceSpecBase):
    """An explicit metal pool on grids (``ouyang-grid`` and most user spaces)."""

    type: Literal["grid"] = "grid"
    pool_elements: tuple[str, ...] = Field(..., alias="pool", min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("pool_elements")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_elements(v, "pool")

    def pool(self) -> tuple[Ion, ...]:
        excluded = set(self.constraints.exclude)
        return tuple(Ion(e, self.charge_of(e)) for e in self.pool_elements if e not in excluded)


class DopantRule(_Spec):
    """The entropy-NZSP paper's dopant criteria (radius match, valence range, extras)."""

    reference: str = Field("Zr", description="radius reference element (default: the host)")
    radius_window_pct: float = Field(
        20.0, ge=0.0, le=200.0, description="|r - r(reference)| / r(reference) limit, percent"
    )
    valence_min: int = Field(2, ge=1, le=8)
    valence_max: int = Field(6, ge=1, le=8)
    candidates: tuple[str, ...] | None = Field(
        None, description="elements to consider (default: every M-site metal of the ion table)"
    )
    extras: tuple[str, ...] = Field((), description="always added, e.g. Nb, Ta")

    @field_validator("candidates", "extras")
    @classmethod
    def _known(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if v is None else _check_elements(v, "dopants")

    @model_validator(mode="after")
    def _order(self) -> DopantRule:
        if self.valence_min > self.valence_max:
            raise ValueError(
                f"valence_min ({self.valence_min}) exceeds valence_max ({self.valence_max})"
            )
        return self


class DopedHostSpaceSpec(_SpaceSpecBase):
    """A host cation kept in every composition plus dopants chosen by rule (``entropy-nzsp``)."""

    type: Literal["doped-host"] = "doped-host"
    host: str = "Zr"
    dopants: DopantRule = DopantRule()

    @field_validator("host")
    @classmethod
    def _known(cls, v: str) -> str:
        return _check_elements((v,), "host")[0]

    def dopant_elements(self) -> tuple[str, ...]:
        """Dopants passing the radius window and valence range, plus extras (minus excluded)."""
        rule = self.dopants
        ref = Ion(rule.reference, self.charge_of(rule.reference))
        try:
            r_ref = shannon_radius_vi(*ref)
            chosen = []
            for el in rule.candidates or tuple(M_SITE_OXIDATION_STATES):
                q = self.charge_of(el)
                if el == self.host or not rule.valence_min <= q <= rule.valence_max:
                    continue
                if (
                    abs(shannon_radius_vi(el, q) - r_ref)
                    <= rule.radius_window_pct / 100 * r_ref + 1e-9
                ):
                    chosen.append(el)
        except CompositionError as exc:
            raise SpaceError(f"space {self.name!r}: {exc}") from exc
        chosen += [e for e in rule.extras if e not in chosen and e != self.host]
        excluded = set(self.constraints.exclude)
        return tuple(e for e in chosen if e not in excluded)

    def pool(self) -> tuple[Ion, ...]:
        if self.host in self.constraints.exclude:
            return ()
        return tuple(Ion(e, self.charge_of(e)) for e in (self.host, *self.dopant_elements()))

    def required(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.host, *self.constraints.include)))


SpaceSpec = Annotated[GridSpaceSpec | DopedHostSpaceSpec, Field(discriminator="type")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(SpaceSpec)
SPACE_TYPES: tuple[str, ...] = ("grid", "doped-host")


def _first_error(exc: PydanticValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def space_from_dict(data: dict[str, Any], source: str = "space") -> SpaceSpec:
    """Validate a mapping into a space spec.

    Raises:
        SpaceError: unknown ``type``, a missing or invalid field (named in the message).
    """
    if "type" not in data:
        raise SpaceError(f"{source}: missing 'type' (one of {', '.join(SPACE_TYPES)})")
    if data["type"] not in SPACE_TYPES:
        raise SpaceError(
            f"{source}: unknown space type {data['type']!r} (one of {', '.join(SPACE_TYPES)})"
        )
    try:
        return _ADAPTER.validate_python(data)
    except PydanticValidationError as exc:
        raise SpaceError(f"{source}: invalid {_first_error(exc)}") from exc


def space_from_json(text: str) -> SpaceSpec:
    """A space spec from the JSON of :meth:`to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpaceError(f"space JSON is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SpaceError("space JSON must be an object with a 'type' field")
    return space_from_dict(data, "space JSON")


def space_from_toml_text(text: str, source: str = "space TOML") -> SpaceSpec:
    """A space spec from TOML text (the format of the built-in spaces); ``source`` names
    where the text came from in messages (e.g. the file's path).

    Raises:
        SpaceError: not TOML, or an invalid field.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"{source} is not valid TOML: {exc}") from exc
    return space_from_dict(data, source)
