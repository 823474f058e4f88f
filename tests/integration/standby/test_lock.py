"""The control-plane lock (gateway/control/standby.py) against a real PostgreSQL: a
second holder waits and says who is active, takes over when the first releases or its
session dies, and an active whose session is terminated retakes the lock when it is free
and gives up (on_lost) when a waiting standby got it first or the grace is 0."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from gateway.control.standby import ControlLock, asyncpg_dsn, connector, holder_name
from tests.integration.standby.conftest import KEY, connection, lock_backend, wait_for_lock
from tests.support.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class Lost:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.event = asyncio.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.event.set()


def name(pid: int) -> str:
    return holder_name(pid, "host-test")


def make_lock(url: str, pid: int, *, grace: float = 0.0) -> tuple[ControlLock, Lost]:
    dsn = asyncpg_dsn(url)
    assert dsn is not None
    lost = Lost()
    return ControlLock(connector(dsn, name=name(pid)), KEY, lost, grace), lost


async def test_a_standby_waits_names_the_active_and_takes_over(
    pg_url: str, pg: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.standby")
    active, active_lost = make_lock(pg_url, 1001)
    assert await active.acquire() is False  # free: no wait
    waiting, waiting_lost = make_lock(pg_url, 1002)
    task = asyncio.ensure_future(waiting.acquire())

    def waits() -> list[str]:
        return [r.getMessage() for r in caplog.records if "waiting for the active" in r.message]

    await wait_for(waits, 10, 0.05)
    assert waits() == ["standby: waiting for the active control plane (pid 1001, host host-test)"]
    # the standby's wait survives its own session being terminated (a database restart)
    backend = await pg.fetchval(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", name(1002)
    )
    await pg.execute("SELECT pg_terminate_backend($1)", backend)
    await asyncio.sleep(0.5)
    assert not task.done()
    await active.release()
    assert await asyncio.wait_for(task, 10) is True
    assert await lock_backend(pg, name(1002)) is not None
    assert await lock_backend(pg, name(1001)) is None
    await waiting.release()
    assert not active_lost.reasons and not waiting_lost.reasons


async def test_an_active_gives_up_when_a_standby_got_the_lock(
    pg_url: str, pg: asyncpg.Connection
) -> None:
    active, lost = make_lock(pg_url, 2001, grace=10)
    await active.acquire()
    contender = asyncio.ensure_future(wait_for_lock(pg))
    await asyncio.sleep(0.3)  # the test's session queues behind the active
    assert not contender.done()
    async with connection(pg_url) as admin:
        backend = await lock_backend(admin, name(2001))
        await admin.execute("SELECT pg_terminate_backend($1)", backend)
    await asyncio.wait_for(contender, 5)  # the waiting session got the lock
    await asyncio.wait_for(lost.event.wait(), 10)
    holder = f"unknown: application_name '', backend pid {pg.get_server_pid()}"
    assert lost.reasons == [f"another control plane took the lock ({holder})"]
    await active.release()


async def test_an_active_retakes_a_free_lock_after_its_session_died(
    pg_url: str, pg: asyncpg.Connection
) -> None:
    active, lost = make_lock(pg_url, 3001, grace=10)
    await active.acquire()
    first = await lock_backend(pg, name(3001))
    await pg.execute("SELECT pg_terminate_backend($1)", first)

    async def retaken() -> bool:
        backend = await lock_backend(pg, name(3001))
        return backend is not None and backend != first

    assert await wait_for(retaken, 10, 0.05)
    assert not lost.reasons
    await active.release()
    assert await lock_backend(pg, name(3001)) is None  # a clean release frees it at once


async def test_with_no_grace_a_lost_session_is_given_up_at_once(
    pg_url: str, pg: asyncpg.Connection
) -> None:
    active, lost = make_lock(pg_url, 4001, grace=0)
    await active.acquire()
    started = asyncio.get_running_loop().time()
    await pg.execute("SELECT pg_terminate_backend($1)", await lock_backend(pg, name(4001)))
    await asyncio.wait_for(lost.event.wait(), 5)
    assert asyncio.get_running_loop().time() - started < 1.0  # the listener, not the probe
    assert lost.reasons == ["the lock connection was lost"]
    assert await lock_backend(pg, name(4001)) is None
    await active.release()
