"""Per-leg mono recordings → one stereo WAV (caller left, agent right).

Theory of operation: each leg was recorded to its own mono 16-bit PCM WAV, started at
its own moment.  The offsets say where each leg starts on the stereo timeline, in
seconds from its origin (usually the earlier recorder start); they are turned into
whole frames with ``round(offset * rate)`` and filled with silence, and the shorter
leg is padded with silence at the end.  Both legs must share one sample rate: they
come from the same conference bridge clock, so a mismatch means a misconfiguration
and is reported (FormatMismatchError) instead of silently resampled.

The output is streamed in chunks (interleaving is byte slicing, done in C) to
``<out>.part`` and renamed into place, so a crash never leaves a half-written file
under the final name.  Inputs with a 0 or truncated header size are read up to what
the file really holds (see wavio.py) and flagged in the result.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from pathlib import Path

from recordings.errors import FormatMismatchError
from recordings.wavio import PCM, PcmReader, WavHeader

__all__ = ["StereoResult", "make_stereo"]

CHUNK_FRAMES = 32_000  # 4 s at 8 kHz; 128 KB of stereo output per write


@dataclass(frozen=True, slots=True)
class StereoResult:
    path: Path
    sample_rate: int
    frames: int
    duration_s: float
    left_frames: int
    right_frames: int
    left_offset_frames: int
    right_offset_frames: int
    left_repaired: bool  # input header disagreed with the file size
    right_repaired: bool


def _check_mono16(header: WavHeader, name: str) -> None:
    if header.format_tag != PCM or header.channels != 1 or header.sample_width != 2:
        raise FormatMismatchError(
            f"{name}: need mono 16-bit PCM, got format {header.format_tag}, "
            f"{header.channels} ch, {header.sample_width * 8} bits"
        )


def _offset_frames(offset_s: float, rate: int, name: str) -> int:
    if not offset_s >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0 seconds, got {offset_s}")
    return round(offset_s * rate)


class _Leg:
    """One input placed on the output timeline: silence, samples, silence."""

    def __init__(self, reader: PcmReader, offset: int) -> None:
        self.reader = reader
        self.start = offset
        self.end = offset + reader.header.frames

    def chunk(self, position: int, frames: int) -> bytearray:
        """``frames`` 16-bit samples of output starting at output frame ``position``."""
        buf = bytearray(frames * 2)
        first, last = max(position, self.start), min(position + frames, self.end)
        if first < last:
            data = self.reader.read_frames(last - first)
            at = (first - position) * 2
            buf[at : at + len(data)] = data  # same length: a short read leaves silence
        return buf


def make_stereo(
    left_wav: str | os.PathLike[str],
    right_wav: str | os.PathLike[str],
    out_wav: str | os.PathLike[str],
    left_offset_s: float = 0.0,
    right_offset_s: float = 0.0,
    *,
    chunk_frames: int = CHUNK_FRAMES,
) -> StereoResult:
    """Interleave two mono 16-bit WAVs into ``out_wav`` (left = caller, right = agent)."""
    out = Path(out_wav)
    partial = out.with_name(out.name + ".part")
    with PcmReader(left_wav) as left_reader, PcmReader(right_wav) as right_reader:
        lh, rh = left_reader.header, right_reader.header
        _check_mono16(lh, "left")
        _check_mono16(rh, "right")
        if lh.sample_rate != rh.sample_rate:
            raise FormatMismatchError(
                f"sample rates differ: left {lh.sample_rate} Hz, right {rh.sample_rate} Hz"
            )
        rate = lh.sample_rate
        left = _Leg(left_reader, _offset_frames(left_offset_s, rate, "left_offset_s"))
        right = _Leg(right_reader, _offset_frames(right_offset_s, rate, "right_offset_s"))
        total = max(left.end, right.end)
        try:
            with wave.open(str(partial), "wb") as w:
                w.setnchannels(2)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.setnframes(total)  # header written once, right the first time
                for position in range(0, total, chunk_frames):
                    n = min(chunk_frames, total - position)
                    lbuf, rbuf = left.chunk(position, n), right.chunk(position, n)
                    frame = bytearray(n * 4)
                    frame[0::4], frame[1::4] = lbuf[0::2], lbuf[1::2]
                    frame[2::4], frame[3::4] = rbuf[0::2], rbuf[1::2]
                    w.writeframesraw(frame)
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return StereoResult(
        path=out,
        sample_rate=rate,
        frames=total,
        duration_s=total / rate,
        left_frames=lh.frames,
        right_frames=rh.frames,
        left_offset_frames=left.start,
        right_offset_frames=right.start,
        left_repaired=lh.repaired,
        right_repaired=rh.repaired,
    )
