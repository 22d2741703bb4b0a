"""Request models of the API and the record forms: the fields the CLI options name
(``--calcination-c`` is ``calcination_c``), nothing else (``extra="forbid"``).

Text may not hold NUL or unpaired surrogates and has a length limit; ids are positive
32-bit integers; numbers are finite. A field left empty in a form is not given.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _clean(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text may not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode") from None
    return text


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("may not be blank")
    return text.strip()


Text = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_clean)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_clean),
    AfterValidator(_not_blank),
]  # fmt: skip
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class _Common(_In):
    """Fields every record takes: the sample, its campaign, a formula check, notes and a
    correction of an earlier record."""

    sample: Name = Field(description="Sample id (unique in its campaign).")
    campaign: Name | None = Field(None, description="Campaign (default 'default').")
    notes: Text | None = None
    supersedes: Id | None = Field(None, description="Correct this record (new row, old kept).")
    reason: Text | None = Field(None, description="Why (required with supersedes).")


class SynthesisIn(_Common):
    """``nasicon record synthesis``: creates the sample (temperatures in C, stored in K)."""

    succeeded: bool = Field(description="Did the synthesis give a product? (false: failed)")
    formula: Name | None = Field(None, description="Composition as made (new samples).")
    proposal: Id | None = Field(None, description="Queue proposal this sample answers.")
    precursors: Text | None = None
    calcination_c: Number | None = Field(None, description="Calcination temperature, C.")
    calcination_h: Number | None = Field(None, description="Calcination time, h.")
    sintering_c: Number | None = Field(None, description="Sintering temperature, C.")
    sintering_h: Number | None = Field(None, description="Sintering time, h.")
    atmosphere: Text | None = None
    operator: Text | None = Field(None, description="Who made the sample.")
    date: dt.date | None = Field(None, description="Synthesis date, YYYY-MM-DD.")


class _XRDCommon(_Common):
    formula: Name | None = Field(None, description="Check that the sample has this composition.")


class XRDIn(_XRDCommon):
    """``nasicon record xrd`` with typed phases: the label follows from them."""

    phase: list[Name] = Field(
        default_factory=list, max_length=50,
        description="Phases seen, NAME or NAME=WEIGHT_FRACTION (NASICON names the target).",
    )  # fmt: skip
    phase_pure: bool | None = Field(None, description="Verdict (default: from the phases).")
    space_group: Name | None = None
    a: Number | None = Field(None, description="Lattice parameter a, A.")
    b: Number | None = Field(None, description="Lattice parameter b, A.")
    c: Number | None = Field(None, description="Lattice parameter c, A.")
    alpha: Number | None = Field(None, description="Cell angle alpha, deg.")
    beta: Number | None = Field(None, description="Cell angle beta, deg.")
    gamma: Number | None = Field(None, description="Cell angle gamma, deg.")
    rwp: Number | None = Field(None, description="Fit R_wp.")


class XRDFileIn(_XRDCommon):
    """``nasicon record xrd --pattern``: the fields sent with the uploaded pattern."""

    wavelength: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] | None = Field(
        None, description="X-ray wavelength, A (default [xrd] wavelength_a)."
    )
    composition: Name | None = Field(
        None, description="Formula decorating the NASICON reference (default: the sample's)."
    )


class _ConductivityCommon(_Common):
    formula: Name | None = Field(None, description="Check that the sample has this composition.")
    temperature_c: Number | None = Field(None, description="Measurement temperature, C.")
    temperature_k: Number | None = Field(None, description="Measurement temperature, K.")
    ea: Number | None = Field(None, description="Activation energy, eV.")
    density_pct: Number | None = Field(None, description="Relative density, %.")
    ccd: Number | None = Field(None, description="Critical current density, mA/cm2.")


class ConductivityIn(_ConductivityCommon):
    """``nasicon record conductivity`` with typed values."""

    total: Number | None = Field(None, description="Total conductivity, in unit.")
    bulk: Number | None = Field(None, description="Bulk conductivity, in unit.")
    gb: Number | None = Field(None, description="Grain-boundary conductivity, in unit.")
    unit: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="S/cm (default) or mS/cm (stored as S/cm)."
    )


class ConductivityFileIn(_ConductivityCommon):
    """``nasicon record conductivity --eis``: the fields sent with the uploaded spectrum."""

    thickness_mm: Number | None = Field(None, description="Pellet thickness, mm (default: file).")
    area_cm2: Number | None = Field(None, description="Electrode area, cm^2 (default: file).")


class ClaimIn(_In):
    """``nasicon queue claim``: how long the claim holds."""

    hours: Annotated[float, Field(gt=0, le=24 * 365, allow_inf_nan=False)] | None = Field(
        None, description="Claim time, h (default [queue] claim_hours)."
    )


class ReasonIn(_In):
    """Abandon, reject or retract: why."""

    reason: Name = Field(description="Why (kept in the history).")


#: Record kind -> (typed model, model sent with a raw file).
RECORD_MODELS: dict[str, tuple[type[_Common], type[_Common] | None]] = {
    "synthesis": (SynthesisIn, None),
    "xrd": (XRDIn, XRDFileIn),
    "conductivity": (ConductivityIn, ConductivityFileIn),
}


def form_values(fields: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Form fields as a model's input: empty fields dropped, a repeated or list field kept
    as a list, check boxes ("on") as true. Fields the model does not name are kept (and
    refused by ``extra="forbid"``)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        values = [v for v in values if not (isinstance(v, str) and not v.strip())]
        if not values:
            continue
        info = model.model_fields.get(key)
        is_list = info is not None and getattr(info.annotation, "__origin__", None) is list
        if is_list:
            out[key] = [v for item in values for v in str(item).splitlines() if v.strip()]
        else:
            out[key] = values[-1] if len(values) > 1 else values[0]
    return out
