"""The ticketing example against a real mosquitto on 127.0.0.1: a call's CloudEvents
published with QoS 1 (one twice, one late) end in one closed ticket in SQLite, and
events published while the consumer is away reach it through its persistent session."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from examples.ticketing.consumer import Settings, run
from examples.ticketing.store import TicketStore
from examples.ticketing.tickets import Ticket
from gateway.events.catalogue import BY_TYPE
from gateway.events.schemas import channel_address
from tests.support.polling import wait_for
from tests.support.ports import tcp_port
from tests.unit.events.call_story import CALL, RECORDING_URL, answered_call

pytestmark = pytest.mark.integration

MOSQUITTO = "/usr/sbin/mosquitto"


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[int]:
    port = tcp_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"  # sessions still live in memory while it runs
        "log_dest stderr\n"
        f"user {getpass.getuser()}\n"  # as root it would switch to `mosquitto`
    )
    with (tmp_path / "mosquitto.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(MOSQUITTO, "-c", str(conf), stderr=log)
    try:
        assert await wait_for(lambda: _accepts(port), timeout=10), "mosquitto did not start"
        yield port
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def topic(event: dict[str, Any]) -> str:
    # the documented address (docs/events/asyncapi.yaml), filled in
    address = channel_address(BY_TYPE[event["type"]])
    return address.format(queue=event.get("queue", "-"), subject=event["subject"])


async def publish(port: int, events: list[dict[str, Any]]) -> None:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ContentType = "application/cloudevents+json"
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier="gateway-under-test", protocol=aiomqtt.ProtocolVersion.V5
    ) as gateway:
        for event in events:
            await gateway.publish(topic(event), json.dumps(event), qos=1, properties=props)


async def start(port: int, store: TicketStore) -> asyncio.Task[None]:
    ready = asyncio.Event()
    settings = Settings(broker=f"mqtt://127.0.0.1:{port}", api=None, client_id="ticketing-test")
    task = asyncio.create_task(run(settings, store, on_ready=ready.set))
    await asyncio.wait_for(ready.wait(), 10)
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def closed_ticket(db: Path) -> Ticket | None:
    reader = TicketStore(db)
    try:
        tickets = reader.tickets()
    finally:
        reader.close()
    return tickets[0] if len(tickets) == 1 and tickets[0].status == "closed" else None


async def test_a_call_with_a_duplicate_and_a_late_event_ends_in_one_closed_ticket(
    broker: int, tmp_path: Path
) -> None:
    db = tmp_path / "tickets.sqlite"
    store = TicketStore(db)
    task = await start(broker, store)
    try:
        events = answered_call()
        # bob's offer (5) comes after his answer (6); the answer comes twice
        await publish(broker, [events[i] for i in (0, 1, 2, 3, 5, 4, 5, 6, 7, 8)])
        ticket = await wait_for(lambda: closed_ticket(db), timeout=10)
    finally:
        await stop(task)
        store.close()
    assert ticket is not None, "no closed ticket"
    assert (ticket.call_id, ticket.caller, ticket.did) == (CALL, "+15557654321", "+15550100100")
    assert (ticket.queue, ticket.agent, ticket.disposition) == ("sales", "bob", "answered")
    assert (ticket.wait_seconds, ticket.talk_seconds, ticket.wrapup_seconds) == (21.0, 120.0, 10.0)
    assert ticket.recording_url == RECORDING_URL
    assert (ticket.offers, ticket.last_sequence) == (1, 9)  # the late offer was not applied
    with contextlib.closing(sqlite3.connect(db)) as raw:
        log = raw.execute(
            "SELECT sequence, outcome FROM ticket_events ORDER BY position"
        ).fetchall()
    # the duplicate left no row; the late one is on record as stale
    assert log == [(n, "applied") for n in (1, 2, 3, 4, 6)] + [(5, "stale")] + [
        (n, "applied") for n in (7, 8, 9)
    ]


async def test_events_published_while_the_consumer_is_away_arrive_when_it_returns(
    broker: int, tmp_path: Path
) -> None:
    db = tmp_path / "tickets.sqlite"
    store = TicketStore(db)
    events = answered_call()

    def taken_in() -> int:
        ticket = store.load(CALL)
        return 0 if ticket is None else len(ticket.seen)

    task = await start(broker, store)
    try:
        await publish(broker, events[:3])
        assert await wait_for(lambda: taken_in() == 3, timeout=10)
        await stop(task)
        await publish(broker, events[3:])  # the broker keeps them for the session
        task = await start(broker, store)
        ticket = await wait_for(lambda: closed_ticket(db), timeout=10)
    finally:
        await stop(task)
        store.close()
    assert ticket is not None and ticket.last_sequence == 9
