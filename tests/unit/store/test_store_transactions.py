"""BEGIN IMMEDIATE on every transaction: concurrent read-modify-write loses nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gateway.settings import RoutingSettings
from gateway.store import Database, RoutingRepository, create_engine


async def test_every_transaction_takes_the_write_lock_at_begin(db: Database, db_url: str) -> None:
    impatient = Database(create_engine(db_url, busy_timeout_ms=0))
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))  # a read-only transaction ...
            with pytest.raises(OperationalError, match="database is locked"):
                async with impatient.transaction() as other:  # ... still excludes writers
                    await other.execute(text("SELECT 1"))
        async with impatient.transaction() as other:  # and releases the lock at commit
            await other.execute(text("SELECT 1"))
    finally:
        await impatient.close()


async def test_concurrent_increments_do_not_lose_updates(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        await session.execute(text("INSERT INTO counter VALUES (0)"))

    async def increment() -> None:
        async with db.transaction() as session:
            n = (await session.execute(text("SELECT n FROM counter"))).scalar_one()
            await asyncio.sleep(0)  # let the other tasks run between our read and our write
            await session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    await asyncio.gather(*(increment() for _ in range(12)))
    async with db.transaction() as session:
        assert (await session.execute(text("SELECT n FROM counter"))).scalar_one() == 12


async def test_concurrent_applies_of_the_same_content_make_one_version(db: Database) -> None:
    repo = RoutingRepository(db)
    routing = RoutingSettings.model_validate({"queues": {"sales": {}}})
    results = await asyncio.gather(*(repo.apply_routing_config(routing, "test") for _ in range(6)))
    assert {r.version for r in results} == {1}
    assert [v.version for v in await repo.versions()] == [1]
