"""The pool's side of the protocol, against fake workers on loopback (no pjsua2):
handshake checks, result correlation, events, a vanished remote worker, re-homing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, Request
from gateway.ipc.errors import NoSuchLeg, WorkerGone, WorkerInternal
from gateway.ipc.transport import Connection, connect
from gateway.supervisor import (
    PoolConfig,
    PoolEvent,
    WorkerDown,
    WorkerPool,
    WorkerUp,
)

TOKEN = "s3cret"


@pytest.fixture
async def pool():
    events: list[PoolEvent] = []
    pool = WorkerPool(
        PoolConfig(workers=0, token=TOKEN, health_interval=60, command_timeout=0.3), events.append
    )
    pool.seen = events  # type: ignore[attr-defined]
    await pool.start()
    yield pool
    await pool.stop()


async def join(pool: WorkerPool, worker_id: str = "r1", **hello: Any) -> Connection:
    conn = await connect("127.0.0.1", pool.control_port)
    fields = {
        "version": p.PROTOCOL_VERSION,
        "worker_id": worker_id,
        "pid": 1,
        "sip_address": "10.0.0.9",
        "sip_port": 5080,
        "max_legs": 4,
        "token": TOKEN,
    }
    await conn.send(p.Hello(**{**fields, **hello}))
    return conn


async def until(pred, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.01)


async def test_remote_worker_joins_and_answers_commands(pool):
    conn = await join(pool)
    assert await asyncio.wait_for(conn.recv(), 2) == p.Welcome(p.PROTOCOL_VERSION)
    await until(lambda: any(isinstance(e.event, WorkerUp) for e in pool.seen))
    up = next(e.event for e in pool.seen if isinstance(e.event, WorkerUp))
    assert (up.worker_id, up.sip_address, up.sip_port) == ("r1", "10.0.0.9", 5080)

    async def fake_worker() -> None:
        for _ in range(2):
            req = await conn.recv()
            assert isinstance(req, Request)
            if isinstance(req.command, p.Dial):
                await conn.send(Notification(p.LegStateChanged("x1", p.LegState.CALLING)))
                await conn.send(p.Result(req.id, True, {"leg": "x1"}))
            else:
                await conn.send(p.Result(req.id, False, {}, "no_such_leg", "nope"))

    task = asyncio.create_task(fake_worker())
    assert await pool.command("r1", p.Dial("sip:a@b", leg="x1")) == {"leg": "x1"}
    with pytest.raises(NoSuchLeg) as err:
        await pool.command("r1", p.Hangup("zz"))
    assert (err.value.worker_id, err.value.code, err.value.message) == ("r1", "no_such_leg", "nope")
    await task
    # The event came before the result, and the pool tracks the leg.
    assert any(e.event == p.LegStateChanged("x1", p.LegState.CALLING) for e in pool.seen)
    assert pool.workers()[0].worker_id == "r1"

    await conn.send(Notification(p.Capacity(3, 4, False)))
    await until(lambda: pool.capacity().legs == 3)
    assert pool.capacity().free_legs == 1
    await conn.close()  # a remote worker vanishing: its legs are reported lost
    await until(lambda: any(isinstance(e.event, WorkerDown) for e in pool.seen))
    down = next(e.event for e in pool.seen if isinstance(e.event, WorkerDown))
    assert down.legs == ("x1",)
    lost = p.LegStateChanged("x1", p.LegState.DISCONNECTED, 0, "worker lost")
    assert any(e.event == lost for e in pool.seen)
    with pytest.raises(WorkerGone):
        await pool.command("r1", p.Ping())


@pytest.mark.parametrize("hello", [{"token": "wrong"}, {"version": 99}])
async def test_bad_handshake_is_refused(pool, hello):
    conn = await join(pool, **hello)
    assert await asyncio.wait_for(conn.recv(), 2) is None  # closed without a welcome
    assert pool.workers() == []


async def test_duplicate_worker_id_is_refused(pool):
    first = await join(pool, "r1")
    assert isinstance(await first.recv(), p.Welcome)
    second = await join(pool, "r1")
    assert await asyncio.wait_for(second.recv(), 2) is None
    assert len(pool.workers()) == 1


async def test_command_to_silent_worker_times_out_as_worker_gone(pool):
    conn = await join(pool)
    assert isinstance(await conn.recv(), p.Welcome)
    with pytest.raises(WorkerGone, match="timed out"):
        await pool.command("r1", p.Ping(), timeout=0.2)


async def test_registration_follows_the_worker_that_is_up(pool):
    a = await join(pool, "a")
    assert isinstance(await a.recv(), p.Welcome)
    reg = p.Register("trunk", "sip:reg", "sip:gw@x", contact="<sip:edge>")

    async def ok_once(conn: Connection) -> p.Register:
        req = await conn.recv()
        assert isinstance(req, Request)
        await conn.send(p.Result(req.id, True, {"account": "trunk"}))
        return req.command

    task = asyncio.create_task(ok_once(a))
    assert await pool.register(reg) == "a"
    assert await task == reg
    b = await join(pool, "b")
    assert isinstance(await b.recv(), p.Welcome)
    rehomed = asyncio.create_task(ok_once(b))
    await a.close()  # "a" dies: the registration moves to "b"
    assert await asyncio.wait_for(rehomed, 2) == reg
    await until(lambda: pool.registration_home("trunk") == "b")


async def test_a_dying_worker_fails_pending_commands_and_reports_what_it_held(pool):
    conn = await join(pool)
    assert isinstance(await conn.recv(), p.Welcome)

    async def fake_worker() -> None:
        req = await conn.recv()  # record_start: accepted
        assert isinstance(req, Request)
        await conn.send(p.Result(req.id, True, {"path": "/tmp/x.wav"}))
        await conn.recv()  # ping: never answered, the worker vanishes
        await conn.close()

    await conn.send(Notification(p.IncomingCall("r1-in-1", "c", "sip:1", "f", "t", "1.2.3.4:5")))
    task = asyncio.create_task(fake_worker())
    await pool.command("r1", p.RecordStart("r1-in-1", "/tmp/x.wav"))
    with pytest.raises(WorkerGone):
        await pool.command("r1", p.Ping(), timeout=2)
    await task
    await until(lambda: any(isinstance(e.event, WorkerDown) for e in pool.seen))
    kinds = [type(e.event).__name__ for e in pool.seen]
    assert kinds[-3:] == ["RecordingClosed", "LegStateChanged", "WorkerDown"]
    assert pool.seen[-3].event == p.RecordingClosed("r1-in-1", "/tmp/x.wav", 0, 0)


async def test_an_unknown_error_code_is_worker_internal(pool):
    conn = await join(pool)
    assert isinstance(await conn.recv(), p.Welcome)

    async def fake_worker() -> None:
        req = await conn.recv()
        assert isinstance(req, Request)
        await conn.send(p.Result(req.id, False, {}, "teapot", "short and stout"))

    task = asyncio.create_task(fake_worker())
    with pytest.raises(WorkerInternal):
        await pool.command("r1", p.Ping())
    await task
