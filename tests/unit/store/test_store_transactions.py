"""One writer at a time on both backends: concurrent read-modify-write loses nothing.

SQLite: BEGIN IMMEDIATE on every transaction. PostgreSQL: every write transaction takes
the writer advisory lock first (gateway/store/engine.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.settings import RoutingSettings
from gateway.store import Database, OutboxMessage, OutboxStore, RoutingRepository, create_engine

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOCKED = "database is locked|lock timeout"  # SQLite's SQLITE_BUSY, PostgreSQL's 55P03


async def test_every_transaction_takes_the_write_lock_at_begin(db: Database, db_url: str) -> None:
    impatient = Database(create_engine(db_url, busy_timeout_ms=0))
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))  # a read-only transaction ...
            with pytest.raises(DBAPIError, match=LOCKED):
                async with impatient.transaction() as other:  # ... still excludes writers
                    await other.execute(text("SELECT 1"))
            async with impatient.reading() as reader:  # but not readers
                await reader.execute(text("SELECT 1"))
        async with impatient.transaction() as other:  # and releases the lock at commit
            await other.execute(text("SELECT 1"))
    finally:
        await impatient.close()


async def test_a_rolled_back_transaction_releases_the_lock(db: Database, db_url: str) -> None:
    impatient = Database(create_engine(db_url, busy_timeout_ms=0))
    try:
        with pytest.raises(ZeroDivisionError):
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
                _ = 1 / 0
        async with impatient.transaction() as other:
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


async def test_concurrent_writers_from_two_engines_do_not_lose_updates(
    db: Database, db_url: str
) -> None:
    """Two engines stand for two processes sharing the database."""
    other = Database.open(db_url)
    try:
        store, other_store = OutboxStore(db), OutboxStore(other)
        events = [
            OutboxMessage(type="t", payload={"n": n}, created_at=T0, subject="call-1")
            for n in range(20)
        ]
        await asyncio.gather(
            *((store if n % 2 else other_store).add([e]) for n, e in enumerate(events))
        )
        stored = await store.pending(limit=100)
        assert sorted(e.sequence for e in stored) == list(range(1, 21))
    finally:
        await other.close()


async def test_concurrent_outbox_writes_number_one_subject_without_gaps(db: Database) -> None:
    """The per-subject sequence is MAX + 1 in the INSERT: writers must not interleave."""
    store = OutboxStore(db)

    def event(n: int) -> OutboxMessage:
        return OutboxMessage(type="t", payload={"n": n}, created_at=T0, subject="call-1")

    await asyncio.gather(*(store.add([event(2 * n), event(2 * n + 1)]) for n in range(10)))
    stored = await store.pending(limit=100)
    assert [e.sequence for e in stored] == list(range(1, 21))  # position order = number order


async def test_concurrent_applies_of_the_same_content_make_one_version(db: Database) -> None:
    repo = RoutingRepository(db)
    routing = RoutingSettings.model_validate({"queues": {"sales": {}}})
    results = await asyncio.gather(*(repo.apply_routing_config(routing, "test") for _ in range(6)))
    assert {r.version for r in results} == {1}
    assert [v.version for v in await repo.versions()] == [1]


async def test_concurrent_applies_of_different_contents_each_make_a_version(
    db: Database,
) -> None:
    repo = RoutingRepository(db)
    contents = [
        RoutingSettings.model_validate({"queues": {f"q{n}": {}}, "region": "US"}) for n in range(5)
    ]
    results = await asyncio.gather(*(repo.apply_routing_config(r, "test") for r in contents))
    assert sorted(r.version for r in results) == [1, 2, 3, 4, 5]
    loaded = await repo.load_routing_config()
    assert loaded is not None
    version, routing = loaded
    assert version.version == 5
    (newest,) = [r for r, v in zip(contents, results, strict=True) if v.version == 5]
    assert routing == newest  # the tables hold the last version's content, whole
