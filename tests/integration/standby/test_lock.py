"""The control-plane lock (gateway/control/standby.py) against a real PostgreSQL: a
second holder waits and says who is active, takes over when the first releases or its
session dies, and an active whose session is terminated retakes the lock when it is free
and gives up (on_lost) when a waiting standby got it first or the grace is 0."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest

from gateway.control import standby
from gateway.control.standby import LOCK_CLASS, ControlLock, connector, holder_name, lock_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
KEY = lock_key("contactgw")


def plain(url: str) -> str:
    dsn = standby.asyncpg_dsn(url)
    assert dsn is not None
    return dsn


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain(pg_url))
    try:
        yield connection
    finally:
        await connection.close()


class Lost:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.event = asyncio.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.event.set()


def make_lock(url: str, pid: int, *, grace: float = 0.0) -> tuple[ControlLock, Lost]:
    lost = Lost()
    connect = connector(plain(url), name=holder_name(pid, "host-test"))
    return ControlLock(connect, KEY, lost, grace), lost


async def backend_of(pg: asyncpg.Connection, pid: int) -> int | None:
    """The backend pid of the lock session named for `pid`, if it holds the lock."""
    return await pg.fetchval(  # type: ignore[no-any-return]
        "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 "
        "AND a.application_name = $3",
        LOCK_CLASS,
        KEY,
        holder_name(pid, "host-test"),
    )


async def until(probe: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


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

    for _ in range(200):  # bounded: 10 s
        if waits():
            break
        await asyncio.sleep(0.05)
    assert waits() == ["standby: waiting for the active control plane (pid 1001, host host-test)"]
    # the standby's wait survives its own session being terminated (a database restart)
    (waiting_backend,) = await pg.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
        holder_name(1002, "host-test"),
    )
    await pg.execute("SELECT pg_terminate_backend($1)", waiting_backend["pid"])
    await asyncio.sleep(0.5)
    assert not task.done()
    await active.release()
    assert await asyncio.wait_for(task, 10) is True
    assert await backend_of(pg, 1002) is not None and await backend_of(pg, 1001) is None
    await waiting.release()
    assert not active_lost.reasons and not waiting_lost.reasons


async def test_an_active_gives_up_when_a_standby_got_the_lock(
    pg_url: str, pg: asyncpg.Connection
) -> None:
    active, lost = make_lock(pg_url, 2001, grace=10)
    await active.acquire()
    standby_task = asyncio.ensure_future(
        pg.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, KEY)
    )
    await asyncio.sleep(0.3)  # the test's session queues behind the active
    assert not standby_task.done()
    backend = await _backend(pg_url, 2001)
    async with _admin(pg_url) as admin:
        await admin.execute("SELECT pg_terminate_backend($1)", backend)
    await asyncio.wait_for(standby_task, 5)  # the waiting session got the lock
    await asyncio.wait_for(lost.event.wait(), 10)
    holder = f"unknown: application_name '', backend pid {pg.get_server_pid()}"
    assert lost.reasons == [f"another control plane took the lock ({holder})"]
    await active.release()


async def test_an_active_retakes_a_free_lock_after_its_session_died(
    pg_url: str, pg: asyncpg.Connection
) -> None:
    active, lost = make_lock(pg_url, 3001, grace=10)
    await active.acquire()
    first = await backend_of(pg, 3001)
    await pg.execute("SELECT pg_terminate_backend($1)", first)

    async def retaken() -> bool:
        backend = await backend_of(pg, 3001)
        return backend is not None and backend != first

    await until(retaken)
    assert not lost.reasons
    await active.release()
    assert await backend_of(pg, 3001) is None


async def test_with_no_grace_a_lost_session_is_given_up_at_once(
    pg_url: str, pg: asyncpg.Connection
) -> None:
    active, lost = make_lock(pg_url, 4001, grace=0)
    await active.acquire()
    started = asyncio.get_running_loop().time()
    await pg.execute("SELECT pg_terminate_backend($1)", await backend_of(pg, 4001))
    await asyncio.wait_for(lost.event.wait(), 5)
    assert asyncio.get_running_loop().time() - started < 1.0  # the listener, not the probe
    assert lost.reasons == ["the lock connection was lost"]
    assert await backend_of(pg, 4001) is None
    await active.release()


async def _backend(url: str, pid: int) -> int:
    async with _admin(url) as admin:
        backend = await backend_of(admin, pid)
    assert backend is not None
    return backend


@asynccontextmanager
async def _admin(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain(url))
    try:
        yield connection
    finally:
        await connection.close()
