"""The outbox's publish queue and replay pages, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.store import Database, NotFoundError, OutboxMessage, OutboxStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(
    n: int, *, subject: str = "call-1", type: str = "io.contactgw.call.queued"
) -> OutboxMessage:
    return OutboxMessage(
        type=type, payload={"n": n}, created_at=T0 + timedelta(seconds=n), subject=subject,
        queue="sales",
    )  # fmt: skip


async def test_stored_events_get_increasing_positions_and_keep_their_fields(db: Database) -> None:
    store = OutboxStore(db)
    written = [event(1), event(2, subject="alice")]
    await store.add(written)
    pending = await store.pending()
    assert [e.position for e in pending] == [1, 2]
    assert [(e.id, e.subject, e.queue, e.payload, e.sequence) for e in pending] == [
        (e.id, e.subject, e.queue, e.payload, 1) for e in written
    ]


async def test_published_events_leave_the_queue_and_are_purged_after_retention(
    db: Database,
) -> None:
    store = OutboxStore(db)
    first, second, third = event(1), event(2), event(3)
    await store.add([first, second, third])
    assert await store.mark_published([first.id, second.id], T0) == 2
    assert await store.mark_published([first.id], T0) == 0  # already published
    assert [e.id for e in await store.pending()] == [third.id]
    assert await store.count_pending() == 1
    assert await store.purge_published(before=T0) == 0  # published at T0: not before
    assert await store.purge_published(before=T0 + timedelta(seconds=1)) == 2
    assert [e.id for e in (await store.page())[0]] == [third.id]  # one subject's newest


async def test_each_subject_counts_its_own_sequence_across_writes(db: Database) -> None:
    store = OutboxStore(db)
    await store.add([event(1, subject="a"), event(2, subject="b"), event(3, subject="a")])
    await store.add([event(4, subject="a")])
    pending = await store.pending()
    assert [(e.subject, e.sequence) for e in pending] == [("a", 1), ("b", 1), ("a", 2), ("a", 3)]


async def test_the_purge_keeps_each_subjects_newest_so_its_sequence_goes_on(
    db: Database,
) -> None:
    store = OutboxStore(db)
    await store.add([event(1), event(2)])
    await store.mark_published([e.id for e in await store.pending()], T0)
    assert await store.purge_published(before=T0 + timedelta(days=1)) == 1
    await store.add([event(3)])
    page, _ = await store.page()
    assert [e.sequence for e in page] == [2, 3]


async def test_pages_follow_the_cursor_until_caught_up(db: Database) -> None:
    store = OutboxStore(db)
    await store.add([event(n) for n in range(1, 6)])
    await store.mark_published([(await store.pending(1))[0].id], T0)  # replay keeps it
    page, cursor = await store.page(limit=2)
    assert ([e.sequence for e in page], cursor) == ([1, 2], 2)
    page, cursor = await store.page(after=cursor, limit=2)
    assert ([e.sequence for e in page], cursor) == ([3, 4], 4)
    page, cursor = await store.page(after=cursor, limit=2)
    assert ([e.sequence for e in page], cursor) == ([5], None)


async def test_a_page_starts_after_an_event_id_and_filters_by_type_and_subject(
    db: Database,
) -> None:
    store = OutboxStore(db)
    events = [
        event(1),
        event(2, subject="call-2"),
        event(3, type="io.contactgw.call.answered"),
        event(4),
    ]
    await store.add(events)
    page, _ = await store.page(after=events[0].id, subject="call-1")
    assert [e.payload["n"] for e in page] == [3, 4]
    page, _ = await store.page(type="io.contactgw.call.answered")
    assert [e.id for e in page] == [events[2].id]


async def test_an_unknown_event_id_as_cursor_is_an_error(db: Database) -> None:
    with pytest.raises(NotFoundError, match="not retained"):
        await OutboxStore(db).page(after=uuid.uuid4())


async def test_positions_are_not_reused_after_a_purge(db: Database) -> None:
    """A consumer holding cursor N must never meet a new event numbered N or less."""
    store = OutboxStore(db)
    await store.add([event(1), event(2, subject="call-2")])
    await store.mark_published([e.id for e in await store.pending()], T0)
    await store.add([event(3), event(4, subject="call-2")])  # now 1 and 2 may go
    await store.mark_published([e.id for e in await store.pending()], T0)
    assert await store.purge_published(before=T0 + timedelta(seconds=1)) == 2
    await store.add([event(5)])
    assert [e.position for e in await store.pending()] == [5]


async def test_reads_do_not_wait_for_a_writer_holding_the_lock(db: Database) -> None:
    """The publisher's reads take no write lock: a long write does not stall them."""
    import asyncio

    store = OutboxStore(db)
    await store.add([event(1)])
    holding, release = asyncio.Event(), asyncio.Event()

    async def long_write() -> None:
        async with db.transaction() as session:  # takes the write lock
            from gateway.store.outbox import add_events

            await add_events(session, [event(2)])
            await session.flush()
            holding.set()
            await release.wait()

    writer = asyncio.create_task(long_write())
    await holding.wait()
    pending = await asyncio.wait_for(store.pending(), timeout=1.0)  # busy_timeout is 5 s
    assert [e.payload["n"] for e in pending] == [1]  # the uncommitted row is not seen
    release.set()
    await writer
