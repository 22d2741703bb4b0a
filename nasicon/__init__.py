"""The nasicon-loop application: the ``nasicon`` command line, settings loading and wiring.

The layers below it (``flows`` | ``experiments`` | ``registry`` | ``loop``) never import it.
Importing this package is cheap: the command modules import their heavy dependencies
(scikit-learn, prefect, matplotlib, ...) inside the commands that use them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nasicon-loop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
