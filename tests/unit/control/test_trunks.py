"""Trunk registration retries: the control plane's backoff is the only retry timer."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.control.trunks import TrunkRegistration, Trunks
from gateway.ipc import protocol as p
from gateway.metrics import Metrics

REG = p.Register(account="carrier", registrar="sip:203.0.113.5", id_uri="sip:gw@203.0.113.5",
                 username="gw", password="pw")


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
    return p.RegistrationState(account="carrier", code=code, reason="", registered=registered,
                               expires=300 if registered else 0)


async def wait_until(cond: Any) -> None:
    for _ in range(100):  # bounded: 1 s
        if cond():
            return
        await asyncio.sleep(0.01)


async def test_a_failed_registration_is_retried_then_backs_off_and_resets() -> None:
    pool = FakePool()
    trunks = Trunks(pool, Metrics(), [TrunkRegistration("carrier", REG)],  # type: ignore[arg-type]
                    max_backoff=0.05)
    await trunks.start()
    assert len(pool.registered) == 1
    trunks.on_registration_state(state(False, 408))
    trunks.on_registration_state(state(False, 408))  # a second report: still one retry
    await wait_until(lambda: len(pool.registered) == 2)
    assert len(pool.registered) == 2
    trunks.on_registration_state(state(True, 200))
    assert trunks.all_registered() and trunks.health()[0].last_code == 200
    trunks.on_registration_state(state(False, 503))  # a refresh fails later: retried too
    await wait_until(lambda: len(pool.registered) == 3)
    assert len(pool.registered) == 3
    await trunks.stop()
    trunks.on_registration_state(state(False, 408))  # stopping: no more retries
    await asyncio.sleep(0.1)
    assert len(pool.registered) == 3
