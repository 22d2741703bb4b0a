"""Descriptors of NASICON compositions, vectorised over occupancy arrays.

:func:`describe` is the one entry point that turns a batch (or formula strings) into the
full descriptor table every model and command uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from loop.chemistry.ions import MOBILE_IONS
from loop.descriptors.composition_descriptors import (
    COMPOSITION_DESCRIPTORS,
    DATASET_COLUMNS,
    ENTROPY_DESCRIPTORS,
    composition_descriptors,
    entropy_class,
)
from loop.descriptors.ewald import ewald_ev_per_atom
from loop.descriptors.occupancy import (
    OccupancyBatch,
    ParsedFormulas,
    batch_from_compositions,
    parse_formulas,
)
from loop.descriptors.tolerance_factor import engine_nzsp_ewald, published_accessible, t1, t2

#: Numeric descriptor columns, in output order.
NUMERIC_DESCRIPTORS: tuple[str, ...] = (
    *COMPOSITION_DESCRIPTORS,
    *ENTROPY_DESCRIPTORS,
    "ewald_ev_per_atom",
    "t1",
    "t2",
)
#: Mobile-ion descriptor: Shannon radius (CN VI, A) of the Na-site ion, 1.02 Na+, 0.76 Li+.
#: Not in :data:`NUMERIC_DESCRIPTORS` (the synthesis models' features stay sodium-only).
MOBILE_ION_DESCRIPTORS: tuple[str, ...] = ("r_mobile_a",)
#: Every column of :func:`describe` (numeric, mobile ion, then the two verdict columns).
DESCRIPTOR_COLUMNS: tuple[str, ...] = (
    *NUMERIC_DESCRIPTORS,
    *MOBILE_ION_DESCRIPTORS,
    "entropy_class",
    "tf_accessible",
)
#: Why a Li row has no tolerance-factor verdict (the t1/t2 line was fitted on Na DFT data).
TF_OUT_OF_DOMAIN = "tolerance factor is a sodium model (fitted on Na NASICON DFT data)"


def mobile_ion_radius(mobile_ions: np.ndarray) -> np.ndarray:
    """Shannon radius (CN VI, A) of each row's mobile ion ("Na" or "Li")."""
    ions = np.asarray(mobile_ions, dtype=object)
    return np.where(ions == "Li", MOBILE_IONS["Li"], MOBILE_IONS["Na"]).astype(float)


def tf_in_domain(batch: OccupancyBatch) -> np.ndarray:
    """(N,) True where the tolerance factor applies (sodium rows)."""
    return batch.mobile_ions() == "Na"


def describe_arrays(batch: OccupancyBatch) -> dict[str, np.ndarray]:
    """All numeric descriptors of a batch as arrays (the hot path; no pandas)."""
    out = composition_descriptors(batch)
    ewald = ewald_ev_per_atom(batch)
    out["ewald_ev_per_atom"] = ewald
    out["t1"] = t1(out["n_na"], out["anion_q_std"])
    out["t2"] = t2(ewald, out["x_minus_na"], out["r_std"], engine_nzsp_ewald())
    out["tf_accessible"] = published_accessible(out["t1"], out["t2"])
    out["r_mobile_a"] = mobile_ion_radius(batch.mobile_ions())
    return out


def describe(batch: OccupancyBatch) -> pd.DataFrame:
    """Descriptor table of a batch: :data:`DESCRIPTOR_COLUMNS`, one row per composition."""
    arrays = describe_arrays(batch)
    frame = pd.DataFrame(
        {name: arrays[name] for name in (*NUMERIC_DESCRIPTORS, *MOBILE_ION_DESCRIPTORS)}
    )
    frame["entropy_class"] = entropy_class(arrays["s_mix_r"])
    frame["tf_accessible"] = arrays["tf_accessible"]
    return frame


def describe_formulas(
    formulas: Iterable[str], oxidation_states: Mapping[str, int] | None = None
) -> tuple[pd.DataFrame, ParsedFormulas]:
    """Parse formulas and describe the valid ones; returns (table with 'formula', parse result).

    The table's ``formula`` column is the canonical formula; ``input_row`` is the position of
    the formula in the input. Invalid formulas are in ``parsed.errors``.
    """
    parsed = parse_formulas(formulas, oxidation_states)
    frame = describe(parsed.batch)
    frame.insert(0, "formula", parsed.formulas())
    frame.insert(0, "input_row", parsed.rows)
    return frame, parsed


__all__ = [
    "COMPOSITION_DESCRIPTORS",
    "DATASET_COLUMNS",
    "DESCRIPTOR_COLUMNS",
    "ENTROPY_DESCRIPTORS",
    "MOBILE_ION_DESCRIPTORS",
    "NUMERIC_DESCRIPTORS",
    "TF_OUT_OF_DOMAIN",
    "OccupancyBatch",
    "ParsedFormulas",
    "batch_from_compositions",
    "describe",
    "describe_arrays",
    "describe_formulas",
    "entropy_class",
    "mobile_ion_radius",
    "parse_formulas",
    "tf_in_domain",
]
