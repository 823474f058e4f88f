"""Trunk registrations: placed on a worker by the pool, tracked from worker events.

pjsua2 refreshes a registration by itself, and the pool re-homes it when its worker
dies. A failed registration (timeout, 403, carrier down) is retried here with
exponential backoff, 1 s doubling to `max_backoff`, so a carrier that comes back is
noticed within seconds at first and the carrier is not hammered when it stays down.
The last state of each trunk feeds /health and the metrics.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from gateway.api.views import TrunkHealth
from gateway.control.clock import Clock, TimerHandle
from gateway.control.event_writer import EventSink
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.logsafe import printable
from gateway.metrics import Metrics

log = logging.getLogger(__name__)


class RegistrationPool(Protocol):
    """What the trunks need of the worker pool."""

    async def register(self, reg: p.Register, worker_id: str | None = None) -> str: ...

    async def unregister(self, account: str) -> None: ...

    def registration_home(self, account: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TrunkRegistration:
    name: str
    register: p.Register | None  # None: the trunk does not register (IP-authenticated)


@dataclass(slots=True)
class _State:
    registered: bool = False
    code: int | None = None
    reason: str = ""
    failures: int = 0
    retry: TimerHandle | None = None


class Trunks:
    def __init__(
        self,
        pool: RegistrationPool,
        metrics: Metrics,
        trunks: list[TrunkRegistration],
        clock: Clock,
        events: EventSink | None = None,
        max_backoff: float = 60.0,
    ) -> None:
        self._clock, self._events = clock, events
        self._max_backoff = max_backoff
        self._stopping = False
        self._pool = pool
        self._metrics = metrics
        self._trunks = {t.name: t for t in trunks}
        self._state = {t.name: _State() for t in trunks}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for trunk in self._trunks.values():
            self._metrics.set_trunk_registration(
                trunk.name, "registering" if trunk.register else "disabled"
            )
            if trunk.register is not None:
                await self._register(trunk.register)

    async def _register(self, reg: p.Register) -> None:
        try:
            home = await self._pool.register(reg)
            log.info("trunk %s registering from worker %s", reg.account, home)
        except WorkerError as exc:  # the pool keeps it and places it when a worker is up
            log.warning("trunk %s: registration deferred: %s", reg.account, exc)

    def on_registration_state(self, e: p.RegistrationState) -> None:
        state = self._state.get(e.account)
        if state is None:
            return
        if state.registered != e.registered:
            log.info(
                "trunk %s %s (%s %s)",
                e.account,
                "registered" if e.registered else "not registered",
                e.code,
                printable(e.reason),  # the registrar's reason phrase
            )
        if (state.registered, state.code) != (e.registered, e.code) and self._events:
            home = self._pool.registration_home(e.account)
            self._events.emit(
                ce.TrunkRegistrationChanged(e.account, e.registered, e.code, e.reason, home)
            )
        state.registered, state.code, state.reason = e.registered, e.code, e.reason
        if e.registered:
            state.failures = 0
        elif e.code >= 300 and state.retry is None and not self._stopping:
            delay = min(2.0**state.failures, self._max_backoff)
            state.failures += 1
            log.warning(
                "trunk %s registration failed (%s %s): retry in %.0f s",
                e.account,
                e.code,
                printable(e.reason),
                delay,
            )
            retry_at = self._clock.now().mono + delay
            state.retry = self._clock.call_at(retry_at, lambda: self._retry(e.account))
        self._metrics.set_trunk_registration(
            e.account,
            "registered" if e.registered else "failed" if e.code >= 300 else "unregistered",
        )

    def _retry(self, name: str) -> None:
        state, trunk = self._state[name], self._trunks[name]
        state.retry = None
        if trunk.register is not None and not state.registered and not self._stopping:
            task = asyncio.get_running_loop().create_task(self._register(trunk.register))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self._stopping = True
        for state in self._state.values():
            if state.retry is not None:
                state.retry.cancel()
        for trunk in self._trunks.values():
            if trunk.register is not None:
                await self._pool.unregister(trunk.name)

    def health(self) -> list[TrunkHealth]:
        return [
            TrunkHealth(
                name=name,
                register=t.register is not None,
                registered=self._state[name].registered,
                worker=self._pool.registration_home(name),
                last_code=self._state[name].code,
                last_reason=self._state[name].reason,
            )
            for name, t in self._trunks.items()
        ]

    def all_registered(self) -> bool:
        return all(self._state[n].registered for n, t in self._trunks.items() if t.register)
