"""Facts about a recording file: duration, channels, rate, sizes."""

from __future__ import annotations

import os
from dataclasses import dataclass

from recordings.wavio import read_header

__all__ = ["WavInfo", "read_wav_info"]


@dataclass(frozen=True, slots=True)
class WavInfo:
    """``header_ok`` is False when the header's data size disagrees with the file."""

    channels: int
    sample_rate: int
    sample_width: int
    frames: int
    duration_s: float
    data_bytes: int
    file_bytes: int
    format_tag: int
    header_ok: bool


def read_wav_info(path: str | os.PathLike[str]) -> WavInfo:
    """Read a WAV header (tolerating a 0 or truncated data size); raises WavFormatError."""
    with open(path, "rb") as f:
        header = read_header(f, os.fstat(f.fileno()).st_size)
    return WavInfo(
        channels=header.channels,
        sample_rate=header.sample_rate,
        sample_width=header.sample_width,
        frames=header.frames,
        duration_s=header.duration_s,
        data_bytes=header.data_bytes,
        file_bytes=header.file_bytes,
        format_tag=header.format_tag,
        header_ok=not header.repaired,
    )
