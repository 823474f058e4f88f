"""Events that go with no record change of their own (trunks, workers, queue alerts).

They are built by the catalogue at the moment they happen and written to the outbox in
order on one chain, retried while the database is briefly away, so none is lost; the
publisher is woken after each write. Call and agent events do not come through here:
they ride on the call's and the agent log's own writes (`driver.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gateway.control.clock import Clock
from gateway.control.sequencer import Sequencer
from gateway.events import catalogue as ce
from gateway.store.outbox import OutboxStore


class EventSink(Protocol):
    def emit(self, data: ce.Event) -> None: ...


class EventWriter:
    def __init__(
        self, outbox: OutboxStore, clock: Clock, written: Callable[[], None] = lambda: None
    ) -> None:
        self._outbox, self._clock, self._written = outbox, clock, written
        self._chain = Sequencer("platform events", retries=8)

    def emit(self, data: ce.Event) -> None:
        message = ce.build(data, at=self._clock.now().wall)

        async def write() -> None:
            await self._outbox.add([message])
            self._written()

        self._chain.then(write)

    async def settled(self) -> None:
        await self._chain.settled()
