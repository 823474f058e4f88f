"""Health pings cost little: one round per interval, none to a worker that spoke
within it (fake remote workers on loopback, no pjsua2); and workers get their nice."""

from __future__ import annotations

import asyncio
import itertools
import os

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, Request
from gateway.ipc.transport import Connection
from gateway.supervisor import PoolConfig, WorkerPool
from gateway.supervisor.handle import WorkerHandle, WorkerState
from gateway.supervisor.pool import due_for_ping
from gateway.supervisor.priority import renice
from tests.unit.supervisor.test_pool_protocol import TOKEN, join

INTERVAL = 0.2


async def pings(conn: Connection, seen: list[float], chatty: bool) -> None:
    """A worker answering pings; ``chatty`` also sends an event every 50 ms."""
    loop = asyncio.get_running_loop()

    async def chatter() -> None:
        while True:
            await conn.send(Notification(p.Capacity(0, 4, False)))
            await asyncio.sleep(0.05)

    task = asyncio.create_task(chatter()) if chatty else None
    try:
        while True:
            msg = await conn.recv()
            if isinstance(msg, Request) and isinstance(msg.command, p.Ping):
                seen.append(loop.time())
                await conn.send(p.Result(msg.id, True, {}))
    finally:
        if task is not None:
            task.cancel()


async def test_quiet_workers_are_pinged_each_interval_and_a_talking_one_not_at_all() -> None:
    pool = WorkerPool(PoolConfig(workers=0, token=TOKEN, health_interval=INTERVAL), None)
    await pool.start()
    try:
        quiet = [await join(pool, f"q{i}") for i in range(4)]
        talker = await join(pool, "t1")
        for conn in [*quiet, talker]:
            assert isinstance(await asyncio.wait_for(conn.recv(), 2), p.Welcome)
        seen: dict[str, list[float]] = {f"q{i}": [] for i in range(4)} | {"t1": []}
        tasks = [asyncio.create_task(pings(c, seen[f"q{i}"], False)) for i, c in enumerate(quiet)]
        tasks.append(asyncio.create_task(pings(talker, seen["t1"], True)))
        await asyncio.sleep(8 * INTERVAL)
        for t in tasks:
            t.cancel()
        for conn in [*quiet, talker]:
            await conn.close()  # gone: the pool's stop does not wait for their drain
    finally:
        await pool.stop()
    assert seen["t1"] == []  # heard from every 50 ms: never pinged
    for i in range(4):
        assert 4 <= len(seen[f"q{i}"]) <= 9, seen  # about one per interval each
    gaps = [b - a for a, b in itertools.pairwise(seen["q0"])]
    assert min(gaps) > INTERVAL * 0.5, gaps  # one per round, not more


def test_renice_sets_the_value_and_survives_a_gone_process() -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only waits to be reniced and killed
        os.pause()
    try:
        allowed = renice(pid, -3)
        expected = -3 if allowed else 0
        assert os.getpriority(os.PRIO_PROCESS, pid) == expected
        assert renice(pid, 0)  # 0: left alone
        assert os.getpriority(os.PRIO_PROCESS, pid) == expected
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert renice(pid, 5) is False  # gone


def test_a_round_pings_the_up_workers_not_heard_from_within_the_interval() -> None:
    quiet, talker, starting = (WorkerHandle(w, None) for w in ("q", "t", "s"))
    for h in (quiet, talker):
        h.state = WorkerState.UP
    quiet.heard_at, talker.heard_at, starting.heard_at = 10.0, 10.0, 0.0
    handles = [quiet, talker, starting]
    assert due_for_ping(handles, now=10.125, interval=0.25) == []  # everyone spoke just now
    talker.heard_at = 10.125  # an event from its owner thread
    assert due_for_ping(handles, now=10.25, interval=0.25) == [quiet]  # not the one starting
    assert due_for_ping(handles, now=10.5, interval=0.25) == [quiet, talker]
