"""A real mosquitto per test, started by the test on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.events.broker import BrokerConfig, EmbeddedBroker
from gateway.store import Database
from tests.support.database import migrated, sqlite_url
from tests.support.ports import tcp_port


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    process = EmbeddedBroker(BrokerConfig(run_dir=tmp_path / "run", port=tcp_port()))
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    async with migrated(db_url) as database:
        yield database
