"""A clock that moves only when a test says so (see gateway/control/clock.py)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gateway.control.clock import Instant


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    def __init__(
        self, mono: float = 1000.0, wall: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    ) -> None:
        self._mono, self._wall0, self._mono0 = mono, wall, mono
        self._due: list[tuple[float, int, _Handle, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> Instant:
        return Instant(self._mono, self._wall0 + timedelta(seconds=self._mono - self._mono0))

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle()
        heapq.heappush(self._due, (when, next(self._seq), handle, callback))
        return handle

    def advance(self, seconds: float) -> None:
        """Move time on, firing every callback that falls due, in deadline order."""
        target = self._mono + seconds
        while self._due and self._due[0][0] <= target:
            when, _, handle, callback = heapq.heappop(self._due)
            self._mono = max(self._mono, when)
            if not handle.cancelled:
                callback()
        self._mono = target

    def pending(self) -> int:
        return sum(1 for _, _, h, _ in self._due if not h.cancelled)
