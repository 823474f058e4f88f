"""Call events end to end: `contactgw run` with its embedded mosquitto, a real MQTT 5
subscriber, a sipp carrier call answered by a pjsua2 softphone. Every event the call
produces arrives once or more, in order per subject, valid by the committed schemas;
the example ticketing consumer ends with one closed ticket; the recording URL serves
the stereo file; replay serves the same events; a broker outage loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import pytest_asyncio

from examples.ticketing.consumer import Consumer
from examples.ticketing.store import TicketStore
from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import read_channels, tone_power
from tests.support.gateway_env import Gateway, start_phone
from tests.unit.events.contract import assert_valid_cloudevent

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CALL = "io.contactgw.call."
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


class Subscriber:
    """A real MQTT 5 client on the gateway's broker, collecting every CloudEvent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: list[dict[str, Any]] = []
        self.topics: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, identifier="e2e-subscriber",
                                          protocol=aiomqtt.ProtocolVersion.V5,
                                          clean_start=True) as client:  # fmt: skip
                    await client.subscribe("contactgw/#", qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        self.events.append(json.loads(message.payload))
                        self.topics.append(str(message.topic))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)  # the broker restarts: reconnect

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def of(self, subject: str) -> list[dict[str, Any]]:
        """Each event of `subject` once (deduplicated on id), in sequence order."""
        unique = {e["id"]: e for e in self.events if e.get("subject") == subject}
        return sorted(unique.values(), key=lambda e: int(e["sequence"]))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("events"), ROUTING, workers=2)
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def alice(gw: Gateway) -> AsyncIterator[AgentProcess]:
    phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)

    async def available() -> bool:
        return await gw.agent_state("alice") == "available"

    await gw.wait_for("alice available", available, timeout=10)
    yield phone
    await phone.stop()


async def answered_call(gw: Gateway) -> dict[str, Any]:
    sipp = await gw.call("+15550100100", hold_ms=4000)
    rc = await sipp.wait(40)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
    (row,) = await gw.cdr(1)
    assert row["disposition"] == "answered", row
    return row


async def completed(gw: Gateway, sub: Subscriber, call_id: str, timeout: float = 20) -> None:
    async def probe() -> bool:
        return any(e["type"] == CALL + "completed" for e in sub.of(call_id))

    await gw.wait_for(f"call.completed of {call_id}", probe, timeout=timeout)


async def test_an_answered_call_is_reported_to_a_subscriber_and_closes_a_ticket(
    gw: Gateway, alice: AgentProcess, tmp_path: Path
) -> None:
    sub = Subscriber(gw.mqtt_port)
    sub.start()
    try:
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        row = await answered_call(gw)
        await completed(gw, sub, row["id"])
    finally:
        await sub.stop()
    events = sub.of(row["id"])
    types = [e["type"].removeprefix(CALL) for e in events]
    assert types[:5] == ["received", "queued", "offered", "answered", "ended"], types
    assert types[-1] == "completed" and "io.contactgw.recording.ready" in [e["type"] for e in events]
    assert [int(e["sequence"]) for e in events] == list(range(1, len(events) + 1))
    for event in sub.events:
        assert_valid_cloudevent(event)
    answered = next(e for e in events if e["type"] == CALL + "answered")
    assert sub.topics[sub.events.index(answered)] == f"contactgw/call/answered/sales/{row['id']}"
    summary = events[-1]["data"]
    assert (summary["agent"], summary["disposition"], summary["hangup_by"]) == (
        "alice", "answered", "caller")  # fmt: skip
    assert summary["talk_seconds"] == pytest.approx(row["talk_seconds"], abs=0.01)
    assert summary["wrapup_seconds"] == pytest.approx(1.0, abs=0.5)
    agent_states = [e["data"]["state"] for e in sub.of("alice")]
    assert agent_states[-4:] == ["offered", "on-call", "wrap-up", "available"]

    # The recording URL in recording.ready serves the stereo file: caller 440 Hz left.
    ready = next(e for e in events if e["type"] == "io.contactgw.recording.ready")
    response = await gw.api.get(ready["data"]["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    wav = tmp_path / "stereo.wav"
    wav.write_bytes(response.content)
    channels, rate = read_channels(str(wav))
    assert tone_power(channels[:, 0], rate, 440) > 10 * tone_power(channels[:, 0], rate, 1000)

    # The example consumer, fed what the subscriber received (duplicates included).
    store = TicketStore(tmp_path / "tickets.sqlite")
    consumer = Consumer(store)
    for event in sub.events:
        consumer.handle(event)
    (ticket,) = store.tickets()
    assert (ticket.status, ticket.agent, ticket.queue) == ("closed", "alice", "sales")
    assert ticket.recording_url == ready["data"]["url"] and ticket.disposition == "answered"
    store.close()


async def test_replay_serves_what_a_consumer_missed(gw: Gateway, alice: AgentProcess) -> None:
    row = await answered_call(gw)

    async def replayed() -> list[dict[str, Any]] | None:
        page = await gw.get(f"/events?subject={row['id']}&limit=100")
        events: list[dict[str, Any]] = page["events"]
        return events if events and events[-1]["type"] == CALL + "completed" else None

    events = await gw.wait_for("replayed call events", replayed, timeout=20)
    assert events[0]["type"] == CALL + "received"
    later = await gw.get(f"/events?after={events[2]['id']}&subject={row['id']}")
    assert [e["id"] for e in later["events"]] == [e["id"] for e in events[3:]]
    bad = await gw.api.get("/events?after=not-a-cursor")
    assert bad.status_code == 422 and bad.json()["detail"]


async def test_a_broker_outage_while_calls_flow_loses_nothing(
    gw: Gateway, alice: AgentProcess
) -> None:
    broker_pid = int((gw.tmp / "var" / "run" / "mqtt" / "mosquitto.pid").read_text())
    sub = Subscriber(gw.mqtt_port)
    sub.start()
    try:
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        os.kill(broker_pid, signal.SIGSTOP)  # the broker hangs: no PUBACK, no delivery
        try:
            row = await answered_call(gw)
            await asyncio.sleep(2)
            health = await gw.get("/health")
            assert health["status"] == "ok"  # calls go on; events wait
        finally:
            os.kill(broker_pid, signal.SIGCONT)
        await completed(gw, sub, row["id"], timeout=60)
    finally:
        await sub.stop()
    stored = (await gw.get(f"/events?subject={row['id']}&limit=100"))["events"]
    assert [e["id"] for e in sub.of(row["id"])] == [e["id"] for e in stored]
