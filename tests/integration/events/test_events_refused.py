"""A broker that refuses an event in its PUBACK (MQTT 5 reason code): the event is not
marked published, and the refusal shows in the publisher's state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.events.broker import MOSQUITTO
from gateway.events.connection import BrokerAddress
from gateway.events.envelope import EventFormat
from gateway.events.publisher import OutboxPublisher
from gateway.store import Database, OutboxMessage, OutboxStore
from tests.support.polling import wait_for
from tests.support.ports import tcp_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def strict_broker(tmp_path: Path) -> AsyncIterator[int]:
    """mosquitto whose ACL lets anonymous clients publish call events only."""
    port = tcp_port()
    (tmp_path / "acl").write_text("topic readwrite contactgw/call/#\n")
    (tmp_path / "m.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {tmp_path / 'acl'}\n"
        "user root\nlog_dest stderr\n"
    )
    proc = await asyncio.create_subprocess_exec(
        MOSQUITTO, "-c", str(tmp_path / "m.conf"), stderr=asyncio.subprocess.DEVNULL
    )

    async def listening() -> bool:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return True
        return False

    assert await wait_for(listening, timeout=10)
    yield port
    proc.terminate()
    await proc.wait()


async def test_a_refused_event_stays_pending_and_the_reason_is_reported(
    db: Database, strict_broker: int
) -> None:
    address = BrokerAddress("127.0.0.1", strict_broker)
    store = OutboxStore(db)
    publisher = OutboxPublisher(
        store,
        lambda: address.client("strict-test"),
        EventFormat("urn:contactgw:t", "http://x"),
        retention=timedelta(days=1),
        poll_s=0.1,
    )
    now = datetime.now(UTC)
    allowed = OutboxMessage("io.contactgw.call.queued", {}, now, "c-1", queue="sales")
    refused = OutboxMessage("io.contactgw.agent.state_changed", {}, now, "alice")
    await store.add([allowed, refused])
    await publisher.start()
    try:
        assert await wait_for(
            lambda: publisher.last_error and "refused" in publisher.last_error, 10
        )
        await asyncio.sleep(0.3)
        assert [e.id for e in await store.pending()] == [refused.id]
        assert "authori" in (publisher.last_error or "").lower()
    finally:
        await publisher.stop()
