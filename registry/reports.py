"""Saving report figures: matplotlib Figures from ``loop`` become files under the reports folder.

Each file is written atomically (a temporary file in the same folder, then renamed), so a
reader never sees half a PNG and a failed save leaves no file behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure

log = logging.getLogger(__name__)


def _close(fig: Figure) -> None:
    """Release a figure: pyplot-managed ones are closed, others go with their last reference."""
    if getattr(fig.canvas, "manager", None) is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)


def save_figure(
    fig: Figure, path: str | Path, dpi: float | None = None, *, close: bool = True
) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, e.g. ``.png``) and return the path.

    Args:
        dpi: resolution, dots per inch (None: the figure's own).
        close: release the figure after saving.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi="figure" if dpi is None else dpi)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        if close:
            _close(fig)
    log.info("saved %s", path)
    return path


def save_figures(
    figures: Mapping[str, Figure], directory: str | Path, dpi: float = 130
) -> dict[str, Path]:
    """Save each figure as ``<directory>/<name>.png`` at ``dpi`` (dots per inch), then close
    it; returns name -> path."""
    directory = Path(directory)
    return {name: save_figure(fig, directory / f"{name}.png", dpi) for name, fig in figures.items()}
