"""Check one stereo recording of a bench call: 440 Hz on the left (the caller), 1000 Hz
on the right (the agent), and no silent 20 ms frame inside either channel's tone."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import audio

LEFT_HZ, RIGHT_HZ = 440.0, 1000.0


@dataclass(frozen=True)
class FileCheck:
    path: str
    dropouts: int  # silent 20 ms frames between the first and last loud one, both channels
    wrong_tone: str  # "" or what is wrong
    seconds: float


def _channel(x: np.ndarray, rate: int, want: float, other: float, name: str) -> tuple[int, str]:
    first, last = audio.loud_span(x, rate)
    if first < 0:
        return 0, f"{name} silent"
    span = x[first * rate // 50 : (last + 1) * rate // 50]
    wrong = ""
    if abs(audio.dominant_frequency(span, rate) - want) >= 15:
        wrong = f"{name} peak at {audio.dominant_frequency(span, rate):.0f} Hz"
    elif audio.tone_power(span, rate, want) <= 50 * audio.tone_power(span, rate, other):
        wrong = f"{name} has the other side's tone"
    return len(audio.dropouts(x, rate)), wrong


def check(path: str) -> FileCheck:
    try:
        x, rate = audio.read_channels(path)
    except (audio.WavError, OSError, EOFError) as exc:
        return FileCheck(path, 0, f"unreadable: {exc}", 0.0)
    if x.shape[1] != 2:
        return FileCheck(path, 0, f"{x.shape[1]} channels", 0.0)
    d_left, w_left = _channel(x[:, 0], rate, LEFT_HZ, RIGHT_HZ, "left")
    d_right, w_right = _channel(x[:, 1], rate, RIGHT_HZ, LEFT_HZ, "right")
    return FileCheck(path, d_left + d_right, w_left or w_right, len(x) / rate)
