"""The write-behind's side of the events hand-off, on both backends: the events a batch
inserted come back as a read gives them, and marks go into the next batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from gateway.store import Database, OutboxMessage, OutboxStore
from gateway.store import write_ops as wo
from gateway.store.write_behind import WriteBehind, WriteBehindClosed, WriteBehindOutbox

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def events(subject: str, n: int) -> wo.EmitEvents:
    return wo.EmitEvents(
        tuple(
            OutboxMessage("io.contactgw.call.queued", {"n": i, "x": "a\x00b"}, T0, subject=subject)
            for i in range(n)
        )
    )


async def test_committed_events_come_back_as_the_table_holds_them(db: Database) -> None:
    handed: list[OutboxMessage] = []

    def committed(batch: Sequence[OutboxMessage]) -> None:
        handed.extend(batch)

    writer = WriteBehind(db, max_batch=4, on_committed=committed)
    await OutboxStore(db).add(events("call/a", 2).events)  # numbering goes on from these
    for subject in ("call/a", "call/b", "call/a"):
        writer.put(events(subject, 3))
    await writer.start()
    await writer.drained()
    page, _ = await OutboxStore(db).page(limit=100)
    stored = {m.id: m for m in page}
    assert [m.position for m in handed] == [m.position for m in page[2:]]
    for m in handed:  # positions, sequences, NULs as stored (payload NULs: the publisher)
        s = stored[m.id]
        assert (m.position, m.sequence, m.subject, m.type) == (
            s.position, s.sequence, s.subject, s.type,
        )  # fmt: skip
    assert [m.sequence for m in handed if m.subject == "call/a"] == list(range(3, 9))
    await writer.close(1)


async def test_marks_go_into_the_next_batch_and_fail_back_at_close(db: Database) -> None:
    writer = WriteBehind(db)
    await writer.start()
    batch = events("call/a", 3).events
    writer.put(wo.EmitEvents(batch))
    await writer.drained()
    at = datetime(2026, 3, 1, 9, 5, tzinfo=UTC)
    done = writer.mark_published([e.id for e in batch[:2]], at)
    await asyncio.wait_for(done, 5)
    page, _ = await OutboxStore(db).page(limit=10)
    assert [m.published_at for m in page] == [at, at, None]
    await writer.close(1)
    late = writer.mark_published([batch[2].id], at)
    with pytest.raises(WriteBehindClosed):
        await late
    assert await OutboxStore(db).count_pending() == 1


async def test_a_mark_waits_out_a_database_outage_with_the_batch(db: Database) -> None:
    writer = WriteBehind(db, backoff=(0.01, 0.02))
    await writer.start()
    batch = events(f"call/{uuid.uuid4()}", 1).events
    writer.put(wo.EmitEvents(batch))
    await writer.drained()
    real = writer._write
    fails = [True, True]

    async def flaky(ops: list[wo.WriteOp], *, careful: bool) -> None:
        if fails:
            fails.pop()
            import sqlite3

            from sqlalchemy import exc as sa

            raise sa.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
        await real(ops, careful=careful)

    writer._write = flaky  # type: ignore[method-assign]
    done = writer.mark_published([batch[0].id], T0)
    await asyncio.wait_for(done, 5)
    assert not fails and writer.retries == 2
    assert await OutboxStore(db).count_pending() == 0
    await writer.close(1)


async def test_platform_events_ride_the_write_behind_until_it_closes(db: Database) -> None:
    handed: list[OutboxMessage] = []
    writer = WriteBehind(db, on_committed=handed.extend)
    outbox = WriteBehindOutbox(db, writer)
    await writer.start()
    await outbox.add(events("w1", 2).events)
    await writer.drained()
    assert [m.sequence for m in handed] == [1, 2]  # committed in a batch, handed over
    await writer.close(1)
    await outbox.add(events("w1", 1).events)  # closed: written by the store itself
    page, _ = await OutboxStore(db).page(subject="w1")
    assert [m.sequence for m in page] == [1, 2, 3] and len(handed) == 2
