"""The part of a spectrum that is fitted: a frequency window, and large sweeps thinned out."""

from __future__ import annotations

import dataclasses

import numpy as np

from experiments.impedance.readers import MIN_POINTS, Spectrum
from loop.errors import ValidationError

#: Spectra with more points are averaged in this many log-frequency bins (50 per decade over
#: 10 decades: more than any arc needs, and the fit cost grows with the points).
MAX_FIT_POINTS = 500


def frequency_window(
    spec: Spectrum, f_min_hz: float | None = None, f_max_hz: float | None = None
) -> tuple[Spectrum, str | None]:
    """Points with ``f_min_hz`` <= f <= ``f_max_hz`` (Hz) and a note saying what was kept.

    Raises:
        ValidationError: a bound that is not a positive number, or fewer than 10 points left.
    """
    if f_min_hz is None and f_max_hz is None:
        return spec, None
    for name, value in (("--f-min-hz", f_min_hz), ("--f-max-hz", f_max_hz)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ValidationError(f"{name} must be a positive frequency in Hz, got {value}")
    lo = f_min_hz if f_min_hz is not None else 0.0
    hi = f_max_hz if f_max_hz is not None else np.inf
    keep = (spec.frequency_hz >= lo) & (spec.frequency_hz <= hi)
    n = int(keep.sum())
    if n < MIN_POINTS:
        raise ValidationError(
            f"only {n} points of {spec.source or 'the spectrum'} lie between {lo:g} and "
            f"{hi:g} Hz; at least {MIN_POINTS} are needed"
        )
    window = f"{lo:g} Hz <= f" + ("" if hi == np.inf else f" <= {hi:g} Hz")
    note = f"fitted {n} of {len(spec)} points ({window})"
    return _subset(spec, keep), note


def drop_inductive_end(spec: Spectrum) -> tuple[Spectrum, str | None]:
    """Without the highest-frequency points whose Z'' > 0 (lead inductance, an instrument
    artefact the pellet circuits have no element for), and a note naming them.

    Only the unbroken run at the top of the frequency range is dropped, and only when at least
    10 points remain; positive Z'' elsewhere stays in the fit.
    """
    order = np.argsort(-spec.frequency_hz)
    positive = spec.z_imag[order] > 0
    n_top = int(np.argmin(positive)) if not positive.all() else positive.size
    if n_top == 0 or len(spec) - n_top < MIN_POINTS:
        return spec, None
    keep = np.ones(len(spec), dtype=bool)
    keep[order[:n_top]] = False
    f_low = float(spec.frequency_hz[order[n_top - 1]])
    note = (
        f"{n_top} point{'s' if n_top > 1 else ''} at f >= {f_low:.4g} Hz with Z'' > 0 "
        "(inductive artefact) left out of the fit"
    )
    return _subset(spec, keep), note


def thin_out(spec: Spectrum, max_points: int = MAX_FIT_POINTS) -> tuple[Spectrum, str | None]:
    """Above ``max_points`` points, complex Z averaged in equal log-frequency bins.

    The bin frequency is the geometric mean of the frequencies averaged. Returns the spectrum
    unchanged (and no note) when it is small enough.
    """
    n = len(spec)
    if n <= max_points:
        return spec, None
    logf = np.log(spec.frequency_hz)
    edges = np.linspace(logf.min(), logf.max(), max_points + 1)
    idx = np.clip(np.searchsorted(edges, logf, side="right") - 1, 0, max_points - 1)
    counts = np.bincount(idx, minlength=max_points)
    used = counts > 0
    mean_logf = np.bincount(idx, weights=logf, minlength=max_points)[used] / counts[used]
    z = spec.z
    zr = np.bincount(idx, weights=z.real, minlength=max_points)[used] / counts[used]
    zi = np.bincount(idx, weights=z.imag, minlength=max_points)[used] / counts[used]
    f = np.exp(mean_logf)
    order = np.argsort(-f)
    thinned = dataclasses.replace(spec, frequency_hz=f[order], z_real=zr[order], z_imag=zi[order])
    return thinned, f"{n} points averaged into {int(used.sum())} log-frequency bins for the fit"


def _subset(spec: Spectrum, keep: np.ndarray) -> Spectrum:
    return dataclasses.replace(
        spec,
        frequency_hz=spec.frequency_hz[keep],
        z_real=spec.z_real[keep],
        z_imag=spec.z_imag[keep],
    )
