"""The asyncio shell around the sans-IO ACD engine.

Every input (worker event, API action, timer) becomes one `engine.handle(event, now)`
call with `now` read here, from the loop's monotonic clock; the returned commands go
to a single sink (the call flow). After each step the one wake-up timer is re-armed at
`engine.next_deadline()`, exactly like aioquic's protocol re-arms `loop.call_at`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from acd import commands as cmd
from acd import events as ev
from acd.engine import Engine

log = logging.getLogger(__name__)

CommandSink = Callable[[cmd.Command], None]


class AcdDriver:
    def __init__(
        self, engine: Engine, sink: CommandSink, clock: Callable[[], float] | None = None
    ) -> None:
        self.engine = engine
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._clock = clock or self._loop.time
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None

    def now(self) -> float:
        return self._clock()

    def feed(self, event: ev.Event) -> list[cmd.Command]:
        """Hand one event to the engine and carry out what it returns."""
        commands = self.engine.handle(event, self.now())
        self._dispatch(commands)
        return commands

    def _on_timer(self) -> None:
        self._timer = None
        self._armed_at = None
        self.poll()

    def poll(self) -> None:
        """Fire whatever is due at `now()` (the timer calls it; tests that step a fake
        clock call it directly)."""
        self._dispatch(self.engine.handle_timer(self.now()))

    def _dispatch(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            try:
                self._sink(command)
            except Exception:  # one bad command must not stall the whole ACD
                log.exception("failed to carry out %r", command)
        self._rearm()

    def _rearm(self) -> None:
        deadline = self.engine.next_deadline()
        if deadline == self._armed_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_at = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.now())
            self._timer = self._loop.call_later(delay, self._on_timer)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
