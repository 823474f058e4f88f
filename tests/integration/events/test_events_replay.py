"""A consumer that was offline catches up through `GET /events` on a real API server,
with the events side built from settings as the daemon builds it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
import pytest
import uvicorn

from gateway.api.app import ControlPlaneApi, create_app
from gateway.events.connection import BrokerAddress
from gateway.events.service import EventsService
from gateway.settings import parse_settings
from gateway.store import Database, OutboxMessage, OutboxStore
from tests.integration.events.consumer import Consumer
from tests.support.polling import wait_for
from tests.support.ports import tcp_port

pytestmark = pytest.mark.integration


async def test_events_missed_while_offline_are_served_by_the_api(
    db: Database, tmp_path: Path
) -> None:
    mqtt_port, api_port = tcp_port(), tcp_port()
    settings = parse_settings(
        f"data_dir: {tmp_path}\napi: {{port: {api_port}, admin_token: t0k}}\n"
        f"mqtt: {{port: {mqtt_port}, instance: gw-test}}\n",
        file="gw.yaml",
        base_dir=tmp_path,
        environ={},
    )
    events = EventsService.from_settings(settings, db)
    await events.start()
    app = create_app(cast(ControlPlaneApi, object()), "t0k", events=events.replay)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    consumer = Consumer(BrokerAddress("127.0.0.1", mqtt_port), session_expiry_s=0)
    try:
        store = OutboxStore(db)
        await consumer.start()
        seen = OutboxMessage(
            type="io.contactgw.call.received",
            payload={},
            created_at=datetime.now(UTC),
            subject="c1",
        )
        await store.add([seen])
        events.notify()
        assert await wait_for(lambda: len(consumer.received) == 1, timeout=10)
        await consumer.stop()  # offline: clean session, so the broker keeps nothing for it
        missed = [
            OutboxMessage(type="io.contactgw.call.queued", payload={"n": n}, created_at=datetime.now(UTC), subject="c1")
            for n in range(25)
        ]  # fmt: skip
        await store.add(missed)
        events.notify()
        assert events.state is not None
        assert await wait_for(lambda: events.state and events.state.published == 26, timeout=10)
        assert await wait_for(lambda: server.started, timeout=10)

        caught_up: list[dict[str, object]] = []
        cursor: object = consumer.received[-1].event["id"]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": "Bearer t0k"}
        ) as http:
            while cursor is not None:
                page = (await http.get("/events", params={"after": cursor, "limit": 10})).json()
                caught_up += page["events"]
                cursor = page["next"]
        assert [e["id"] for e in caught_up] == [str(m.id) for m in missed]
        assert caught_up[0]["source"] == "urn:contactgw:gw-test"
        assert caught_up[0]["dataschema"].startswith(f"http://127.0.0.1:{api_port}/events/schemas/")
    finally:
        await consumer.stop()
        server.should_exit = True
        await serving
        await events.stop()
