"""The shell around `tickets.apply`: MQTT in, SQLite out, replay on every connect.

On each connection (and again after a broker outage, with backoff) the consumer
subscribes first, then catches up through the gateway's `GET /events?after=<cursor>`,
then takes live events. Events that arrive during the catch-up wait in the client's
queue; those the replay already applied come back as duplicates and change nothing.
The MQTT session is persistent (clean start off, an expiry interval), so the broker
also keeps QoS 1 events for this client while it is away.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import httpx
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from examples.ticketing.store import TicketStore
from examples.ticketing.tickets import NotAnEvent, Outcome, apply, parse

log = logging.getLogger("examples.ticketing")

PAGE = 500  # events per replay request
SESSION_EXPIRY_S = 24 * 3600  # how long the broker keeps our events while we are away
MAX_BACKOFF_S = 30.0


def topics(prefix: str) -> list[str]:
    return [f"{prefix}/call/#", f"{prefix}/recording/#"]


class Consumer:
    def __init__(self, store: TicketStore) -> None:
        self.store = store

    def handle(self, raw: bytes | str | Mapping[str, Any]) -> Outcome | None:
        """Take in one event (MQTT payload or replayed object); None: not a call event."""
        try:
            obj = json.loads(raw) if isinstance(raw, bytes | str) else raw
        except ValueError:
            log.warning("ignoring a message that is not JSON")
            return None
        if not isinstance(obj, Mapping):
            log.warning("ignoring a message that is not a JSON object")
            return None
        try:
            event = parse(obj)
        except NotAnEvent as exc:
            if isinstance(obj.get("id"), str):  # a replayed agent or queue event: skip it
                self.store.move_cursor(obj["id"])
            log.debug("%s", exc)
            return None
        step = apply(self.store.load(event.call_id), event)
        self.store.save(event, step)
        log.info("%s %s #%d: %s", event.call_id, event.type, event.sequence, step.outcome)
        return step.outcome


async def catch_up(consumer: Consumer, http: httpx.AsyncClient, page_size: int = PAGE) -> int:
    """Apply what the gateway retained after our cursor; returns how many events came."""
    cursor, count = consumer.store.cursor(), 0
    while True:
        params: dict[str, str | int] = {"limit": page_size}
        if cursor is not None:
            params["after"] = cursor
        response = await http.get("/events", params=params)
        if response.status_code == 422 and cursor is not None:
            # Our cursor is older than the gateway's retention (or unknown to it): take
            # all it still has; dedupe and the sequence rule make the overlap harmless.
            log.warning("replay refused after=%s (%s); from the start", cursor, response.text)
            cursor = None
            continue
        response.raise_for_status()
        page = response.json()
        events = page.get("events") or []
        for event in events:
            consumer.handle(event)
        count += len(events)
        following = page.get("next")
        if not events or following is None or str(following) == cursor:
            return count
        cursor = str(following)


@dataclass(frozen=True, slots=True)
class Settings:
    broker: str  # mqtt://host:port
    api: str | None  # the gateway's API, for replay; None: live events only
    prefix: str = "contactgw"
    client_id: str = "contactgw-ticketing"
    username: str | None = None
    password: str | None = None
    api_token: str | None = None


async def run(
    settings: Settings, store: TicketStore, on_ready: Callable[[], None] | None = None
) -> None:
    """Consume until cancelled. `on_ready` is called once subscribed and caught up."""
    consumer = Consumer(store)
    address = urlsplit(settings.broker)
    backoff = 1.0
    while True:
        try:
            async with _client(settings, address.hostname or "127.0.0.1", address.port) as mqtt:
                for topic in topics(settings.prefix):
                    await mqtt.subscribe(topic, qos=1)
                await _replay(settings, consumer)
                backoff = 1.0
                if on_ready is not None:
                    on_ready()
                async for message in mqtt.messages:
                    if isinstance(message.payload, bytes | str):
                        consumer.handle(message.payload)
        except aiomqtt.MqttError as exc:
            log.warning("broker %s: %s; retrying in %.0f s", settings.broker, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


def _client(settings: Settings, host: str, port: int | None) -> aiomqtt.Client:
    connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    connect.SessionExpiryInterval = SESSION_EXPIRY_S
    return aiomqtt.Client(
        host,
        port or 1883,
        identifier=settings.client_id,
        username=settings.username,
        password=settings.password,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=connect,
    )


async def _replay(settings: Settings, consumer: Consumer) -> None:
    if settings.api is None:
        return
    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    try:
        async with httpx.AsyncClient(base_url=settings.api, headers=headers) as http:
            count = await catch_up(consumer, http)
    except httpx.HTTPError as exc:  # the gateway may be down: live events still flow
        log.warning("catch-up through %s failed: %s", settings.api, exc)
        return
    log.info("caught up: %d events from %s", count, settings.api)
