"""The nasicon-loop application: the ``nasicon`` command line, settings loading and wiring.

The layers below it (``flows`` | ``experiments`` | ``registry`` | ``loop``) never import it.
Importing this package is cheap: the command modules import their heavy dependencies
(scikit-learn, prefect, matplotlib, ...) inside the commands that use them, and
``__version__`` is read from the installed metadata on first access.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``__version__``, from the installed package metadata (read on first access)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("nasicon-loop")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
