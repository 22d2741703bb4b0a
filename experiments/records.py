"""Validated, frozen outcome records: a synthesis attempt, an XRD result, a conductivity.

Records hold canonical units only: temperatures in K, times in h, conductivities in
S/cm, activation energies in eV, relative density as a fraction. The ``create``
constructors take what people type (degrees Celsius, mS/cm, density in %) and convert.
A record that cannot be right raises :class:`loop.errors.ValidationError` (or
``CompositionError`` for a formula) with one sentence naming the value; once built it
is immutable. A correction is a new record with ``supersedes_id`` and a ``reason``.

Limits: conductivity in (0, 10] S/cm; temperatures >= 0 K (and below 3000 K, to catch
typing slips); times >= 0 h; XRD weight fractions each in [0, 1] and summing to 1 +- 0.02
when given; lattice parameters in (0, 100) A, angles in (0, 180) deg; activation
energy in (0, 5] eV; relative density in (0, 1].
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from loop.chemistry import parse_nasicon
from loop.errors import ValidationError
from registry import OutcomeWrite, Registry, WriteReport, store_raw_file

ZERO_CELSIUS_K = 273.15
ROOM_TEMPERATURE_K = 298.15
MAX_TEMPERATURE_K = 3000.0
SIGMA_MAX_S_CM = 10.0
#: Accepted conductivity units and the divisor that turns them into S/cm (mS, not MS).
SIGMA_UNITS: dict[str, float] = {"S/cm": 1.0, "mS/cm": 1000.0}
WEIGHT_FRACTION_TOLERANCE = 0.02
MAX_EA_EV = 5.0
MAX_CELL_A = 100.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _finite(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ValidationError(f"{what} must be a finite number, not {value!r}")
    return x


def _optional(value: Any, what: str) -> float | None:
    return None if value is None else _finite(value, what)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def to_s_per_cm(value: float, unit: str) -> float:
    """Convert a conductivity to S/cm.

    Raises:
        ValidationError: ``unit`` is not S/cm or mS/cm.
    """
    divisor = SIGMA_UNITS.get(str(unit).strip())
    if divisor is None:
        raise ValidationError(f"conductivity unit {unit!r} is not S/cm or mS/cm")
    return _finite(value, "conductivity") / divisor


def celsius_to_kelvin(celsius: float) -> float:
    """Degrees Celsius -> kelvin."""
    return _finite(celsius, "temperature") + ZERO_CELSIUS_K


def check_temperature_k(value: float | None, what: str) -> float | None:
    """Validate a temperature in K (None passes).

    Raises:
        ValidationError: below 0 K or implausibly high.
    """
    if value is None:
        return None
    value = _finite(value, what)
    if value < 0:
        raise ValidationError(
            f"{what} {value:g} K ({value - ZERO_CELSIUS_K:g} C) is below absolute zero (0 K)"
        )
    if value > MAX_TEMPERATURE_K:
        raise ValidationError(f"{what} {value:g} K is above {MAX_TEMPERATURE_K:g} K; a typo?")
    return value


def _hours(value: float | None, what: str) -> float | None:
    value = _optional(value, what)
    if value is not None and value < 0:
        raise ValidationError(f"{what} {value:g} h is negative")
    return value


def _sample_id(value: str) -> str:
    text = _text(value)
    if not text:
        raise ValidationError("a sample id is required (e.g. --sample S-042)")
    return text


def _check_correction(supersedes_id: int | None, reason: str | None) -> None:
    if supersedes_id is not None and not _text(reason):
        raise ValidationError(f"a correction of record {supersedes_id} needs a --reason")


@dataclass(frozen=True)
class SynthesisRecord:
    """One synthesis attempt of a sample. ``succeeded`` False is a negative label."""

    sample_id: str
    formula: str
    succeeded: bool
    campaign: str | None = None
    proposal_id: int | None = None
    precursors: str | None = None
    calcination_temperature_k: float | None = None
    calcination_hours: float | None = None
    sintering_temperature_k: float | None = None
    sintering_hours: float | None = None
    atmosphere: str | None = None
    operator: str | None = None
    synthesized_on: date | None = None
    notes: str | None = None
    supersedes_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "sample_id", _sample_id(self.sample_id))
        set_(self, "formula", parse_nasicon(str(self.formula)).formula)
        if not isinstance(self.succeeded, bool):
            raise ValidationError(f"succeeded must be true or false, not {self.succeeded!r}")
        for name in ("calcination_temperature_k", "sintering_temperature_k"):
            set_(self, name, check_temperature_k(getattr(self, name), name.replace("_", " ")))
        for name in ("calcination_hours", "sintering_hours"):
            set_(self, name, _hours(getattr(self, name), name.replace("_", " ")))
        for name in ("precursors", "atmosphere", "operator", "notes", "campaign"):
            set_(self, name, _text(getattr(self, name)))
        _check_correction(self.supersedes_id, self.reason)

    @classmethod
    def create(
        cls,
        sample_id: str,
        formula: str,
        succeeded: bool,
        *,
        calcination_c: float | None = None,
        sintering_c: float | None = None,
        **kwargs: Any,
    ) -> SynthesisRecord:
        """Build from what the bench types: furnace temperatures in degrees Celsius."""
        if calcination_c is not None:
            kwargs["calcination_temperature_k"] = celsius_to_kelvin(calcination_c)
        if sintering_c is not None:
            kwargs["sintering_temperature_k"] = celsius_to_kelvin(sintering_c)
        return cls(sample_id, formula, succeeded, **kwargs)

    def values(self) -> dict[str, Any]:
        """Column values of the stored row."""
        return {
            "succeeded": self.succeeded,
            "precursors": self.precursors,
            "calcination_temperature_k": self.calcination_temperature_k,
            "calcination_hours": self.calcination_hours,
            "sintering_temperature_k": self.sintering_temperature_k,
            "sintering_hours": self.sintering_hours,
            "atmosphere": self.atmosphere,
            "operator": self.operator,
            "synthesized_on": self.synthesized_on,
            "notes": self.notes,
        }

    def to_write(self, source: str = "bench", citation: str | None = None) -> OutcomeWrite:
        """The registry write that stores this record."""
        return OutcomeWrite(
            kind="synthesis",
            sample_id=self.sample_id,
            values=self.values(),
            campaign=self.campaign,
            formula=self.formula,
            proposal_id=self.proposal_id,
            supersedes_id=self.supersedes_id,
            reason=_text(self.reason),
            source=source,
            citation=citation,
        )


@dataclass(frozen=True)
class Phase:
    """A crystalline phase seen by XRD; ``weight_fraction`` None when not quantified."""

    name: str
    weight_fraction: float | None = None

    @property
    def is_nasicon(self) -> bool:
        """Whether this is the target NASICON phase (its name starts with 'NASICON')."""
        return is_nasicon_phase(self.name)


def is_nasicon_phase(name: str) -> bool:
    """The naming convention of the target phase: any name beginning with 'NASICON'."""
    return name.strip().lower().startswith("nasicon")


def parse_phases(text: str | Iterable[str] | None) -> tuple[Phase, ...]:
    """``"NASICON=0.97;ZrO2=0.03"`` or ``["NASICON=0.97", "ZrO2"]`` -> phases.

    Raises:
        ValidationError: a fraction that is not a number or a phase without a name.
    """
    if text is None:
        return ()
    items = text.split(";") if isinstance(text, str) else list(text)
    phases = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, sep, frac = item.partition("=")
        name = name.strip()
        if not name:
            raise ValidationError(f"phase {item!r} has no name (write NAME or NAME=FRACTION)")
        phases.append(Phase(name, _finite(frac, f"weight fraction of {name}") if sep else None))
    return tuple(phases)


def _check_phases(phases: Sequence[Phase]) -> None:
    names = [p.name.lower() for p in phases]
    if len(set(names)) != len(names):
        raise ValidationError("a phase is listed twice")
    known = [p.weight_fraction is not None for p in phases]
    if any(known) and not all(known):
        raise ValidationError("give a weight fraction for every phase or for none")
    if not any(known):
        return
    for p in phases:
        if not 0.0 <= p.weight_fraction <= 1.0:
            raise ValidationError(
                f"weight fraction of {p.name} {p.weight_fraction:g} is not in [0, 1]"
            )
    total = sum(p.weight_fraction for p in phases)
    if abs(total - 1.0) > WEIGHT_FRACTION_TOLERANCE:
        raise ValidationError(
            f"weight fractions sum to {total:.3f}, not 1 +- {WEIGHT_FRACTION_TOLERANCE}"
        )


@dataclass(frozen=True)
class XRDRecord:
    """A powder XRD result of a sample: phases, verdict, cell (A, deg), fit quality."""

    sample_id: str
    phase_pure: bool
    phases: tuple[Phase, ...] = ()
    campaign: str | None = None
    formula: str | None = None  # when given, must be the sample's composition
    space_group: str | None = None
    a_a: float | None = None
    b_a: float | None = None
    c_a: float | None = None
    alpha_deg: float | None = None
    beta_deg: float | None = None
    gamma_deg: float | None = None
    rwp: float | None = None
    notes: str | None = None
    raw_path: str | None = None
    raw_sha256: str | None = None
    analysis_version: str | None = None
    supersedes_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "sample_id", _sample_id(self.sample_id))
        if not isinstance(self.phase_pure, bool):
            raise ValidationError(f"phase_pure must be true or false, not {self.phase_pure!r}")
        set_(self, "phases", tuple(self.phases))
        _check_phases(self.phases)
        if self.formula is not None:
            set_(self, "formula", parse_nasicon(str(self.formula)).formula)
        for name in ("a_a", "b_a", "c_a"):
            v = _optional(getattr(self, name), f"lattice parameter {name[0]}")
            if v is not None and not 0 < v < MAX_CELL_A:
                raise ValidationError(f"lattice parameter {name[0]} = {v:g} A is not in (0, 100) A")
            set_(self, name, v)
        for name in ("alpha_deg", "beta_deg", "gamma_deg"):
            v = _optional(getattr(self, name), f"cell angle {name[:-4]}")
            if v is not None and not 0 < v < 180:
                raise ValidationError(f"cell angle {name[:-4]} = {v:g} deg is not in (0, 180)")
            set_(self, name, v)
        rwp = _optional(self.rwp, "R_wp")
        if rwp is not None and rwp < 0:
            raise ValidationError(f"R_wp {rwp:g} is negative")
        set_(self, "rwp", rwp)
        if self.raw_sha256 is not None and not _SHA256.match(self.raw_sha256):
            raise ValidationError(f"raw_sha256 {self.raw_sha256!r} is not a hex SHA-256")
        for name in ("space_group", "notes", "campaign", "analysis_version", "raw_path"):
            set_(self, name, _text(getattr(self, name)))
        _check_correction(self.supersedes_id, self.reason)

    @classmethod
    def create(
        cls,
        sample_id: str,
        *,
        phases: Sequence[Phase] | str | None = None,
        phase_pure: bool | None = None,
        impurity_threshold: float = 0.02,
        **kwargs: Any,
    ) -> XRDRecord:
        """Build a record, deriving ``phase_pure`` from the phases when not given.

        With weight fractions, pure means secondary phases <= ``impurity_threshold``;
        without, pure means only NASICON phases were seen.

        Raises:
            ValidationError: neither phases nor a verdict, or a verdict of pure that the
                quantified secondary phases contradict.
        """
        parsed = parse_phases(phases) if isinstance(phases, str) else tuple(phases or ())
        _check_phases(parsed)
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
        return cls(sample_id, phase_pure, parsed, **kwargs)

    @property
    def impurity_fraction(self) -> float | None:
        """Weight fraction of the secondary (non-NASICON) phases, when quantified."""
        return impurity_fraction(self.phases)

    def values(self) -> dict[str, Any]:
        """Column values of the stored row."""
        phases = [{"name": p.name, "weight_fraction": p.weight_fraction} for p in self.phases]
        return {
            "phases": phases or None,
            "impurity_fraction": self.impurity_fraction,
            "phase_pure": self.phase_pure,
            "space_group": self.space_group,
            "a_a": self.a_a,
            "b_a": self.b_a,
            "c_a": self.c_a,
            "alpha_deg": self.alpha_deg,
            "beta_deg": self.beta_deg,
            "gamma_deg": self.gamma_deg,
            "rwp": self.rwp,
            "notes": self.notes,
            "raw_path": self.raw_path,
            "raw_sha256": self.raw_sha256,
            "analysis_version": self.analysis_version,
        }

    def to_write(self, source: str = "bench", citation: str | None = None) -> OutcomeWrite:
        """The registry write that stores this record."""
        return OutcomeWrite(
            kind="xrd",
            sample_id=self.sample_id,
            values=self.values(),
            campaign=self.campaign,
            formula=self.formula,
            supersedes_id=self.supersedes_id,
            reason=_text(self.reason),
            source=source,
            citation=citation,
        )


def impurity_fraction(phases: Sequence[Phase]) -> float | None:
    """Summed weight fraction of non-NASICON phases (None unless all are quantified)."""
    if not phases or any(p.weight_fraction is None for p in phases):
        return None
    return float(min(1.0, max(0.0, sum(p.weight_fraction for p in phases if not p.is_nasicon))))


def _sigma(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    value = _finite(value, what)
    if not 0 < value <= SIGMA_MAX_S_CM:
        raise ValidationError(f"{what} {value:g} S/cm is outside (0, {SIGMA_MAX_S_CM:g}] S/cm")
    return value


@dataclass(frozen=True)
class ConductivityRecord:
    """Ionic conductivity of a sample (S/cm) at a measurement temperature (K)."""

    sample_id: str
    temperature_k: float
    sigma_total_s_cm: float | None = None
    sigma_bulk_s_cm: float | None = None
    sigma_gb_s_cm: float | None = None
    ea_ev: float | None = None
    relative_density: float | None = None
    ccd_ma_cm2: float | None = None
    campaign: str | None = None
    formula: str | None = None
    notes: str | None = None
    raw_path: str | None = None
    raw_sha256: str | None = None
    analysis_version: str | None = None
    supersedes_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "sample_id", _sample_id(self.sample_id))
        for name, what in (
            ("sigma_total_s_cm", "total conductivity"),
            ("sigma_bulk_s_cm", "bulk conductivity"),
            ("sigma_gb_s_cm", "grain-boundary conductivity"),
        ):
            set_(self, name, _sigma(getattr(self, name), what))
        if (
            self.sigma_total_s_cm is None
            and self.sigma_bulk_s_cm is None
            and self.sigma_gb_s_cm is None
        ):
            raise ValidationError("give at least one conductivity (total, bulk or grain boundary)")
        if self.temperature_k is None:
            raise ValidationError("give the measurement temperature")
        set_(
            self,
            "temperature_k",
            check_temperature_k(self.temperature_k, "measurement temperature"),
        )
        ea = _optional(self.ea_ev, "activation energy")
        if ea is not None and not 0 < ea <= MAX_EA_EV:
            raise ValidationError(f"activation energy {ea:g} eV is not in (0, {MAX_EA_EV:g}] eV")
        set_(self, "ea_ev", ea)
        rho = _optional(self.relative_density, "relative density")
        if rho is not None and not 0 < rho <= 1:
            raise ValidationError(f"relative density {rho:g} is not a fraction in (0, 1]")
        set_(self, "relative_density", rho)
        ccd = _optional(self.ccd_ma_cm2, "critical current density")
        if ccd is not None and ccd < 0:
            raise ValidationError(f"critical current density {ccd:g} mA/cm2 is negative")
        set_(self, "ccd_ma_cm2", ccd)
        if self.formula is not None:
            set_(self, "formula", parse_nasicon(str(self.formula)).formula)
        if self.raw_sha256 is not None and not _SHA256.match(self.raw_sha256):
            raise ValidationError(f"raw_sha256 {self.raw_sha256!r} is not a hex SHA-256")
        for name in ("notes", "campaign", "analysis_version", "raw_path"):
            set_(self, name, _text(getattr(self, name)))
        _check_correction(self.supersedes_id, self.reason)

    @classmethod
    def create(
        cls,
        sample_id: str,
        *,
        sigma_total: float | None = None,
        sigma_bulk: float | None = None,
        sigma_gb: float | None = None,
        unit: str = "S/cm",
        temperature_c: float | None = None,
        temperature_k: float | None = None,
        relative_density_pct: float | None = None,
        **kwargs: Any,
    ) -> ConductivityRecord:
        """Build from bench units: conductivities in ``unit`` (S/cm or mS/cm), temperature
        in C or K (25 C when neither is given), density in % or as a fraction.

        Raises:
            ValidationError: an unknown unit, both temperatures, or a value out of range.
        """
        if unit.strip() not in SIGMA_UNITS:
            raise ValidationError(f"conductivity unit {unit!r} is not S/cm or mS/cm")
        if temperature_c is not None and temperature_k is not None:
            raise ValidationError("give the measurement temperature in C or in K, not both")
        if temperature_k is None:
            temperature_k = celsius_to_kelvin(25.0 if temperature_c is None else temperature_c)
        if relative_density_pct is not None:
            if kwargs.get("relative_density") is not None:
                raise ValidationError("give the relative density as % or as a fraction, not both")
            kwargs["relative_density"] = _finite(relative_density_pct, "relative density") / 100
        sig: dict[str, float | None] = {}
        for name, what, value in (
            ("sigma_total_s_cm", "total conductivity", sigma_total),
            ("sigma_bulk_s_cm", "bulk conductivity", sigma_bulk),
            ("sigma_gb_s_cm", "grain-boundary conductivity", sigma_gb),
        ):
            sig[name] = None if value is None else to_s_per_cm(value, unit)
            if sig[name] is not None and not 0 < sig[name] <= SIGMA_MAX_S_CM:
                raise ValidationError(
                    f"{what} {float(value):g} {unit.strip()} = {sig[name]:g} S/cm is outside "
                    f"(0, {SIGMA_MAX_S_CM:g}] S/cm"
                )
        return cls(sample_id, temperature_k, **sig, **kwargs)

    def values(self) -> dict[str, Any]:
        """Column values of the stored row."""
        names = (
            "sigma_total_s_cm", "sigma_bulk_s_cm", "sigma_gb_s_cm", "temperature_k", "ea_ev",
            "relative_density", "ccd_ma_cm2", "notes", "raw_path", "raw_sha256",
            "analysis_version",
        )  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def to_write(self, source: str = "bench", citation: str | None = None) -> OutcomeWrite:
        """The registry write that stores this record."""
        return OutcomeWrite(
            kind="conductivity",
            sample_id=self.sample_id,
            values=self.values(),
            campaign=self.campaign,
            formula=self.formula,
            supersedes_id=self.supersedes_id,
            reason=_text(self.reason),
            source=source,
            citation=citation,
        )


OutcomeRecord = SynthesisRecord | XRDRecord | ConductivityRecord


def with_raw_file(
    record: XRDRecord | ConductivityRecord,
    path: str | Path,
    store_dir: str | Path,
    analysis_version: str | None = None,
) -> XRDRecord | ConductivityRecord:
    """Store ``path`` content-addressed under ``store_dir`` and return the record naming it.

    The file is stored before the database transaction (see :mod:`registry.raw_files`).
    """
    stored = store_raw_file(path, store_dir)
    changes: dict[str, Any] = {"raw_path": str(stored.path), "raw_sha256": stored.sha256}
    if analysis_version is not None:
        changes["analysis_version"] = analysis_version
    return dataclasses.replace(record, **changes)


@dataclass(frozen=True)
class StoreOptions:
    """How :func:`store_records` writes: provenance and idempotency."""

    source: str = "bench"
    citation: str | None = None
    skip_identical: bool = False
    create_campaigns: bool = False


def store_records(
    registry: Registry,
    records: Sequence[OutcomeRecord],
    *,
    recorded_by: str,
    options: StoreOptions | None = None,
    dry_run: bool = False,
) -> WriteReport:
    """Store records in one transaction (all or nothing); ``dry_run`` checks, stores nothing.

    Raises:
        registry.RecordErrors: some records were refused (duplicate or unknown sample id,
            a correction of a corrected record, ...); ``problems`` lists them all.
    """
    opts = options or StoreOptions()
    writes = [r.to_write(opts.source, opts.citation) for r in records]
    return registry.run(
        lambda uow: uow.outcomes.write(
            writes,
            recorded_by=recorded_by,
            skip_identical=opts.skip_identical,
            create_campaigns=opts.create_campaigns,
            dry_run=dry_run,
        )
    )
