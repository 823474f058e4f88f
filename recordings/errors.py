"""Errors raised by :mod:`recordings`.

::

    RecordingError               base class
    ├── WavFormatError           not a WAV we can read (no RIFF/fmt/data, unsupported coding)
    ├── FormatMismatchError      two legs that cannot be combined (rate, width, channels)
    ├── NamingError              no safe path can be made (empty call id, naive timestamp)
    └── CompressionError         sox missing, format unsupported, or sox failed
"""

from __future__ import annotations


class RecordingError(Exception):
    """Base class of every error raised by the recordings package."""


class WavFormatError(RecordingError):
    """The file is not a WAV file this package can read."""


class FormatMismatchError(RecordingError):
    """The two legs differ in a way that cannot be combined without resampling."""


class NamingError(RecordingError):
    """A recording path cannot be derived from the given call id or time."""


class CompressionError(RecordingError):
    """Compression could not be done (no sox, unsupported format, sox error)."""
