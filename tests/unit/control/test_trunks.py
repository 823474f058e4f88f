"""Trunk registration retries: the control plane's backoff is the only retry timer."""

from __future__ import annotations

import asyncio

from gateway.control.trunks import TrunkRegistration, Trunks
from gateway.ipc import protocol as p
from gateway.metrics import Metrics
from tests.support.clock import ManualClock

REG = p.Register(
    account="carrier",
    registrar="sip:203.0.113.5",
    id_uri="sip:gw@203.0.113.5",
    username="gw",
    password="pw",
)


class FakePool:
    def __init__(self) -> None:
        self.registered: list[p.Register] = []

    async def register(self, reg: p.Register, worker_id: str | None = None) -> str:
        self.registered.append(reg)
        return "w1"

    async def unregister(self, account: str) -> None:
        pass

    def registration_home(self, account: str) -> str | None:
        return "w1"


def state(registered: bool, code: int) -> p.RegistrationState:
    return p.RegistrationState(
        account="carrier",
        code=code,
        reason="",
        registered=registered,
        expires=300 if registered else 0,
    )


async def test_a_failed_registration_is_retried_then_backs_off_and_resets() -> None:
    pool, clock = FakePool(), ManualClock()
    trunks = Trunks(pool, Metrics(), [TrunkRegistration("carrier", REG)], clock=clock,
                    max_backoff=4.0)  # fmt: skip
    await trunks.start()
    assert len(pool.registered) == 1
    trunks.on_registration_state(state(False, 408))
    trunks.on_registration_state(state(False, 408))  # a second report: still one retry
    assert clock.pending() == 1
    await step(clock, 0.9)
    assert len(pool.registered) == 1
    await step(clock, 0.2)  # first retry after 1 s
    assert len(pool.registered) == 2
    trunks.on_registration_state(state(False, 408))
    await step(clock, 1.9)
    assert len(pool.registered) == 2
    await step(clock, 0.2)  # then 2 s
    assert len(pool.registered) == 3
    trunks.on_registration_state(state(True, 200))  # success resets the backoff
    assert trunks.all_registered() and trunks.health()[0].last_code == 200
    trunks.on_registration_state(state(False, 503))  # a refresh fails later: retried too
    await step(clock, 1.1)
    assert len(pool.registered) == 4
    for _ in range(4):  # doubling, capped at max_backoff
        trunks.on_registration_state(state(False, 503))
        await step(clock, 4.1)
    assert len(pool.registered) == 8
    await trunks.stop()
    trunks.on_registration_state(state(False, 408))  # stopping: no more retries
    await step(clock, 100)
    assert len(pool.registered) == 8 and clock.pending() == 0


async def step(clock: ManualClock, seconds: float) -> None:
    """Advance the clock, then let the retry task it started run."""
    clock.advance(seconds)
    for _ in range(3):
        await asyncio.sleep(0)


async def test_registration_changes_are_reported_as_events_once_each() -> None:
    class Sink:
        def __init__(self) -> None:
            self.events: list[object] = []

        def emit(self, data: object) -> None:
            self.events.append(data)

    sink, clock = Sink(), ManualClock()
    trunks = Trunks(FakePool(), Metrics(), [TrunkRegistration("carrier", REG)], clock=clock,
                    events=sink)  # type: ignore[arg-type]  # fmt: skip
    await trunks.start()
    trunks.on_registration_state(state(True, 200))
    trunks.on_registration_state(state(True, 200))  # a refresh: no news
    trunks.on_registration_state(state(False, 408))
    assert [(e.registered, e.code, e.worker) for e in sink.events] == [  # type: ignore[attr-defined]
        (True, 200, "w1"), (False, 408, "w1")]  # fmt: skip
    await trunks.stop()
