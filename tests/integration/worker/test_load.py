"""20 simultaneous conversations across 10 workers (2 per worker = 4 legs, full)."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.ipc import protocol as p
from gateway.supervisor import PoolEvent
from tests.integration.worker.conftest import is_event, start_agent, start_caller
from tests.integration.worker.test_conversation import assert_tone, connect_agent
from tests.support.sipp import uac_bye, uas_wait_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

WORKERS = 10
PER_WORKER = 2


async def test_twenty_conversations_on_ten_workers(make_harness, pcaps, tmp_path):
    h = await make_harness(WORKERS)
    total = WORKERS * PER_WORKER
    agent, agent_port = await start_agent(
        tmp_path, pcaps["tone1000"], end=uas_wait_bye(), calls=total
    )
    tasks: list[asyncio.Task[str]] = []

    def on_incoming(ev: PoolEvent) -> None:  # the test's stand-in for the control plane
        if isinstance(ev.event, p.IncomingCall):
            tasks.append(
                asyncio.ensure_future(
                    connect_agent(h, ev.worker_id, ev.event.leg, agent_port, tmp_path, ev.event.leg)
                )
            )

    h.listeners.append(on_incoming)
    callers = []
    started = time.monotonic()
    try:
        for w in h.pool.workers():
            callers.append(
                await start_caller(
                    tmp_path,
                    w.sip_port,
                    pcaps["tone440"],
                    pcaps["dtmf"],
                    dtmf_after_ms=6000,
                    end=uac_bye(800),
                    calls=PER_WORKER,
                    from_user=f"caller-{w.worker_id}",
                )
            )
        deadline = time.monotonic() + 20
        while len(tasks) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert len(tasks) == total
        agent_legs = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert h.pool.capacity().free_legs == 0
        codes = await asyncio.gather(*(c.wait(40) for c in callers))
        assert codes == [0] * WORKERS, [c.errors() for c in callers if c.proc.returncode]
        for leg in agent_legs:
            await h.wait(is_event(p.RecordingClosed, leg=leg), 10)
        assert await agent.wait(10) == 0, agent.errors()
    finally:
        for s in [*callers, agent]:
            s.kill()
    elapsed = time.monotonic() - started

    recordings = [ev.event for ev in h.find(is_event(p.RecordingClosed))]
    assert len(recordings) == 2 * total
    for rec in recordings:
        if rec.leg.endswith("-agent"):
            assert_tone(rec.path, 1000, 440, min_seconds=4.0)
        else:
            assert_tone(rec.path, 440, 1000, min_seconds=5.0)
    per_worker = {}
    for ev in h.find(is_event(p.IncomingCall)):
        per_worker[ev.worker_id] = per_worker.get(ev.worker_id, 0) + 1
    assert per_worker == {f"w{i}": PER_WORKER for i in range(1, WORKERS + 1)}
    assert elapsed < 45
    assert h.pool.capacity().legs == 0
