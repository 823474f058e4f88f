"""The control plane's one source of time, injected so tests can step it.

`Instant` carries both readings a step needs: `mono` (the loop's monotonic clock, what
the ACD engine and every timer use) and `wall` (UTC, what call records store). Code
under `gateway/control/` never reads a clock itself: it asks the `Clock` it was given,
or takes an `Instant` as an argument. `LoopClock` is the real one; tests use
`tests/support/clock.ManualClock`, which fires due callbacks when it is advanced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Instant:
    mono: float
    wall: datetime


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> Instant: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once the monotonic clock reaches `when`."""
        ...


class LoopClock:
    """The event loop's monotonic clock and the system's UTC wall clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()

    def now(self) -> Instant:
        return Instant(self._loop.time(), datetime.now(UTC))

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return self._loop.call_at(when, callback)
