"""``analyze_pattern``: is NASICON there, and if so, how pure is it? A verdict with a reason.

1. The pattern is read (size limits: :mod:`experiments.limits`) and rebinned to the
   instrument's resolution (:mod:`experiments.xrd.resolution`).
2. NASICON's strongest lines are looked for directly, in its R-3c and C2/c forms
   (:mod:`experiments.xrd.detect`). None of the forms found: ``no_nasicon``, no fit is made
   and no NASICON fraction is reported.
3. Otherwise the form that matches better is fitted with the by-products and the user's
   reference phases (:mod:`experiments.xrd.fit`). An R_wp above ``max_rwp`` or a peak the fit
   leaves unexplained (difference curve, ``residual_sigma`` and ``residual_fraction``) makes
   the verdict ``inconclusive`` (R_wp only when above twice R_exp: noise alone does not make a
   fit inconclusive): a person must look. Else ``impure`` when a secondary phase
   exceeds ``impurity_threshold``, ``phase_pure`` when none does.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from experiments.limits import ReadLimits
from experiments.xrd.background import snip_background
from experiments.xrd.detect import Detection, Peak, detect_form, find_peaks, line_set, noise_model
from experiments.xrd.fit import ProfileFit, fit_profile
from experiments.xrd.nasicon import MONOCLINIC_CELL, PROTOTYPE_A, PROTOTYPE_C, pseudo_hexagonal_cell
from experiments.xrd.readers import Pattern, make_pattern, read_pattern
from experiments.xrd.references import (
    MAIN_PHASE,
    NASICON_FORMS,
    ReferencePhase,
    nasicon_phase,
    reference_phases,
)
from experiments.xrd.reflections import build_reflections
from experiments.xrd.resolution import estimate_fwhm, rebin
from experiments.xrd.result import ANALYSIS_VERSION, VERDICTS, Criteria, XRDAnalysis
from loop.errors import ValidationError
from loop.progress import ProgressHook, Stages

log = logging.getLogger(__name__)

__all__ = ["ANALYSIS_VERSION", "VERDICTS", "Criteria", "XRDAnalysis", "analyze_pattern"]

DEFAULT_WAVELENGTH_A = 1.5406
DEFAULT_IMPURITY_THRESHOLD = 0.02
#: The line test looks at NASICON's lines below this 2theta (deg, Cu Ka): its strongest.
DETECTION_MAX_TWO_THETA = 70.0
#: A high R_wp makes a fit inconclusive only when the noise does not account for it, i.e.
#: R_wp / R_exp exceeds this (a noise-limited fit of a weak pattern explains the pattern).
NOISE_LIMITED_GOF = 2.0
#: C2/c is preferred over R-3c only when its NASICON-only misfit is this much smaller.
MONOCLINIC_GAIN = 0.98
#: The stages reported to a progress hook (bar "xrd"), in order.
STAGES = [
    "reading the pattern",
    "rebinning",
    "background and peaks",
    "looking for NASICON",
    "fitting the profile",
]


def analyze_pattern(
    path_or_arrays: str | Path | Pattern | tuple[np.ndarray, np.ndarray],
    *,
    wavelength_a: float = DEFAULT_WAVELENGTH_A,
    impurity_threshold: float = DEFAULT_IMPURITY_THRESHOLD,
    composition: str | None = None,
    kalpha2_ratio: float | None = None,
    criteria: Criteria | None = None,
    reference_dir: str | Path | None = None,
    limits: ReadLimits | None = None,
    progress: ProgressHook | None = None,
) -> XRDAnalysis:
    """Verdict on a powder pattern; see the module docstring.

    ``path_or_arrays`` is a pattern file, a :class:`Pattern`, or (2theta deg, intensity)
    arrays. ``wavelength_a`` is the (Ka1) wavelength in A; ``kalpha2_ratio`` fixes the Ka2
    component's relative intensity (0: none); None refines it for Cu Ka1 (lab tubes without a
    monochromator give 0.5) and uses none at other wavelengths. ``composition`` decorates the
    NASICON reference (default Na3Zr2Si2PO12). ``criteria`` holds the thresholds (its
    ``impurity_threshold`` is replaced by the argument); ``reference_dir`` a folder of CIFs.
    ``limits`` bound the pattern's bytes and points (default: the ``[limits]`` defaults);
    ``progress`` receives the stages (bar ``"xrd"``: read, rebin, peaks, detect, fit).

    Raises:
        ValidationError / DataMissingError: unreadable or invalid pattern, bad options or a
            bad CIF in ``reference_dir``.
        CompositionError: ``composition`` is not a NASICON formula.
    """
    if not (isinstance(wavelength_a, int | float) and 0.1 < wavelength_a < 5.0):
        raise ValidationError(f"wavelength must be between 0.1 and 5 A, got {wavelength_a}")
    if not 0.0 <= impurity_threshold <= 1.0:
        raise ValidationError(
            f"impurity threshold must be between 0 and 1, got {impurity_threshold}"
        )
    if kalpha2_ratio is not None and not 0.0 <= kalpha2_ratio <= 1.0:
        raise ValidationError(f"Ka2/Ka1 ratio must be between 0 and 1, got {kalpha2_ratio}")
    base = criteria or Criteria()
    crit = Criteria(**{**base.to_dict(), "impurity_threshold": float(impurity_threshold)})
    references = reference_phases(composition, reference_dir)  # validates CIFs and formula
    stages = Stages(progress, "xrd", STAGES)
    pattern = _as_pattern(path_or_arrays, limits)
    stages.next()
    if pattern.wavelength_a and abs(pattern.wavelength_a - wavelength_a) > 1e-3:
        log.warning(
            "%s declares a wavelength of %.5f A but %.5f A is used",
            pattern.source,
            pattern.wavelength_a,
            wavelength_a,
        )
    notes: list[str] = []
    pattern, note = rebin(pattern, estimate_fwhm(pattern.two_theta, pattern.intensity))
    if note:
        notes.append(note)
    stages.next()
    x, y = pattern.two_theta, pattern.intensity
    background = snip_background(x, y)
    noise = noise_model(y, background)
    fwhm = estimate_fwhm(x, y)
    peaks = find_peaks(x, y - background, noise.sigma(y), fwhm)
    stages.next()
    detections = {
        form: _detect(form, composition, peaks, x, y - background, fwhm, crit, wavelength_a)
        for form in NASICON_FORMS
    }
    stages.next()
    found = [d for d in detections.values() if d.present]
    context = _Context(pattern, crit, wavelength_a, composition, references, notes)
    if not found:
        best = max(detections.values(), key=lambda d: sum(c.observed is not None for c in d.lines))
        reason = f"no NASICON: {best.reason}"
        log.info("XRD %s: no_nasicon (%s)", pattern.source, reason)
        if progress is not None:
            progress.finish("xrd")  # no fit to make
        return _without_fit(context, best, background, reason)
    chosen = _choose_form(found, x, y, background, noise, fwhm, composition, wavelength_a)
    phases = [nasicon_phase(composition, chosen.form), *references[1:]]
    fit = fit_profile(
        x,
        y,
        phases,
        wavelength_a=wavelength_a,
        kalpha2_ratio=kalpha2_ratio,
        main_scales=chosen.scales,
        noise=noise,
    )
    result = _with_fit(context, chosen, phases, fit, fwhm)
    stages.next()
    return result


class _Context:
    def __init__(self, pattern, crit, wavelength, composition, references, notes) -> None:
        self.pattern, self.crit, self.wavelength = pattern, crit, wavelength
        self.composition, self.references, self.notes = composition, references, notes


def _reflections(phase: ReferencePhase, top_two_theta: float, wavelength: float):
    d_min = wavelength / (2.0 * np.sin(np.radians(min(top_two_theta, 170.0) / 2.0)))
    return build_reflections(
        phase.structure, d_min_a=d_min * phase.scale_bounds[0], scale_mode=phase.scale_mode
    )


def _detect(form, composition, peaks, x, net, fwhm, crit: Criteria, wavelength) -> Detection:
    phase = nasicon_phase(composition, form)
    top = min(float(x.max()), DETECTION_MAX_TWO_THETA * DEFAULT_WAVELENGTH_A / wavelength)
    refl = _reflections(phase, top, wavelength)
    mid = np.full(refl.n_scales, 0.5 * sum(phase.scale_bounds))
    x_range = (float(x[0]), min(float(x[-1]), top))
    lines = line_set(refl, mid, wavelength, x_range, fwhm)
    return detect_form(
        form, lines, phase.scale_bounds, peaks, fwhm, crit.detection_sigma, (x, net), x_range
    )


def _choose_form(found, x, y, background, noise, fwhm, composition, wavelength) -> Detection:
    """The detected form whose NASICON-only profile misfits the pattern least."""
    if len(found) == 1:
        return found[0]
    from experiments.xrd.model import Model, profile_vector

    costs = {}
    for det in found:
        phase = nasicon_phase(composition, det.form)
        refl = _reflections(phase, float(x.max()) + 1.0, wavelength)
        model = Model(x, y - background, 1.0 / noise.sigma(y), np.ones((x.size, 1)), [phase],
                      [refl], wavelength)  # fmt: skip
        col = model.phase_profile(0, det.scales, profile_vector(det.zero_offset, fwhm))
        costs[det.form] = model.cost(col[:, None])
    mono = costs.get("C2/c", np.inf) < MONOCLINIC_GAIN * costs.get("R-3c", np.inf)
    return next(d for d in found if d.form == ("C2/c" if mono else "R-3c"))


def _without_fit(ctx: _Context, det: Detection, background, reason: str) -> XRDAnalysis:
    p = ctx.pattern
    return XRDAnalysis(
        verdict="no_nasicon",
        reason=reason,
        phases=(),
        weight_fraction_sd={},
        fitted_phases=(),
        nasicon_form=None,
        nasicon_cell=None,
        nasicon_lines=det.lines,
        unexplained_peaks=(),
        rwp=None,
        r_exp=None,
        zero_shift=None,
        kalpha2_ratio=None,
        cell_scales={},
        criteria=ctx.crit,
        wavelength_a=float(ctx.wavelength),
        composition=ctx.composition,
        approximate_phases=(),
        source=p.source,
        two_theta=p.two_theta,
        observed=p.intensity,
        calculated=background,
        background=background,
        phase_curves={},
        peak_positions={f"{MAIN_PHASE} {det.form} (expected)": _expected(det)},
        notes=tuple(ctx.notes),
    )


def _expected(det: Detection) -> np.ndarray:
    return np.array(sorted(c.two_theta + det.zero_offset for c in det.lines))


def _with_fit(ctx: _Context, det: Detection, phases, fit: ProfileFit, fwhm: float) -> XRDAnalysis:
    p, crit = ctx.pattern, ctx.crit
    names = fit.phase_names
    fractions = tuple((n, float(w)) for n, w in zip(names, fit.weight_fractions, strict=True))
    nasicon_curve = fit.phase_curves[:, 0]
    residual = find_peaks(p.two_theta, p.intensity - fit.calculated, fit.sigma, fwhm,
                          min_significance=crit.residual_sigma)  # fmt: skip
    floor = crit.residual_fraction * float(nasicon_curve.max())
    unexplained = tuple(pk for pk in residual if pk.height >= floor)
    verdict, reason = _verdict(fractions, fit, unexplained, crit, det)
    cells = dict(zip(names, fit.cell_scales, strict=True))
    cells[MAIN_PHASE], nasicon_cell = _nasicon_cell(det.form, fit.cell_scales[0])
    log.info("XRD %s: %s (%s)", p.source, verdict, reason)
    return XRDAnalysis(
        verdict=verdict,
        reason=reason,
        phases=fractions if verdict in ("phase_pure", "impure") else (),
        weight_fraction_sd={n: float(s) for n, s in zip(names, fit.weight_fraction_sd, strict=True)}
        if verdict in ("phase_pure", "impure")
        else {},
        fitted_phases=fractions,
        nasicon_form=det.form,
        nasicon_cell=nasicon_cell,
        nasicon_lines=det.lines,
        unexplained_peaks=unexplained,
        rwp=fit.rwp,
        r_exp=fit.r_exp,
        zero_shift=fit.zero_shift,
        kalpha2_ratio=fit.kalpha2_ratio,
        cell_scales=cells,
        criteria=crit,
        wavelength_a=float(ctx.wavelength),
        composition=ctx.composition,
        approximate_phases=tuple(ph.name for ph in phases if ph.approximate),
        source=p.source,
        two_theta=p.two_theta,
        observed=p.intensity,
        calculated=fit.calculated,
        background=fit.background,
        phase_curves={n: fit.phase_curves[:, i] for i, n in enumerate(names)},
        peak_positions=dict(zip(names, fit.peak_positions, strict=True)),
        notes=tuple(ctx.notes),
    )


def _verdict(fractions, fit: ProfileFit, unexplained: tuple[Peak, ...], crit: Criteria, det):
    if unexplained:
        where = ", ".join(f"{pk.two_theta:.2f}" for pk in unexplained[:10])
        more = f" and {len(unexplained) - 10} more" if len(unexplained) > 10 else ""
        return "inconclusive", (
            f"NASICON ({det.form}) is there, but the fit leaves {len(unexplained)} peak(s) "
            f"unexplained at {where}{more} deg 2theta (>= {crit.residual_sigma:g} sigma and "
            f">= {crit.residual_fraction:.0%} of the strongest NASICON peak): an unknown phase? "
            "A person should look."
        )
    if fit.rwp > crit.max_rwp and fit.rwp > NOISE_LIMITED_GOF * fit.r_exp:
        return "inconclusive", (
            f"NASICON ({det.form}) is there, but the fit does not explain the pattern: "
            f"R_wp {fit.rwp:.1f} % > {crit.max_rwp:g} % (R_exp {fit.r_exp:.1f} %). "
            "A person should look."
        )
    impurities = {n: w for n, w in fractions if n != MAIN_PHASE and w > crit.impurity_threshold}
    if impurities:
        listed = ", ".join(
            f"{n} {w:.1%}" for n, w in sorted(impurities.items(), key=lambda t: -t[1])
        )
        return "impure", (
            f"NASICON ({det.form}) with secondary phases above {crit.impurity_threshold:.1%}: "
            f"{listed} (R_wp {fit.rwp:.1f} %)"
        )
    return "phase_pure", (
        f"NASICON ({det.form}); no secondary phase above {crit.impurity_threshold:.1%}, "
        f"no unexplained peak (R_wp {fit.rwp:.1f} %)"
    )


def _nasicon_cell(form: str, scales: tuple[float, ...]):
    """(hexagonal-prototype scales a, b, c; refined cell in A and deg with its space group)."""
    if form == "C2/c":
        a0, b0, c0, beta = MONOCLINIC_CELL
        a, b, c = a0 * scales[0], b0 * scales[1], c0 * scales[2]
        a_h, c_h = pseudo_hexagonal_cell(a, b, c)
        cell = {"a_a": a, "b_a": b, "c_a": c, "alpha_deg": 90.0, "beta_deg": beta}
        hexagonal = (a_h / PROTOTYPE_A, a_h / PROTOTYPE_A, c_h / PROTOTYPE_C)
        return hexagonal, {**cell, "gamma_deg": 90.0, "space_group": "C2/c"}
    a, c = PROTOTYPE_A * scales[0], PROTOTYPE_C * scales[2]
    cell = {"a_a": a, "b_a": a, "c_a": c, "alpha_deg": 90.0, "beta_deg": 90.0}
    return tuple(scales), {**cell, "gamma_deg": 120.0, "space_group": "R-3c"}


def is_phase_pure(phases: tuple[tuple[str, float], ...], impurity_threshold: float) -> bool:
    """True when no phase other than NASICON exceeds ``impurity_threshold`` (weight fraction)."""
    return all(w <= impurity_threshold for name, w in phases if name != MAIN_PHASE)


def _as_pattern(
    obj: str | Path | Pattern | tuple[np.ndarray, np.ndarray], limits: ReadLimits | None
) -> Pattern:
    if isinstance(obj, Pattern):
        return make_pattern(
            obj.two_theta, obj.intensity, source=obj.source, wavelength_a=obj.wavelength_a,
            limits=limits,
        )  # fmt: skip
    if isinstance(obj, str | Path):
        return read_pattern(obj, limits=limits)
    try:
        x, y = obj
    except (TypeError, ValueError):
        raise ValidationError(
            "give a pattern file or a pair of (2-theta, intensity) arrays"
        ) from None
    return make_pattern(x, y, source="arrays", limits=limits)
