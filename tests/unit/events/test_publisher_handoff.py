"""The publisher fed by the write-behind (a real SQLite outbox, an in-process broker):
events from memory with no read, marks in the write-behind's batches, and every
guarantee of the table kept: order per subject, overflow, an outage, a restart, other
writers' rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.events.envelope import EventFormat
from gateway.events.handoff import Handoff
from gateway.events.publisher import OutboxPublisher
from gateway.metrics import Metrics
from gateway.store import Database, OutboxMessage, OutboxStore
from gateway.store import write_ops as wo
from gateway.store.write_behind import WriteBehind
from tests.support.database import migrated, sqlite_url
from tests.support.polling import wait_for
from tests.unit.events.fake_broker import FakeBroker

FORMAT = EventFormat("urn:contactgw:test", "http://127.0.0.1/events/schemas", "contactgw")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def call_events(subject: str, n: int) -> wo.EmitEvents:
    return wo.EmitEvents(
        tuple(
            OutboxMessage("io.contactgw.call.queued", {"n": i}, T0, subject=subject)
            for i in range(n)
        )
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated(sqlite_url(tmp_path)) as database:
        yield database


class Counting(OutboxStore):
    """The store, counting the publisher's own reads and transactions."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.reads = 0
        self.marks = 0

    async def pending_through(self, limit: int, after: int | None) -> Any:
        self.reads += 1
        return await super().pending_through(limit, after)

    async def mark_published(self, ids: Any, at: datetime) -> int:
        self.marks += 1
        return await super().mark_published(ids, at)


class Rig:
    """A publisher and a write-behind wired as the daemon wires them."""

    def __init__(self, db: Database, broker: FakeBroker, **kwargs: Any) -> None:
        self.store = Counting(db)
        self.metrics = Metrics()
        self.publisher = OutboxPublisher(
            self.store, broker.client, FORMAT, retention=timedelta(days=7),  # type: ignore[arg-type]
            metrics=self.metrics, **kwargs,
        )  # fmt: skip
        self.writes = WriteBehind(db, on_committed=self.publisher.committed)
        self.publisher.attach(self.writes)

    async def start(self) -> None:
        await self.publisher.start()
        await self.writes.start()

    async def stop(self) -> None:
        await self.writes.close(5)
        await self.publisher.stop()


async def connected(db: Database, broker: FakeBroker, **kwargs: Any) -> Rig:
    rig = Rig(db, broker, **kwargs)
    await rig.start()
    await until(lambda: rig.publisher.connected)
    return rig


async def all_published(db: Database, rig: Rig, total: int) -> bool:
    return rig.publisher.published == total and await OutboxStore(db).count_pending() == 0


def first_seen_in_order(broker: FakeBroker, subjects: dict[str, int]) -> None:
    """Every event of each subject arrived at least once, first in sequence order."""
    for subject, n in subjects.items():
        seen = broker.by_subject()[subject]
        firsts = list(dict.fromkeys(seen))
        assert firsts == list(range(1, n + 1)), subject


async def until(predicate: Callable[[], Any], timeout: float = 30.0) -> None:
    assert await wait_for(predicate, timeout, interval=0.02)


async def test_the_hot_path_reads_nothing_and_marks_in_the_write_behinds_batches(
    db: Database,
) -> None:
    broker = FakeBroker()
    rig = Rig(db, broker, poll_s=30.0)  # no poll during the test: memory or nothing
    await rig.start()
    await until(lambda: rig.publisher.connected and rig.store.reads == 1)
    subjects = {f"call/{i}": 5 for i in range(20)}
    for step in range(5):  # interleaved, as concurrent calls are
        for subject in subjects:
            rig.writes.put(call_events(subject, 1))
        await asyncio.sleep(0)
    await until(lambda: all_published(db, rig, 100))
    assert len(broker.received) == 100 and len(broker.ids()) == 100  # each exactly once
    first_seen_in_order(broker, subjects)
    assert rig.store.reads == 1  # the read at connect, none per event
    assert rig.store.marks == 0  # marked in the write-behind's transactions
    assert rig.publisher.from_memory == 100
    published = rig.metrics.events_published.labels(type="io.contactgw.call.queued")
    assert published._value.get() == 100
    # what went out from memory is what the table holds (replay looks the same)
    page, _ = await OutboxStore(db).page(limit=1000)
    by_id = {str(m.id): FORMAT.cloudevent(m) for m in page}
    assert all(by_id[e["id"]] == e for e in broker.received)
    await rig.stop()


async def test_an_overflowing_handoff_falls_back_to_the_table_in_order(db: Database) -> None:
    broker = FakeBroker()
    handoff = Handoff(capacity=8)
    rig = Rig(db, broker, batch=4, window=4, poll_s=30.0, handoff=handoff)
    await rig.start()
    await until(lambda: rig.publisher.connected)
    broker.acks.clear()  # PUBACKs held back: the window fills, memory piles up
    subjects = {"call/a": 30, "call/b": 30}
    for _ in range(30):
        for subject in subjects:
            rig.writes.put(call_events(subject, 1))
    await rig.writes.drained()
    assert handoff.overflows >= 1
    broker.acks.set()
    await until(lambda: all_published(db, rig, 60))
    first_seen_in_order(broker, subjects)
    assert len(broker.ids()) == 60
    assert rig.store.reads >= 2  # the connect, then the fall-back
    await rig.stop()


async def test_broker_down_then_up_every_event_at_least_once_in_order(db: Database) -> None:
    broker = FakeBroker()
    rig = await connected(db, broker, poll_s=0.2)
    subjects = {f"call/{i}": 20 for i in range(4)}
    for step in range(20):
        for subject in subjects:
            rig.writes.put(call_events(subject, 1))
        if step == 5:
            broker.acks.clear()  # in flight when the broker goes
            await rig.writes.drained()
            await until(lambda: len(broker.received) > 20)
            broker.go_down()
            broker.acks.set()
        if step == 12:
            await rig.writes.drained()
            assert not rig.publisher.connected
            broker.come_up()
    await until(lambda: all_published(db, rig, 80))
    first_seen_in_order(broker, subjects)
    assert len(broker.ids()) == 80 and broker.connects >= 2
    await rig.stop()


async def test_rows_left_unpublished_by_a_previous_run_go_first_after_a_restart(
    db: Database, tmp_path: Path
) -> None:
    broker = FakeBroker()
    broker.go_down()  # the first run never reaches the broker
    first = Rig(db, broker, poll_s=0.2)
    await first.start()
    for i in range(10):
        first.writes.put(call_events("call/x", 1))
    await first.writes.drained()
    await first.stop()
    assert await OutboxStore(db).count_pending() == 10
    broker.come_up()
    second = Rig(db, broker, poll_s=30.0)
    await second.start()
    for _ in range(5):
        second.writes.put(call_events("call/x", 1))
    await until(lambda: all_published(db, second, 15))
    assert broker.by_subject()["call/x"] == list(range(1, 16))
    await second.stop()


async def test_other_writers_rows_keep_their_place_by_notify_or_by_the_gap(db: Database) -> None:
    broker = FakeBroker()
    rig = await connected(db, broker, poll_s=30.0)
    other = OutboxStore(db)
    rig.writes.put(call_events("call/a", 1))
    await rig.writes.drained()
    await other.add([OutboxMessage("io.contactgw.worker.up", {}, T0, subject="w1")])
    rig.publisher.notify()  # as the daemon's other writers do
    await until(lambda: len(broker.received) == 2)
    await other.add([OutboxMessage("io.contactgw.worker.up", {}, T0, subject="w2")])
    # no notify: the write-behind's next row leaves a gap, and the table fills it
    rig.writes.put(call_events("call/a", 1))
    await until(lambda: all_published(db, rig, 4))
    page, _ = await OutboxStore(db).page(limit=10)
    assert [e["id"] for e in broker.received] == [str(m.id) for m in page]
    await rig.stop()


async def test_marks_left_when_the_write_behind_closes_are_made_by_the_publisher(
    db: Database,
) -> None:
    broker = FakeBroker()
    rig = await connected(db, broker, poll_s=30.0)
    await rig.writes.close(5)  # as at the daemon's stop: the write-behind goes first
    await OutboxStore(db).add(
        [OutboxMessage("io.contactgw.worker.up", {}, T0, subject=str(uuid.uuid4()))]
    )
    rig.publisher.notify()
    await until(lambda: all_published(db, rig, 1))
    assert rig.store.marks == 1
    await rig.publisher.stop()
