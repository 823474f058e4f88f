"""A tolerant reader for PCM WAV files (internal; see metadata.py and stereo.py).

Theory of operation: a worker's recorder writes the RIFF and ``data`` sizes when it is
closed, so a worker killed mid-call leaves them at 0 (or a crash may truncate the
file).  The reader walks the chunks, and when the ``data`` size is 0, 0xFFFFFFFF or
larger than what the file holds, it trusts the file size instead (rounded down to
whole frames) and says so in ``WavHeader.repaired``.  It never writes to the file:
rewriting headers is ``wav_repair``'s job.  Reads are chunked so hour-long recordings
never sit in memory.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Self

from recordings.errors import WavFormatError

__all__ = ["PCM", "PcmReader", "WavHeader", "read_header"]

PCM = 1
_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZE = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class WavHeader:
    """What a WAV file holds; ``data_bytes`` is what is really readable."""

    format_tag: int
    channels: int
    sample_rate: int
    sample_width: int  # bytes per sample
    data_offset: int
    data_bytes: int
    declared_data_bytes: int
    file_bytes: int

    @property
    def block_align(self) -> int:
        return self.channels * self.sample_width

    @property
    def frames(self) -> int:
        return self.data_bytes // self.block_align

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def repaired(self) -> bool:
        """True when the header's data size was not what the file holds."""
        return self.declared_data_bytes != self.data_bytes


def _parse_fmt(body: bytes) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise WavFormatError("fmt chunk too short")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first 2 bytes of the sub-format GUID
    if channels < 1 or rate < 1 or bits < 8 or bits % 8:
        raise WavFormatError(f"bad fmt chunk: {channels} ch, {rate} Hz, {bits} bits")
    return tag, channels, rate, bits // 8


def read_header(f: BinaryIO, file_bytes: int) -> WavHeader:
    """Parse the header of an open file; leaves the position unspecified."""
    f.seek(0)
    riff = f.read(12)
    if len(riff) < 12:
        raise WavFormatError(f"file too short for a RIFF header ({file_bytes} bytes)")
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise WavFormatError("not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    position = 12
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise WavFormatError("no data chunk")
        chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        body_start = position + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(f.read(min(size, 64)))
        elif chunk_id == b"data":
            if fmt is None:
                raise WavFormatError("data chunk before fmt chunk")
            tag, channels, rate, width = fmt
            available = max(file_bytes - body_start, 0)
            usable = available if size in (0, _UNKNOWN_SIZE) or size > available else size
            usable -= usable % (channels * width)
            return WavHeader(tag, channels, rate, width, body_start, usable, size, file_bytes)
        position = body_start + size + (size & 1)  # chunks are word-aligned
        f.seek(position)


class PcmReader:
    """Sequential frame reader over a WAV file's data, as raw little-endian bytes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            self.header = read_header(self._file, os.fstat(self._file.fileno()).st_size)
        except BaseException:
            self._file.close()
            raise
        self._file.seek(self.header.data_offset)
        self._left = self.header.data_bytes

    def read_frames(self, frames: int) -> bytes:
        """Up to ``frames`` frames; fewer (or b"") at the end of the data."""
        wanted = min(frames * self.header.block_align, self._left)
        data = self._file.read(wanted)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
