"""Features of the conductivity model and the leakage-free groups of its cross-validation.

Features: the engine's numeric descriptors, the mobile-ion radius (``r_mobile_a``,
1.02 A Na+, 0.76 A Li+), ``is_li``, and the amount per formula unit (12 O) of every
M-site element and polyanion centre (``amt_Ti``, ``amt_P``, ...), vectorised over a batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loop.chemistry import A_SITE_IONS
from loop.descriptors import (
    MOBILE_ION_DESCRIPTORS,
    NUMERIC_DESCRIPTORS,
    OccupancyBatch,
    describe_arrays,
    parse_formulas,
)
from loop.errors import CompositionError

#: Descriptor columns every conductivity feature table has (element amounts follow).
BASE_FEATURES: tuple[str, ...] = (*NUMERIC_DESCRIPTORS, *MOBILE_ION_DESCRIPTORS, "is_li")


def element_amounts(batch: OccupancyBatch) -> pd.DataFrame:
    """(N, elements) amount per formula unit of each M-site element and Si/P/S."""
    elements = sorted({ion.element for ion in batch.m_ions.ions})
    col = {el: j for j, el in enumerate(elements)}
    which = np.array([col[ion.element] for ion in batch.m_ions.ions], dtype=np.intp)
    out = np.zeros((len(batch), len(elements)))
    rows = np.repeat(np.arange(len(batch)), batch.m_index.shape[1])
    np.add.at(out, (rows, which[batch.m_index].ravel()), batch.m_amount.ravel())
    frame = pd.DataFrame(out, columns=[f"amt_{el}" for el in elements])
    for j, ion in enumerate(A_SITE_IONS):
        frame[f"amt_{ion.element}"] = batch.a_amount[:, j]
    return frame


def batch_features(batch: OccupancyBatch) -> pd.DataFrame:
    """Conductivity features of a batch: :data:`BASE_FEATURES` then element amounts."""
    arrays = describe_arrays(batch)
    frame = pd.DataFrame({name: arrays[name] for name in BASE_FEATURES if name != "is_li"})
    frame["is_li"] = (batch.mobile_ions() == "Li").astype(float)
    return pd.concat([frame, element_amounts(batch)], axis=1)


def formula_features(formulas: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """(features, mobile ion of each formula).

    Raises:
        CompositionError: a formula the engine refuses (the first one, with its reason).
    """
    parsed = parse_formulas(formulas)
    if parsed.errors:
        _, formula, reason = parsed.errors[0]
        raise CompositionError(reason if formula in reason else f"{formula!r}: {reason}")
    return batch_features(parsed.batch), [c.mobile_ion for c in parsed.compositions]


def purged_splits(
    compositions: Sequence[str], references: Sequence[str], n_splits: int = 5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-papers-out folds, purged of shared compositions: (train, test) row indices.

    Test rows are whole papers (GroupKFold on the reference); every training row whose
    composition also appears in that fold's test rows is dropped, so no paper and no
    composition sits on both sides of a split. (Connected components of the composition <->
    paper graph would be stricter but put most of the data in one group: LATP links most
    papers.)
    """
    from sklearn.model_selection import GroupKFold

    comps = pd.Series(list(compositions)).to_numpy()
    refs = pd.factorize(pd.Series(list(references)))[0]
    n_splits = min(n_splits, int(refs.max(initial=0)) + 1)
    folds = []
    for train, test in GroupKFold(n_splits=n_splits).split(comps, groups=refs):
        keep = ~np.isin(comps[train], comps[test])
        folds.append((train[keep], test))
    return folds
