"""Outbox → real mosquitto → a consumer: order, the envelope, and nothing lost when the
broker or the publisher goes away."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.events.broker import EmbeddedBroker
from gateway.events.connection import BrokerAddress
from gateway.events.publisher import EventFormat, OutboxPublisher
from gateway.metrics import Metrics
from gateway.store import Database, OutboxMessage, OutboxStore
from tests.integration.events.consumer import Consumer
from tests.support.polling import wait_for

pytestmark = pytest.mark.integration

FORMAT = EventFormat("urn:contactgw:test", "http://127.0.0.1/events/schemas", "contactgw")
SUBJECTS = ("call-a", "call-b", "alice")


def event(n: int, subject: str) -> OutboxMessage:
    kind = "agent.state_changed" if subject == "alice" else "call.queued"
    return OutboxMessage(
        type=f"io.contactgw.{kind}",
        payload={"n": n},
        created_at=datetime.now(UTC),
        subject=subject,
        queue=None if subject == "alice" else "sales",
    )


def address(broker: EmbeddedBroker) -> BrokerAddress:
    return BrokerAddress("127.0.0.1", broker.config.port)


def publisher_for(db: Database, broker: EmbeddedBroker, **kwargs: object) -> OutboxPublisher:
    target = address(broker)
    return OutboxPublisher(
        OutboxStore(db),
        lambda: target.client("test-publisher"),
        FORMAT,
        retention=timedelta(days=7),
        poll_s=0.1,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def consumer(broker: EmbeddedBroker) -> AsyncIterator[Consumer]:
    c = Consumer(address(broker))
    await c.start()
    yield c
    await c.stop()


def assert_each_subject_in_order(consumer: Consumer, written: int) -> None:
    sequences = consumer.first_seen_sequences()
    assert sum(len(s) for s in sequences.values()) == written
    for subject, seen in sequences.items():
        assert seen == sorted(seen) == list(range(1, len(seen) + 1)), subject


async def test_events_arrive_in_order_as_cloudevents_and_are_marked_published(
    db: Database, broker: EmbeddedBroker, consumer: Consumer
) -> None:
    metrics = Metrics()
    publisher = publisher_for(db, broker, metrics=metrics)
    await publisher.start()
    try:
        store = OutboxStore(db)
        for n in range(30):
            await store.add([event(n, SUBJECTS[n % 3])])
            publisher.notify()
        assert await wait_for(lambda: len(consumer.received) >= 30, timeout=10)
        assert await wait_for(lambda: publisher.published == 30, timeout=5)
        assert await store.pending() == ()
    finally:
        await publisher.stop()
    assert_each_subject_in_order(consumer, 30)
    first = consumer.received[0]
    assert first.topic.startswith("contactgw/call/queued/sales/call-a")
    assert first.content_type == "application/cloudevents+json"
    assert first.event["specversion"] == "1.0" and first.event["source"] == "urn:contactgw:test"
    assert dict(first.user_properties)["id"] == first.event["id"]
    agent = next(r for r in consumer.received if r.event["subject"] == "alice")
    assert agent.topic == "contactgw/agent/state_changed/-/alice"
    body, _ = metrics.render()
    assert b'contactgw_events_published_total{type="io.contactgw.call.queued"} 20.0' in body
    assert b"contactgw_events_broker_connected 0.0" in body  # stopped


async def test_a_broker_outage_of_30s_loses_nothing_and_keeps_each_subjects_order(
    db: Database, broker: EmbeddedBroker, consumer: Consumer
) -> None:
    publisher = publisher_for(db, broker)
    store = OutboxStore(db)
    written = 0

    async def write_for(seconds: float) -> None:
        nonlocal written
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await store.add([event(written, SUBJECTS[written % 3])])
            written += 1
            publisher.notify()
            await asyncio.sleep(0.05)

    await publisher.start()
    try:
        await write_for(2)
        await broker.stop()
        await write_for(30)  # calls keep flowing while the broker is away
        assert not publisher.connected and publisher.last_error is not None
        assert publisher.pending > 0
        await broker.start()
        await write_for(2)
        assert await wait_for(lambda: len(consumer.ids()) >= written, timeout=45)
    finally:
        await publisher.stop()
    assert_each_subject_in_order(consumer, written)
    assert await store.pending() == ()


async def test_an_unacknowledged_message_is_not_marked_and_is_sent_again(
    db: Database, broker: EmbeddedBroker, consumer: Consumer
) -> None:
    """A frozen broker never sends PUBACK: the row stays pending; after the broker is
    killed and restarted, the publisher reconnects and sends it again."""
    publisher = publisher_for(db, broker)
    store = OutboxStore(db)
    await publisher.start()
    try:
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGSTOP)
        await store.add([event(0, "call-a")])
        publisher.notify()
        await asyncio.sleep(1.5)
        assert len(await store.pending()) == 1 and publisher.published == 0
        os.kill(broker.pid, signal.SIGKILL)  # the supervisor restarts it
        assert await wait_for(lambda: len(consumer.received) >= 1, timeout=30)
        assert await wait_for(lambda: publisher.published == 1, timeout=5)
        assert await store.pending() == ()
    finally:
        await publisher.stop()


async def _spawn_publisher(db_url: str, port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.events.publisher_main", db_url, str(port),
        stdout=asyncio.subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parents[3]),
    )  # fmt: skip
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"started\n"
    return proc


async def test_a_publisher_process_killed_while_the_broker_is_down_loses_nothing(
    db: Database, db_url: str, broker: EmbeddedBroker, consumer: Consumer
) -> None:
    store = OutboxStore(db)
    port = broker.config.port
    first = await _spawn_publisher(db_url, port)
    second: asyncio.subprocess.Process | None = None
    try:
        await store.add([event(n, SUBJECTS[n % 3]) for n in range(15)])
        assert await wait_for(lambda: len(consumer.ids()) >= 15, timeout=10)
        await broker.stop()
        await store.add([event(n, SUBJECTS[n % 3]) for n in range(15, 30)])
        await asyncio.sleep(0.5)
        first.kill()  # SIGKILL: no goodbye, whatever was in flight is in flight
        await first.wait()
        await store.add([event(n, SUBJECTS[n % 3]) for n in range(30, 45)])
        second = await _spawn_publisher(db_url, port)
        await asyncio.sleep(1)  # the new publisher retries a broker that is still down
        await broker.start()
        assert await wait_for(lambda: len(consumer.ids()) >= 45, timeout=45)
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert_each_subject_in_order(consumer, 45)
