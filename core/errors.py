"""The project's own exception types: every refusal names the file or value and the reason."""
from __future__ import annotations

from pathlib import Path


class XLEError(Exception):
    """Base class for errors the project raises on purpose (as opposed to bugs)."""


class SpectrumError(XLEError):
    """A file cannot become an ACIS imaging spectrum.

    ``path`` names the file, ``reason`` says why in words a user can act on.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DataFetchError(XLEError):
    """A data file is neither in the local mirror nor downloadable (or its hash does not match)."""


class ConfigError(XLEError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class DatasetError(XLEError):
    """A dataset folder is missing, incomplete or inconsistent."""
