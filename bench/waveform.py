"""How long the QA player's waveform of a long stereo recording takes, against a floor.

The waveform (recordings/waveform.py) reads the file one bucket at a time and takes a
C-level min/max per channel per bucket. The floor, measured in the same run on the same
file, is numpy reading the whole file and reducing it in one go (what the job costs at
best, holding the file in memory, which the gateway does not). Prints both and the ratio:

    .venv/bin/python bench/waveform.py [--minutes 60] [--buckets 1200] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recordings.waveform import waveform

RATE = 8000


def make_recording(path: Path, minutes: float) -> None:
    frames = int(RATE * 60 * minutes)
    rng = np.random.default_rng(1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        chunk = RATE * 60  # a minute at a time: the bench itself stays small in memory
        for start in range(0, frames, chunk):
            n = min(chunk, frames - start)
            w.writeframes(rng.integers(-3000, 3000, 2 * n, dtype=np.int16).astype("<i2").tobytes())


def floor_s(path: Path, buckets: int) -> float:
    start = time.perf_counter()
    data = np.fromfile(path, dtype="<i2", offset=44).reshape(-1, 2)
    usable = len(data) - len(data) % buckets
    spans = data[:usable].reshape(buckets, -1, 2)
    spans.min(axis=1), spans.max(axis=1)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--buckets", type=int, default=1200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "call.wav"
        make_recording(path, args.minutes)
        floor = min(floor_s(path, args.buckets) for _ in range(3))
        start = time.perf_counter()
        w = waveform(path, args.buckets)
        ours = time.perf_counter() - start
    result = {
        "minutes": args.minutes,
        "buckets": len(w.channels[0].maxima),
        "waveform_s": round(ours, 3),
        "floor_numpy_s": round(floor, 3),
        "ratio": round(ours / floor, 1) if floor else None,
        "per_recorded_hour_s": round(ours * 60 / args.minutes, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"waveform of {args.minutes:g} min stereo, {result['buckets']} buckets")
        print(
            f"  ours          {ours:7.3f} s  ({result['per_recorded_hour_s']} s per recorded hour)"
        )
        print(f"  floor (numpy) {floor:7.3f} s  (whole file in memory)")
        print(f"  ratio         {result['ratio']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
