"""Output helpers shared by the command modules: atomic CSV files and fit tables."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table


def write_csv_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` through a temporary file: a whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fit_parameter_table(title: str, parameters: dict[str, Any]) -> Table:
    """Equivalent-circuit parameters (value, standard deviation, unit) as a table."""
    table = Table(title=title)
    table.add_column("parameter")
    table.add_column("value", justify="right")
    table.add_column("sd", justify="right")
    table.add_column("unit")
    for name, est in parameters.items():
        sd = f"{est.sd:.3g}" if math.isfinite(est.sd) else "-"
        table.add_row(name, f"{est.value:.4g}", sd, est.unit)
    return table
