"""WAV fixtures for the recordings tests (stdlib wave + numpy)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


def write_wav(path: Path, samples: Samples, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def tone(frames: int, value_base: int) -> Samples:
    """Distinct, recognisable samples: value_base + i (mod a small range)."""
    return (value_base + (np.arange(frames) % 1000)).astype(np.int16)


def read_channels(path: Path) -> tuple[int, int, Samples]:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return w.getnchannels(), w.getframerate(), data.reshape(-1, w.getnchannels())


def zero_sizes(path: Path) -> None:
    """What a killed recorder leaves: RIFF and data sizes of 0 (44-byte header)."""
    with open(path, "r+b") as f:
        f.seek(4)
        f.write(struct.pack("<I", 0))
        f.seek(40)
        f.write(struct.pack("<I", 0))
