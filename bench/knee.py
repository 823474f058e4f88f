"""Pure parts of the full-stack bench: the verdict of one load point, the knee search
and latency statistics (no I/O, unit-tested in tests/unit/bench/)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_LOSS_PCT = 0.1


@dataclass
class Verdict:
    """What one run of N concurrent conversations delivered."""

    n: int
    failed_calls: int  # sipp's failed calls plus calls the far side never got
    loss_pct: float  # RTP packets lost, % of those expected, all legs
    files_checked: int  # stereo files found and read
    dropout_files: int  # stereo files with at least one silent 20 ms frame in a channel
    wrong_tone_files: int  # a channel without its tone (440 Hz left, 1000 Hz right)

    @property
    def clean(self) -> bool:
        return (
            self.failed_calls == 0
            and self.loss_pct < MAX_LOSS_PCT
            and self.files_checked == self.n
            and self.dropout_files == 0
            and self.wrong_tone_files == 0
        )

    def why(self) -> str:
        if self.clean:
            return "clean"
        parts = []
        if self.failed_calls:
            parts.append(f"{self.failed_calls} failed calls")
        if self.loss_pct >= MAX_LOSS_PCT:
            parts.append(f"loss {self.loss_pct:.2f} %")
        if self.files_checked != self.n:
            parts.append(f"{self.files_checked}/{self.n} stereo files")
        if self.dropout_files:
            parts.append(f"drop-outs in {self.dropout_files} files")
        if self.wrong_tone_files:
            parts.append(f"wrong tone in {self.wrong_tone_files} files")
        return ", ".join(parts)


def knee(results: Mapping[int, bool]) -> int | None:
    """The largest clean N below the smallest dirty one (None: nothing clean below it)."""
    dirty = [n for n, ok in results.items() if not ok]
    ceiling = min(dirty) if dirty else math.inf
    clean = [n for n, ok in results.items() if ok and n < ceiling]
    return max(clean) if clean else None


def next_n(
    results: Mapping[int, bool], *, start: int, step: int, limit: int, resolution: int
) -> int | None:
    """The next N to try: climb from ``start`` by ``step`` while clean (up to ``limit``),
    then bisect between the knee and the first dirty N down to ``resolution`` (N stays
    even: two conversations per worker). None: the knee is found, or the limit reached."""
    if not results:
        return start
    dirty = [n for n, ok in results.items() if not ok]
    lo = knee(results)
    if not dirty:
        nxt = max(results) + step
        return nxt if nxt <= limit else None
    hi = min(dirty)
    if lo is None:
        lo = 0
    if hi - lo <= resolution:
        return None
    mid = (lo + hi) // 4 * 2
    if mid <= lo or mid >= hi or mid in results:
        return None
    return mid


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated ``q``-th percentile (0..100); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | None]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    return {
        "n": len(values_ms),
        "p50": r(percentile(values_ms, 50)),
        "p95": r(percentile(values_ms, 95)),
        "p99": r(percentile(values_ms, 99)),
        "max": r(max(values_ms)) if values_ms else None,
    }


def loss_pct(received: int, lost: int) -> float:
    expected = received + lost
    return 100.0 * lost / expected if expected else 0.0
