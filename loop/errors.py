"""Domain exceptions: every user-facing failure is one of these, with a one-line message.

The CLI turns any :class:`NasiconError` into ``error: <message>`` on stderr and exit code 2.
"""

from __future__ import annotations


class NasiconError(Exception):
    """Base class of every error a user can act on (one specific sentence)."""


class CompositionError(NasiconError, ValueError):
    """A formula that is not a valid NASICON composition."""


class DescriptorError(NasiconError, ValueError):
    """Descriptors cannot be computed for this input."""


class DataMissingError(NasiconError, FileNotFoundError):
    """A data file or folder the command needs is not there."""


class ConfigError(NasiconError, ValueError):
    """A configuration file or value is invalid."""


class ValidationError(NasiconError, ValueError):
    """An input record (CSV row, measurement, option) failed validation."""
