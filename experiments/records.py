"""Validated, frozen outcome records: a synthesis attempt, an XRD result, a conductivity.

A record's stored fields are the value columns of its registry table (``SynthesisValues``,
... in :mod:`registry.tables`): a class declares only its own fields (sample, campaign,
correction) and the columns it treats specially; :func:`stores` adds every other column
as a keyword field (default None), so a new column is declared once, in the table.
Storing records (:func:`store_records`, :func:`with_raw_file`) is
:mod:`experiments.record_store`, re-exported here.

Records hold canonical units only (:mod:`experiments.units`: K, h, S/cm, eV, fractions);
``create`` also takes what people type (C, mS/cm, %; ``units.BENCH_INPUTS``) and converts.
A record that cannot be right raises :class:`loop.errors.ValidationError` (or
``CompositionError`` for a formula) with one sentence naming the value; once built it is
immutable. A correction is a new record with ``supersedes_id`` and a ``reason``.

Limits: conductivity in (0, 10] S/cm; temperatures >= 0 K (and below 3000 K, to catch
typing slips); times >= 0 h; XRD weight fractions each in [0, 1] and summing to 1 +- 0.02
when given; lattice parameters in (0, 100) A, angles in (0, 180) deg; activation
energy in (0, 5] eV; relative density in (0, 1].
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, TypeVar

from experiments import plausibility
from experiments.identifiers import check_sample_id, normalise_formula
from experiments.phases import (
    Phase,
    check_phases,
    impurity_fraction,
    is_nasicon_phase,
    parse_phases,
)
from experiments.record_store import OnWritten, StoreOptions, store_records, with_raw_file
from experiments.units import (
    SIGMA_MAX_S_CM,
    SIGMA_NAMES,
    SIGMA_UNITS,
    celsius_to_kelvin,
    check_temperature_k,
    finite,
    from_bench,
    to_s_per_cm,
)
from experiments.units import hours as _hours
from experiments.units import in_range as _in_range
from experiments.units import optional_float as _optional
from experiments.units import text as _text
from loop.errors import ValidationError
from registry import OutcomeWrite
from registry.snapshots import OutcomeKind
from registry.tables import OUTCOME_TABLES, XRD_VERDICTS, column_type, value_columns

__all__ = [
    "ConductivityRecord",
    "OnWritten",
    "OutcomeRecord",
    "Phase",
    "StoreOptions",
    "SynthesisRecord",
    "XRDRecord",
    "celsius_to_kelvin",
    "impurity_fraction",
    "is_nasicon_phase",
    "parse_phases",
    "store_records",
    "to_s_per_cm",
    "with_raw_file",
]

MAX_EA_EV = 5.0
MAX_CELL_A = 100.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
R = TypeVar("R", bound=type)


def _check_type(name: str, value: Any, kind: type) -> Any:
    """A value of a stored column, checked against the column's type (strings stripped)."""
    if value is None:
        return None
    if kind is float:
        return finite(value, name.replace("_", " "))
    if kind is str:
        return _text(value)
    if kind is bool and not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false, not {value!r}")
    if kind is date and not isinstance(value, date):
        raise ValidationError(f"{name} must be a date (YYYY-MM-DD), not {value!r}")
    return value


def stores(kind: OutcomeKind) -> Callable[[R], R]:
    """Class decorator: a frozen dataclass record of ``kind`` with the table's value columns.

    Every value column the class does not declare (as a field or a property) becomes a
    keyword-only field, default None, typed as the table types it.
    """

    def build(cls: R) -> R:
        own = inspect.get_annotations(cls)
        for name in value_columns(kind):
            if name not in own and name not in cls.__dict__:
                own[name] = OUTCOME_TABLES[kind].model_fields[name].annotation
                setattr(cls, name, dataclasses.field(default=None, kw_only=True))
        cls.__annotations__ = own
        cls.KIND = kind  # type: ignore[attr-defined]
        return dataclass(frozen=True)(cls)

    return build


class _Record:
    """What every outcome record shares: column checks, stored values, the registry write."""

    KIND: ClassVar[OutcomeKind]
    sample_id: str
    campaign: str | None
    formula: str | None
    supersedes_id: int | None
    reason: str | None

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_sample(self) -> None:
        """The sample id and, when given, the formula (stored canonical) and campaign."""
        self._set("sample_id", check_sample_id(str(self.sample_id or "")))
        if self.formula is not None:
            self._set("formula", normalise_formula(str(self.formula)))
        self._set("campaign", _text(self.campaign))

    def _check_columns(self) -> None:
        """Every stored column against its type, the raw file's hash, the correction."""
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name in value_columns(self.KIND) and f.name != "phases":
                kind = column_type(self.KIND, f.name)
                self._set(f.name, _check_type(f.name, getattr(self, f.name), kind))
        sha = getattr(self, "raw_sha256", None)
        if sha is not None and not _SHA256.match(sha):
            raise ValidationError(f"raw_sha256 {sha!r} is not a hex SHA-256")
        if self.supersedes_id is not None and not _text(self.reason):
            raise ValidationError(f"a correction of record {self.supersedes_id} needs a --reason")

    def stored(self, name: str) -> Any:
        """The value of column ``name`` as the table stores it."""
        return getattr(self, name)

    def values(self) -> dict[str, Any]:
        """Column values of the stored row (every value column of the table)."""
        return {name: self.stored(name) for name in value_columns(self.KIND)}

    def to_write(self, source: str = "bench", citation: str | None = None) -> OutcomeWrite:
        """The registry write that stores this record."""
        return OutcomeWrite(
            kind=self.KIND,
            sample_id=self.sample_id,
            values=self.values(),
            campaign=self.campaign,
            formula=self.formula,
            proposal_id=getattr(self, "proposal_id", None),
            supersedes_id=self.supersedes_id,
            reason=_text(self.reason),
            source=source,
            citation=citation,
        )


@stores("synthesis")
class SynthesisRecord(_Record):
    """One synthesis attempt of a sample. ``succeeded`` False is a negative label."""

    sample_id: str
    formula: str
    succeeded: bool
    campaign: str | None = None
    proposal_id: int | None = None
    supersedes_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        self._check_sample()
        if not isinstance(self.succeeded, bool):
            raise ValidationError(f"succeeded must be true or false, not {self.succeeded!r}")
        for name in ("calcination_temperature_k", "sintering_temperature_k"):
            self._set(name, check_temperature_k(getattr(self, name), name.replace("_", " ")))
        for name in ("calcination_hours", "sintering_hours"):
            self._set(name, _hours(getattr(self, name), name.replace("_", " ")))
        self._check_columns()
        plausibility.check_not_future(self.synthesized_on, "synthesis date")

    @classmethod
    def create(cls, sample_id: str, formula: str, succeeded: bool, **typed: Any) -> SynthesisRecord:
        """Build from what the bench types: any column by name, or as in
        :data:`~experiments.units.BENCH_INPUTS` (furnace temperatures ``calcination_c`` and
        ``sintering_c`` in degrees Celsius, ...)."""
        return cls(sample_id, formula, succeeded, **from_bench(typed))


@stores("xrd")
class XRDRecord(_Record):
    """A powder XRD result of a sample: phases, verdict, cell (A, deg), fit quality."""

    sample_id: str
    phase_pure: bool | None  # None only for an inconclusive analysis (no label)
    phases: tuple[Phase, ...] = ()
    campaign: str | None = None
    formula: str | None = None  # when given, must be the sample's composition
    supersedes_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        self._check_sample()
        self._check_verdict()
        self._set("phases", tuple(self.phases))
        check_phases(self.phases)
        for name in ("a_a", "b_a", "c_a"):
            what = f"lattice parameter {name[0]}"
            self._set(name, _in_range(getattr(self, name), what, 0, MAX_CELL_A, "A"))
        for name in ("alpha_deg", "beta_deg", "gamma_deg"):
            what = f"cell angle {name[:-4]}"
            self._set(name, _in_range(getattr(self, name), what, 0, 180, "deg"))
        rwp = _optional(self.rwp, "R_wp")
        if rwp is not None and rwp < 0:
            raise ValidationError(f"R_wp {rwp:g} is negative")
        plausibility.check_rwp(rwp)
        self._check_columns()

    @classmethod
    def create(
        cls,
        sample_id: str,
        *,
        phases: Sequence[Phase] | str | None = None,
        phase_pure: bool | None = None,
        impurity_threshold: float = 0.02,
        **typed: Any,
    ) -> XRDRecord:
        """Build a record, deriving ``phase_pure`` from the phases when not given.

        With weight fractions, pure means secondary phases <= ``impurity_threshold``;
        without, pure means only NASICON phases were seen. Other columns as in
        :meth:`SynthesisRecord.create`.

        Raises:
            ValidationError: neither phases nor a verdict, or a verdict of pure that the
                quantified secondary phases contradict.
        """
        parsed = parse_phases(phases) if isinstance(phases, str) else tuple(phases or ())
        check_phases(parsed)
        impurity = impurity_fraction(parsed)
        if phase_pure is None:
            if not parsed:
                raise ValidationError(
                    "give the phases seen (--phase) or the verdict (--phase-pure)"
                )
            if impurity is not None:
                phase_pure = impurity <= impurity_threshold
            else:
                phase_pure = all(p.is_nasicon for p in parsed)
        elif phase_pure and impurity is not None and impurity > impurity_threshold:
            raise ValidationError(
                f"phase pure contradicts {impurity:.1%} secondary phases "
                f"(threshold {impurity_threshold:.1%})"
            )
        return cls(sample_id, phase_pure, parsed, **from_bench(typed))

    def _check_verdict(self) -> None:
        verdict = self.verdict
        if verdict is not None and verdict not in XRD_VERDICTS:
            raise ValidationError(
                f"unknown XRD verdict {verdict!r}; known: {', '.join(XRD_VERDICTS)}"
            )
        if self.phase_pure is None:
            if verdict != "inconclusive":
                raise ValidationError(
                    "phase_pure must be true or false (or the pattern inconclusive)"
                )
            return
        if not isinstance(self.phase_pure, bool):
            raise ValidationError(f"phase_pure must be true or false, not {self.phase_pure!r}")
        if verdict is not None and self.phase_pure != (verdict == "phase_pure"):
            raise ValidationError(
                f"phase_pure {str(self.phase_pure).lower()} contradicts the verdict {verdict}"
            )

    @property
    def impurity_fraction(self) -> float | None:
        """Weight fraction of the secondary (non-NASICON) phases, when quantified."""
        return impurity_fraction(self.phases)

    def stored(self, name: str) -> Any:
        """The value of column ``name`` as stored (phases as JSON, None when none)."""
        if name == "phases":
            phases = [{"name": p.name, "weight_fraction": p.weight_fraction} for p in self.phases]
            return phases or None
        return getattr(self, name)


@stores("conductivity")
class ConductivityRecord(_Record):
    """Ionic conductivity of a sample (S/cm) at a measurement temperature (K)."""

    sample_id: str
    temperature_k: float
    campaign: str | None = None
    formula: str | None = None
    supersedes_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        self._check_sample()
        for name, what in SIGMA_NAMES.items():
            value = _optional(getattr(self, name), what)
            if value is not None and not 0 < value:
                raise ValidationError(
                    f"{what} {value:g} S/cm is outside (0, {SIGMA_MAX_S_CM:g}) S/cm"
                )
            if value is not None:
                plausibility.check_sigma(value, what)
            self._set(name, value)
        plausibility.check_series(self.sigma_total_s_cm, self.sigma_bulk_s_cm, self.sigma_gb_s_cm)
        if all(getattr(self, name) is None for name in SIGMA_NAMES):
            raise ValidationError("give at least one conductivity (total, bulk or grain boundary)")
        if self.temperature_k is None:
            raise ValidationError("give the measurement temperature")
        temperature = check_temperature_k(self.temperature_k, "measurement temperature")
        self._set("temperature_k", temperature)
        ea = _optional(self.ea_ev, "activation energy")
        if ea is not None and not 0 < ea <= MAX_EA_EV:
            raise ValidationError(f"activation energy {ea:g} eV is not in (0, {MAX_EA_EV:g}] eV")
        rho = _optional(self.relative_density, "relative density")
        if rho is not None and not 0 < rho <= 1:
            raise ValidationError(f"relative density {rho:g} is not a fraction in (0, 1]")
        ccd = _optional(self.ccd_ma_cm2, "critical current density")
        if ccd is not None and ccd < 0:
            raise ValidationError(f"critical current density {ccd:g} mA/cm2 is negative")
        self._check_columns()

    @classmethod
    def create(
        cls, sample_id: str, *, unit: str | None = None, **typed: Any
    ) -> ConductivityRecord:
        """Build from bench units: conductivities ``sigma_total`` / ``sigma_bulk`` /
        ``sigma_gb`` in ``unit`` (S/cm or mS/cm), temperature ``temperature_c`` or
        ``temperature_k`` (25 C when neither is given), density ``relative_density_pct`` or
        ``relative_density``; other columns as in :meth:`SynthesisRecord.create`.

        Raises:
            ValidationError: an unknown unit, a value given twice, or a value out of range.
        """
        unit = plausibility.sigma_unit(typed, unit)
        if unit.strip() not in SIGMA_UNITS:
            raise ValidationError(f"conductivity unit {unit!r} is not S/cm or mS/cm")
        columns = from_bench(typed, sigma_unit=unit)
        columns.setdefault("temperature_k", celsius_to_kelvin(25.0))
        return cls(sample_id, **columns)


OutcomeRecord = SynthesisRecord | XRDRecord | ConductivityRecord
