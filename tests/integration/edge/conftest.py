"""Fixtures for the edge integration tests: a real Kamailio per test, sipp peers."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.edge import EdgeManager, EdgeSettings
from tests.support.edge_env import SippPool, sip_port

KAMAILIO = "/usr/sbin/kamailio"
SIP_DOMAIN = "cc.example.test"

pytestmark = pytest.mark.integration

EdgeFactory = Callable[..., Awaitable[EdgeManager]]


@pytest.fixture
def workdir() -> Any:
    # short path: the RPC unix socket lives in here (sun_path is 108 bytes)
    path = Path(tempfile.mkdtemp(prefix="cgwe-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def sipp(workdir: Path) -> AsyncIterator[SippPool]:
    pool = SippPool(workdir)
    try:
        yield pool
    finally:
        await pool.stop_all()


@pytest.fixture
async def edge_factory(workdir: Path) -> AsyncIterator[EdgeFactory]:
    if shutil.which(KAMAILIO) is None:
        pytest.skip("kamailio not installed")
    managers: list[EdgeManager] = []

    async def make(**overrides: Any) -> EdgeManager:
        values: dict[str, Any] = {
            "rundir": workdir / "edge",
            "listen_address": "127.0.0.1",
            "listen_port": sip_port(),
            "sip_domain": SIP_DOMAIN,
            "children": 2,
            "shm_mb": 64,
            "log_level": "info",
        }
        values.update(overrides)
        manager = EdgeManager(EdgeSettings(**values))
        managers.append(manager)
        await manager.start()
        return manager

    try:
        yield make
    finally:
        for manager in managers:
            await manager.stop()
            # shown by pytest only when the test failed
            print(f"--- kamailio log ({manager.rundir})\n{manager.process.tail_text(120)}")
