"""Raw measurement files -> outcome records: analyse a pattern or spectrum, keep the file.

The glue between the analyses (:mod:`experiments.xrd`, :mod:`experiments.impedance`) and
the registry (:mod:`experiments.records`):

* :func:`xrd_measurement` analyses a powder pattern and builds the :class:`XRDRecord`
  (every reference phase with its weight fraction, the verdict, R_wp, the NASICON cell).
* :func:`conductivity_measurement` fits an impedance spectrum and builds the
  :class:`ConductivityRecord` (total, bulk and, where the fit has one, grain-boundary
  conductivity in S/cm at the measurement temperature).

Storing a measurement (raw file + record in one transaction) and writing its report are
:mod:`experiments.measurement_store`.

The synthesizability label is not set here: it follows from the stored XRD result through
:mod:`experiments.labels`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.files import require_regular_file
from experiments.impedance import (
    Conductivity,
    ImpedanceFit,
    conductivity,
    fit_spectrum,
    read_spectrum,
    resolve_pellet,
)
from experiments.limits import ReadLimits
from experiments.records import (
    ConductivityRecord,
    Phase,
    XRDRecord,
)
from experiments.xrd import Criteria, XRDAnalysis, analyze_pattern
from loop.errors import ValidationError
from loop.progress import ProgressHook, Stages
from registry.raw_files import sha256_file

log = logging.getLogger(__name__)

#: Weight fractions are stored rounded to this many decimals (1 ppm, far below fit accuracy).
FRACTION_DECIMALS = 6
#: Columns of the refined NASICON cell (A, deg) stored with a phase_pure or impure verdict.
CELL_COLUMNS = ("space_group", "a_a", "b_a", "c_a", "alpha_deg", "beta_deg", "gamma_deg")


@dataclass(frozen=True, eq=False)
class XRDMeasurement:
    """An analysed powder pattern and the record it gives (not yet stored)."""

    record: XRDRecord
    analysis: XRDAnalysis
    raw_file: Path
    raw_sha256: str  # of the file as analysed

    kind = "xrd"

    def summary(self) -> dict[str, Any]:
        """Derived numbers, JSON-ready."""
        a = self.analysis
        return {
            "verdict": a.verdict,
            "reason": a.reason,
            "nasicon_fraction": a.nasicon_fraction,
            "phases": [{"name": n, "weight_fraction": w} for n, w in a.phases],
            "phase_pure": self.record.phase_pure,
            "rwp": a.rwp,
            "r_exp": a.r_exp,
            "zero_shift_deg": a.zero_shift,
            "impurity_fraction": self.record.impurity_fraction,
            "impurity_threshold": a.impurity_threshold,
            "space_group": self.record.space_group,
            "a_a": self.record.a_a,
            "c_a": self.record.c_a,
            "analysis_version": a.analysis_version,
        }

    def details(self) -> dict[str, Any]:
        """Everything the analysis reported (for the JSON report next to the PNG)."""
        return self.analysis.to_dict()


@dataclass(frozen=True, eq=False)
class ConductivityMeasurement:
    """A fitted impedance spectrum and the record it gives (not yet stored)."""

    record: ConductivityRecord
    fit: ImpedanceFit
    conductivity: Conductivity
    raw_file: Path
    raw_sha256: str  # of the file as analysed

    kind = "conductivity"

    def summary(self) -> dict[str, Any]:
        """Derived numbers, JSON-ready."""
        fit, rec = self.fit, self.record
        return {
            "sigma_total_s_cm": rec.sigma_total_s_cm,
            "sigma_bulk_s_cm": rec.sigma_bulk_s_cm,
            "sigma_gb_s_cm": rec.sigma_gb_s_cm,
            "sigma_total_sd_s_cm": self.conductivity.sigma_total_sd_s_cm,
            "sigma_bulk_sd_s_cm": self.conductivity.sigma_bulk_sd_s_cm,
            "temperature_k": rec.temperature_k,
            "r_bulk_ohm": fit.r_bulk.value,
            "r_grain_boundary_ohm": None
            if fit.r_grain_boundary is None
            else fit.r_grain_boundary.value,
            "r_total_ohm": fit.r_total.value,
            "circuit": fit.circuit,
            "parameters": {k: v.to_dict() for k, v in fit.parameters.items()},
            "capacitances_f": dict(fit.capacitances_f),
            "residual_rms": fit.residual_rms,
            "thickness_mm": self.conductivity.thickness_mm,
            "area_cm2": self.conductivity.area_cm2,
            "analysis_version": rec.analysis_version,
        }

    def details(self) -> dict[str, Any]:
        """Everything the fit reported (for the JSON report next to the PNG)."""
        return {"fit": self.fit.to_dict(), "conductivity": self.conductivity.to_dict()}


Measurement = XRDMeasurement | ConductivityMeasurement


def _join_notes(*parts: str | None) -> str:
    return "; ".join(p.strip() for p in parts if p and p.strip())


def xrd_measurement(
    sample_id: str,
    pattern_file: str | Path,
    *,
    wavelength_a: float,
    impurity_threshold: float,
    composition: str | None = None,
    notes: str | None = None,
    criteria: Criteria | None = None,
    reference_dir: str | Path | None = None,
    limits: ReadLimits | None = None,
    progress: ProgressHook | None = None,
    **record_fields: Any,
) -> XRDMeasurement:
    """Analyse ``pattern_file`` and build the XRD record of ``sample_id``.

    ``composition`` decorates the NASICON reference (give the sample's formula);
    ``wavelength_a`` in A; ``impurity_threshold`` is the weight fraction above which a
    secondary phase makes the pattern not phase pure; ``criteria`` the other thresholds of
    the verdict and ``reference_dir`` the user's CIFs (the ``[xrd]`` settings); ``limits`` the
    largest pattern read (``[limits]``), ``progress`` receives the analysis stages. The record holds
    every reference phase with its weight fraction, R_wp (%), the refined NASICON cell (A,
    when NASICON is present) and the analysis version; ``record_fields`` go to the record
    (campaign, formula, supersedes_id, reason).

    Raises:
        DataMissingError / ValidationError: unreadable, empty or invalid pattern.
        CompositionError: ``composition`` does not decorate the NASICON prototype.
    """
    path = Path(pattern_file)
    digest = digest_raw_file(path)
    analysis = analyze_pattern(
        path,
        wavelength_a=wavelength_a,
        impurity_threshold=impurity_threshold,
        composition=composition,
        criteria=criteria,
        reference_dir=reference_dir,
        limits=limits,
        progress=progress,
    )
    phases = tuple(Phase(n, round(w, FRACTION_DECIMALS)) for n, w in analysis.phases)
    cell: dict[str, Any] = {}
    if analysis.nasicon_cell and analysis.verdict in ("phase_pure", "impure"):
        refined = analysis.nasicon_cell
        cell = {k: refined.get(k) for k in CELL_COLUMNS if refined.get(k) is not None}
    shift, r_exp = analysis.zero_shift, analysis.r_exp
    what = (
        f"{analysis.analysis_version}: "
        + (f"zero shift {shift:+.4f} deg, " if shift is not None else "")
        + (f"R_exp {r_exp:.2f} %, " if r_exp is not None else "")
        + f"wavelength {analysis.wavelength_a:g} A, threshold {analysis.impurity_threshold:g}, "
        f"reference {composition or 'Na3Zr2Si2PO12'}"
    )
    # The stored verdict is the analysis's: phase_pure and impure carry phases and a
    # label, no_nasicon is a failed synthesis (phase_pure false, no NASICON fraction),
    # inconclusive asks for a person (phase_pure unknown, no label). The constructor, not
    # XRDRecord.create, so that a summed impurity slightly above the threshold is stored as
    # measured: the label rule decides on the sum.
    pure = None if analysis.verdict == "inconclusive" else analysis.phase_pure
    record = XRDRecord(
        sample_id,
        pure,
        phases,
        rwp=analysis.rwp,
        analysis_version=analysis.analysis_version,
        notes=_join_notes(notes, what),
        verdict=analysis.verdict,
        verdict_reason=analysis.reason,
        **cell,
        **record_fields,
    )
    return XRDMeasurement(record, analysis, path, digest)


def conductivity_measurement(
    sample_id: str,
    spectrum_file: str | Path,
    *,
    thickness_mm: float | None = None,
    area_cm2: float | None = None,
    temperature_c: float | None = None,
    temperature_k: float | None = None,
    notes: str | None = None,
    f_min_hz: float | None = None,
    f_max_hz: float | None = None,
    limits: ReadLimits | None = None,
    progress: ProgressHook | None = None,
    **record_fields: Any,
) -> ConductivityMeasurement:
    """Fit ``spectrum_file`` and build the conductivity record of ``sample_id``.

    sigma = L / (R A) in S/cm from the pellet thickness (mm) and electrode area (cm^2), each
    the caller's value when given, else the one the file states (where each came from is
    kept in the notes); only points with ``f_min_hz`` <= f <= ``f_max_hz`` are fitted;
    total from R_b + R_gb, bulk from R_b, grain boundary from R_gb when the fit resolves
    one. The measurement temperature is in C or K (25 C when neither is given).
    ``record_fields`` go to the record (ea_ev, relative_density, campaign, ...). ``limits``
    bound the file's bytes and points (``[limits]``); ``progress`` receives the rows read
    (bar "eis-read") and the fit (bar "eis-fit").

    Raises:
        DataMissingError / ValidationError: unreadable or empty file, fewer than 10
            points, more than ``limits``, thickness or area not > 0, both temperatures given.
        FitDidNotConvergeError: the circuit fit did not converge or misses the data.
    """
    if temperature_c is not None and temperature_k is not None:
        raise ValidationError("give the measurement temperature in C or in K, not both")
    path = Path(spectrum_file)
    digest = digest_raw_file(path)
    spectrum = read_spectrum(path, limits=limits, progress=progress)
    pellet = resolve_pellet(spectrum.geometry, thickness_mm, area_cm2, str(path))
    thickness_mm, area_cm2 = pellet.thickness_mm, pellet.area_cm2
    t_c = (
        temperature_c
        if temperature_k is None
        else float(temperature_k) - 273.15  # the fit only labels its plot with it
    )
    stages = Stages(progress, "eis-fit", ["fitting the circuit"])
    fit = fit_spectrum(spectrum, temperature_c=t_c, f_min_hz=f_min_hz, f_max_hz=f_max_hz)
    stages.next()
    cond = conductivity(fit, thickness_mm, area_cm2)
    sigma_gb = None
    if fit.r_grain_boundary is not None and fit.r_grain_boundary.value > 0:
        sigma_gb = (thickness_mm / 10.0) / (fit.r_grain_boundary.value * area_cm2)
    r_parts = [f"R_b {_estimate(fit.r_bulk)} ohm"]
    if fit.r_grain_boundary is not None:
        r_parts.append(f"R_gb {_estimate(fit.r_grain_boundary)} ohm")
    caps = ", ".join(f"{k} {v:.2e} F" for k, v in fit.capacitances_f.items())
    what = (
        f"{fit.analysis_version} {fit.circuit}: {', '.join(r_parts)}; {caps}; "
        f"RMS residual {100 * fit.residual_rms:.2f} % of |Z|; "
        f"pellet {thickness_mm:g} mm ({pellet.thickness_from}), {area_cm2:g} cm2 "
        f"({pellet.area_from})"
    )
    temps = {"temperature_c": temperature_c} if temperature_k is None else {}
    record = ConductivityRecord.create(
        sample_id,
        sigma_total=cond.sigma_total_s_cm,
        sigma_bulk=cond.sigma_bulk_s_cm,
        sigma_gb=sigma_gb,
        unit="S/cm",
        temperature_k=temperature_k,
        analysis_version=f"{fit.analysis_version}+{cond.analysis_version}",
        notes=_join_notes(notes, what),
        **temps,
        **record_fields,
    )
    return ConductivityMeasurement(record, fit, cond, path, digest)


def _estimate(est: Any) -> str:
    return f"{est.value:.4g}" + (f" +- {est.sd:.2g}" if math.isfinite(est.sd) else "")


def digest_raw_file(path: Path) -> str:
    """SHA-256 of the file to be analysed."""
    require_regular_file(path, "raw data file")
    try:
        return sha256_file(path)
    except OSError as exc:
        raise ValidationError(f"cannot read raw data file {path}: {exc.strerror}") from None
