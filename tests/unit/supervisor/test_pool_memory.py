"""The pool keeps nothing per event: a gateway that runs for weeks must not grow.

Regression test: ``WorkerPool._publish`` used to put every event into an unbounded
``asyncio.Queue`` that nothing in the daemon read (``pool.events()``), so every event
ever received stayed in memory. The ``on_event`` callback is now the one way out.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification
from gateway.ipc.transport import connect
from gateway.supervisor import PoolConfig, PoolEvent, WorkerPool

TOKEN = "s3cret"
EVENTS = 20_000


async def test_the_pool_retains_nothing_per_event() -> None:
    seen = 0
    done = asyncio.Event()

    def on_event(ev: PoolEvent) -> None:  # counts, keeps nothing
        nonlocal seen
        if isinstance(ev.event, p.DtmfDigit):
            seen += 1
            if seen in (100, 100 + EVENTS):
                done.set()

    pool = WorkerPool(PoolConfig(workers=0, token=TOKEN, health_interval=60), on_event)
    await pool.start()
    conn = await connect("127.0.0.1", pool.control_port)
    try:
        await conn.send(p.Hello(p.PROTOCOL_VERSION, "r1", 1, "10.0.0.9", 5080, 4, TOKEN))
        assert isinstance(await asyncio.wait_for(conn.recv(), 2), p.Welcome)

        async def send(n: int) -> None:
            # Distinct payloads: a retained event costs its own strings.
            for i in range(n):
                conn.send_nowait(Notification(p.DtmfDigit(f"leg-{i}-{seen}", "5", i)))
            await asyncio.wait_for(done.wait(), 30)
            done.clear()

        await send(100)  # warm-up: codec caches, buffers, the handle
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            await send(EVENTS)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    finally:
        await conn.close()
        await pool.stop()

    assert seen == 100 + EVENTS
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # One retained DtmfDigit (object + two strings) is > 150 bytes: 20,000 of them
    # would be > 3 MB. Allow a little for buffers and interpreter noise.
    assert growth < 256 * 1024, f"the pool kept {growth} bytes over {EVENTS} events"
