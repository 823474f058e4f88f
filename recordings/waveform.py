"""Min/max peaks of a recording's channels, for drawing its waveform.

Theory of operation: the file's frames are cut into `buckets` spans as equal as whole
frames allow (span i is frames ``i*n//buckets`` up to ``(i+1)*n//buckets``) and each
channel's lowest and highest sample in each span is kept, scaled to [-1, 1]. A drawing
of those pairs (a vertical line per bucket from min to max) shows every click and
silence a full-resolution plot would, at a size independent of the call's length.
The file is read one span at a time, so an hour-long call never sits in memory; the
min/max of a span is the C-level `min`/`max` over a strided `array` slice.

Only 16-bit PCM WAV (what the recorders write) is read; anything else is
`WavFormatError`.
"""

from __future__ import annotations

import itertools
import os
import sys
from array import array
from dataclasses import dataclass

from recordings.errors import WavFormatError
from recordings.wavio import PCM, PcmReader

__all__ = ["MAX_BUCKETS", "ChannelPeaks", "Waveform", "bucket_edges", "peaks", "waveform"]

MAX_BUCKETS = 4000
FULL_SCALE = 32768.0


@dataclass(frozen=True, slots=True)
class ChannelPeaks:
    minima: tuple[float, ...]  # per bucket, in [-1, 1]
    maxima: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Waveform:
    sample_rate: int
    frames: int
    channels: tuple[ChannelPeaks, ...]  # in file order: stereo is caller (left), agent

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def bucket_edges(frames: int, buckets: int) -> list[int]:
    """`buckets + 1` frame offsets from 0 to `frames` (fewer buckets than frames: one
    frame each)."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    count = min(buckets, frames) or 1
    return [i * frames // count for i in range(count + 1)]


def peaks(samples: array[int], channels: int) -> tuple[tuple[float, float], ...]:
    """(min, max) of each channel of interleaved 16-bit samples, scaled to [-1, 1];
    (0, 0) for no samples."""
    if len(samples) == 0:
        return tuple((0.0, 0.0) for _ in range(channels))
    return tuple(
        (min(samples[c::channels]) / FULL_SCALE, max(samples[c::channels]) / FULL_SCALE)
        for c in range(channels)
    )


def _samples(raw: bytes) -> array[int]:
    values = array("h")
    values.frombytes(raw)
    if sys.byteorder == "big":  # WAV is little-endian
        values.byteswap()
    return values


def waveform(path: str | os.PathLike[str], buckets: int) -> Waveform:
    """The peaks of a 16-bit PCM WAV in `buckets` spans (at most `MAX_BUCKETS`)."""
    buckets = max(1, min(buckets, MAX_BUCKETS))
    with PcmReader(path) as reader:
        header = reader.header
        if header.format_tag != PCM or header.sample_width != 2:
            raise WavFormatError(
                f"a waveform needs 16-bit PCM, not format {header.format_tag} "
                f"with {8 * header.sample_width}-bit samples"
            )
        channels = header.channels
        minima: list[list[float]] = [[] for _ in range(channels)]
        maxima: list[list[float]] = [[] for _ in range(channels)]
        edges = bucket_edges(header.frames, buckets)
        for start, end in itertools.pairwise(edges):
            pairs = peaks(_samples(reader.read_frames(end - start)), channels)
            for c, (low, high) in enumerate(pairs):
                minima[c].append(low)
                maxima[c].append(high)
    return Waveform(
        header.sample_rate,
        header.frames,
        tuple(ChannelPeaks(tuple(lo), tuple(hi)) for lo, hi in zip(minima, maxima, strict=True)),
    )
