"""Audio assertions for integration tests: read a WAV, find tones, find drop-outs.

* ``read_wav(path)`` -> (samples as float numpy array in [-1, 1], rate); it also
  checks that the header is consistent with the file size (``WavError`` if not).
* ``tone_power(x, rate, freq)``: power of one frequency (the Goertzel bin), normalised
  so a full-scale sine gives ~0.5 regardless of length.
* ``dominant_frequency(x, rate)``: FFT peak (Hz).
* ``dropouts(x, rate, frame_ms=20)``: indexes of silent 20 ms frames between the
  first and the last loud frame (a glitch-free recording of a tone has none).
"""

from __future__ import annotations

import os
import struct
import wave

import numpy as np


class WavError(AssertionError):
    pass


def check_header(path: str) -> None:
    """RIFF/data sizes must match the file (what a killed writer gets wrong)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(44)
    if len(head) < 44 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavError(f"{path}: not a RIFF/WAVE file")
    riff = struct.unpack_from("<I", head, 4)[0]
    if riff != size - 8:
        raise WavError(f"{path}: RIFF size {riff} but file is {size} bytes")
    if head[36:40] == b"data":
        data = struct.unpack_from("<I", head, 40)[0]
        if data != size - 44:
            raise WavError(f"{path}: data size {data} but {size - 44} bytes follow")


def read_wav(path: str, check: bool = True) -> tuple[np.ndarray, int]:
    if check:
        check_header(path)
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise WavError(f"{path}: expected 16-bit samples")
        rate, channels = w.getframerate(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        x = x.reshape(-1, channels)[:, 0]
    return x, rate


def tone_power(x: np.ndarray, rate: int, freq: float) -> float:
    """Power at ``freq`` - the single DFT bin Goertzel computes, vectorised - normalised
    by length so a full-scale sine gives ~0.5 whatever the duration."""
    n = len(x)
    if n == 0:
        return 0.0
    phase = np.exp(-2j * np.pi * freq * np.arange(n) / rate)
    return float(2.0 * np.abs(np.dot(x, phase)) ** 2 / (n * n))


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    if len(x) == 0:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spec[0] = 0.0
    return float(np.argmax(spec) * rate / len(x))


def mostly_tone(x: np.ndarray, rate: int, freq: float, share: float = 0.8) -> bool:
    """At least `share` of the half-second windows are loud and dominated by `freq`.
    Per window, since a looped pcap tone is not phase-continuous over seconds: one DFT bin
    over a whole file of it can fall to nothing although every window holds the tone."""
    n = rate // 2
    windows = [x[i : i + n] for i in range(0, len(x) - n + 1, n)]
    good = [
        w
        for w in windows
        if abs(dominant_frequency(w, rate) - freq) < 15 and tone_power(w, rate, freq) > 1e-3
    ]
    return bool(windows) and len(good) >= share * len(windows)


def frame_rms(x: np.ndarray, rate: int, frame_ms: int = 20) -> np.ndarray:
    n = rate * frame_ms // 1000
    frames = len(x) // n
    if frames == 0:
        return np.zeros(0)
    return np.sqrt(np.mean(x[: frames * n].reshape(frames, n) ** 2, axis=1))


def loud_span(
    x: np.ndarray, rate: int, threshold: float = 0.02, frame_ms: int = 20
) -> tuple[int, int]:
    """(first, last) index of frames louder than ``threshold`` RMS; (-1, -1) if none."""
    rms = frame_rms(x, rate, frame_ms)
    loud = np.nonzero(rms > threshold)[0]
    if len(loud) == 0:
        return -1, -1
    return int(loud[0]), int(loud[-1])


def dropouts(x: np.ndarray, rate: int, threshold: float = 0.02, frame_ms: int = 20) -> list[int]:
    rms = frame_rms(x, rate, frame_ms)
    first, last = loud_span(x, rate, threshold, frame_ms)
    if first < 0:
        return []
    return [i for i in range(first, last + 1) if rms[i] <= threshold]


def segment(x: np.ndarray, rate: int, start_s: float, end_s: float) -> np.ndarray:
    return x[int(start_s * rate) : int(end_s * rate)]


def read_channels(path: str) -> tuple[np.ndarray, int]:
    """All channels of a 16-bit WAV as an (n, channels) array, header checked."""
    check_header(path)
    with wave.open(path, "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    return x.reshape(-1, channels), rate
