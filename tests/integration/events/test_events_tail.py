"""`contactgw events tail` as an operator runs it, against a real broker."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.events.broker import EmbeddedBroker
from gateway.events.connection import BrokerAddress
from gateway.events.envelope import EventFormat
from gateway.events.publisher import OutboxPublisher
from gateway.store import Database, OutboxMessage, OutboxStore

pytestmark = pytest.mark.integration


async def test_tail_prints_the_events_its_filter_selects(
    db: Database, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    config = tmp_path / "gw.yaml"
    config.write_text(f"mqtt: {{port: {broker.config.port}}}\n")
    tail = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "events", "tail", "--queue", "sales", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    address = BrokerAddress("127.0.0.1", broker.config.port)
    publisher = OutboxPublisher(
        OutboxStore(db),
        lambda: address.client("tail-test"),
        EventFormat("urn:contactgw:t", "http://x"),
        retention=timedelta(days=1),
        poll_s=0.1,
    )
    try:
        assert tail.stderr is not None and tail.stdout is not None
        banner = await asyncio.wait_for(tail.stderr.readline(), 20)
        assert b"contactgw/+/+/sales/+" in banner
        await asyncio.sleep(1.0)  # the subscription is made after the banner
        await publisher.start()
        now = datetime(2026, 3, 1, 12, tzinfo=UTC)
        await OutboxStore(db).add(
            [
                OutboxMessage("io.contactgw.call.queued", {"q": 1}, now, "c-1", queue="support"),
                OutboxMessage("io.contactgw.call.queued", {"q": 2}, now, "c-2", queue="sales"),
            ]
        )
        publisher.notify()
        line = await asyncio.wait_for(tail.stdout.readline(), 10)
        assert line.decode() == '2026-03-01T12:00:00Z call.queued c-2 {"q":2}\n'
    finally:
        await publisher.stop()
        tail.kill()
        await tail.wait()
