"""The project's own exception types: every refusal names the file or value and the reason."""
from __future__ import annotations

from pathlib import Path


class XLEError(Exception):
    """Base class for errors the project raises on purpose (as opposed to bugs)."""


class SpectrumError(XLEError):
    """A file cannot become an ACIS imaging spectrum.

    ``path`` names the file, ``reason`` says why in words a user can act on (companion files by name only, never
    a server path). ``missing`` lists the companion files a spectrum needs and does not have ("ARF", "RMF"), so
    that a caller (the upload page, the CLI) can say how to supply them; ``layout`` is the file's layout when it
    was recognised ("csc_pha3", "ogip_pha").
    """

    def __init__(self, path: str | Path, reason: str, missing: tuple[str, ...] = (),
                 layout: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.missing = tuple(missing)
        self.layout = layout
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep every field across a process boundary (ingest reads files in a worker)
        return (type(self), (self.path, self.reason, self.missing, self.layout))


class DataFetchError(XLEError):
    """A data file is neither in the local mirror nor downloadable (or its hash does not match)."""


class ConfigError(XLEError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class DatasetError(XLEError):
    """A dataset folder is missing, incomplete or inconsistent."""
