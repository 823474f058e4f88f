"""Threads stay flat with the worker count: children are reaped through pidfds on the
loop (gateway/supervisor/children.py), not by a waiting thread each.

Before, asyncio's ThreadedChildWatcher kept one thread per child for its whole life
(64 workers: 64 threads). The workers here are real processes started by the pool's
own spawn path; they run tests/unit/supervisor/fake_worker.py instead of pjsua2."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.supervisor import PoolConfig, WorkerPool
from gateway.supervisor.children import pidfd_supported

FAKE = Path(__file__).with_name("fake_worker.py")
REPO = Path(__file__).resolve().parents[3]


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    """An "interpreter" that runs the fake worker with the pool's arguments."""
    script = tmp_path / "python"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} {FAKE} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


async def started(fake_python: str, workers: int, prefix: str, port: int) -> WorkerPool:
    config = PoolConfig(workers=workers, id_prefix=prefix, sip_port_base=port,
                        python=fake_python, health_interval=60, start_timeout=60)  # fmt: skip
    pool = WorkerPool(config)
    await pool.start()
    return pool


@pytest.fixture
async def pools() -> AsyncIterator[list[WorkerPool]]:
    running: list[WorkerPool] = []
    yield running
    await asyncio.gather(*(pool.stop() for pool in running))


@pytest.mark.timeout(120)
async def test_threads_do_not_grow_with_the_workers(
    fake_python: str, pools: list[WorkerPool]
) -> None:
    assert pidfd_supported(), "Linux >= 5.3 with pidfd_open is required (CI runs on one)"
    pools.append(await started(fake_python, 2, "a", 15080))
    await asyncio.sleep(0.2)
    with_two = threads()
    pools.append(await started(fake_python, 14, "b", 15100))
    await asyncio.sleep(0.2)
    with_sixteen = threads()
    procs = [w.pid for pool in pools for w in pool.workers()]
    assert len(procs) == 16 and all(procs)
    assert with_sixteen - with_two <= 1, (with_two, with_sixteen)


@pytest.mark.timeout(60)
async def test_a_worker_that_dies_is_still_seen_and_restarted(
    fake_python: str, pools: list[WorkerPool]
) -> None:
    """Exits are noticed through the pidfd: the pool reports and restarts the worker."""
    pool = await started(fake_python, 1, "k", 15140)
    pools.append(pool)
    first = pool.workers()[0].pid
    assert first is not None
    pool.kill("k1")
    for _ in range(200):
        await asyncio.sleep(0.05)
        info = pool.workers()[0]
        if info.state == "up" and info.pid not in (None, first):
            break
    info = pool.workers()[0]
    assert (info.state, info.restarts) == ("up", 1) and info.pid != first
