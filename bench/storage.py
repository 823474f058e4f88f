"""Bytes and CPU per recorded hour of a stereo call recording in each storage format
sox can write here (issue 13, "Storage").

The input is the stereo WAV the gateway stores (8 kHz, 16-bit, caller left, agent right).
Without `--input`, a speech-like stand-in is made: two talkers taking turns (noise
shaped to the telephone band, a 4 Hz syllable envelope, pauses), a quiet line-noise
floor, and every sample passed through G.711 mu-law as a PCMU call's audio is. Pure
tones would flatter the lossless coders; real speech may compress a little better.

    .venv/bin/python bench/storage.py [--minutes 10] [--input call.wav] [--json]

Each format is encoded by sox (the tool the gateway's finalizer uses for FLAC); CPU is
the sox child's user+system time; both figures are scaled to one hour of recording.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

RATE = 8000
# name -> (file suffix, sox output options, plays in browsers, lossless)
FORMATS: dict[str, tuple[str, list[str], str, bool]] = {
    "wav (PCM 16-bit, the default)": (".wav", [], "all", True),
    "wav (G.711 mu-law, 8-bit)": (".wav", ["-e", "u-law", "-b", "8"], "some", False),
    "flac (level 5)": (".flac", ["-C", "5"], "all current", True),
    "flac (level 8)": (".flac", ["-C", "8"], "all current", True),
    "ogg vorbis (q 0)": (".ogg", ["-C", "0"], "all but old Safari", False),
}


def ulaw_roundtrip(x: np.ndarray) -> np.ndarray:
    """Quantise [-1, 1] floats as G.711 mu-law does (the continuous mu-law curve with
    8-bit steps: close enough for compressibility)."""
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def talker(n: int, rng: np.random.Generator, active: np.ndarray) -> np.ndarray:
    noise = rng.standard_normal(n)
    spec = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    shape = np.exp(-(((freqs - 700) / 900) ** 2)) * (freqs > 250) * (freqs < 3400)
    voiced = np.fft.irfft(spec * shape, n)
    voiced /= np.max(np.abs(voiced)) + 1e-9
    t = np.arange(n) / RATE
    syllables = 0.5 * (1 + np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)))
    return 0.35 * voiced * syllables * active


def speech_like(seconds: float, seed: int = 13) -> np.ndarray:
    """(n, 2) int16: caller and agent taking turns of 2-6 s, pauses, line noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    left, right = np.zeros(n), np.zeros(n)
    at, side = 0, 0
    while at < n:
        turn = int(rng.uniform(2, 6) * RATE)
        (left if side == 0 else right)[at : at + turn] = 1.0
        at += turn + int(rng.uniform(0.2, 1.0) * RATE)
        side ^= 1
    out = np.empty((n, 2))
    for ch, active in enumerate((left, right)):
        x = talker(n, rng, active) + 0.002 * rng.standard_normal(n)
        out[:, ch] = ulaw_roundtrip(np.clip(x, -1, 1))
    return (out * 32767).astype("<i2")


def write_wav(path: Path, frames: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames.tobytes())


def encode(src: Path, dst: Path, options: list[str]) -> float:
    """CPU seconds of one sox run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["sox", str(src), *options, str(dst)], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=10.0, help="stand-in length")
    ap.add_argument("--input", help="a stereo 8 kHz WAV to measure instead")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which("sox") is None:
        print("storage: sox is not installed", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="contactgw-storage-"))
    try:
        if args.input:
            src = Path(args.input)
            with wave.open(str(src), "rb") as w:
                seconds = w.getnframes() / w.getframerate()
        else:
            src, seconds = tmp / "call.wav", args.minutes * 60
            write_wav(src, speech_like(seconds))
        scale = 3600 / seconds
        rows = []
        for name, (suffix, options, browsers, lossless) in FORMATS.items():
            dst = tmp / f"out{len(rows)}{suffix}"
            t0 = time.monotonic()
            cpu = encode(src, dst, options)
            wall = time.monotonic() - t0
            rows.append({
                "format": name,
                "mb_per_hour": round(os.path.getsize(dst) * scale / 1e6, 1),
                "cpu_s_per_hour": round(cpu * scale, 2),
                "wall_s_per_hour": round(wall * scale, 2),
                "lossless": lossless,
                "browsers": browsers,
            })  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'format':32} {'MB/hour':>8} {'CPU s/hour':>11}  lossless  browsers")
    for r in rows:
        print(
            f"{r['format']:32} {r['mb_per_hour']:8.1f} {r['cpu_s_per_hour']:11.2f}  "
            f"{'yes' if r['lossless'] else 'no':8}  {r['browsers']}"
        )
    if args.json:
        print(json.dumps({"seconds": seconds, "formats": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
