"""`OutboxPublisher`: sends the outbox to the MQTT broker, at least once, in order.

Theory of operation:
- One connection at a time (a new aiomqtt client per attempt: aiomqtt neither buffers
  nor reconnects). Failing to connect, or losing the connection, waits a backoff
  (0.5 s doubling to 30 s, reset on a good connect) and tries again, forever.
- Connected, it reads pending rows in position order, a batch at a time, and publishes
  the batch pipelined (QoS 1; paho writes them in call order, so the wire order is the
  position order). `publish(qos=1)` returns when the broker's PUBACK arrives; the ids
  acknowledged are marked published in one UPDATE when the batch ends, however it ends.
- A disconnect is noticed through aiomqtt's message iterator (it raises when the
  connection drops), which the batch is raced against: unacknowledged messages stay
  pending and are read again, in order, after the reconnect. So a subject's events go
  out in order, and one whose PUBACK was lost is sent again (consumers dedupe on `id`).
- Between batches it sleeps until `notify()` (a write carried events) or a 1 s poll.
- Beside it, one task samples the pending count every second (for /health and
  metrics, broker or not) and one prunes published rows older than `retention` hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.events.envelope import CONTENT_TYPE, EventFormat, mqtt_user_properties
from gateway.metrics import Metrics
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage

log = logging.getLogger("gateway.events.publisher")

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
POLL_S = 1.0
PRUNE_EVERY_S = 3600.0
BATCH = 500


@dataclass(frozen=True, slots=True)
class PublisherState:
    """For /health: connected to the broker, events waiting, the last failure."""

    connected: bool
    pending: int
    published: int
    last_error: str | None


class OutboxPublisher:
    def __init__(
        self,
        store: OutboxStore,
        connect: Callable[[], aiomqtt.Client],
        event_format: EventFormat,
        *,
        retention: timedelta,
        metrics: Metrics | None = None,
        batch: int = BATCH,
        poll_s: float = POLL_S,
        prune_every_s: float = PRUNE_EVERY_S,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._connect = connect
        self._format = event_format
        self._retention = retention
        self._metrics = metrics
        self._batch = batch
        self._poll_s = poll_s
        self._prune_every_s = prune_every_s
        self._now = now
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False
        self.pending = 0
        self.published = 0
        self.last_error: str | None = None

    @property
    def state(self) -> PublisherState:
        return PublisherState(self.connected, self.pending, self.published, self.last_error)

    def notify(self) -> None:
        """A transaction that carried events committed: publish now, not at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        if self._tasks:
            raise RuntimeError("the publisher is already started")
        self._tasks = [
            asyncio.create_task(self._run(), name="events-publisher"),
            asyncio.create_task(self._observe(), name="events-pending"),
            asyncio.create_task(self._prune(), name="events-prune"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_connected(False)

    # -- the connection loop ------------------------------------------------------------

    async def _run(self) -> None:
        backoff = BACKOFF_INITIAL_S
        while True:
            try:
                async with self._connect() as client:
                    self._set_connected(True)
                    backoff = BACKOFF_INITIAL_S
                    log.info("events publisher connected")
                    await self._session(client)
            except Exception as exc:  # noqa: BLE001 - broker or database trouble: retry
                self.last_error = f"{type(exc).__name__}: {exc}"
            self._set_connected(False)
            log.warning("events publisher: %s; retrying in %.1fs", self.last_error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _session(self, client: aiomqtt.Client) -> None:
        gone = asyncio.create_task(_until_disconnected(client), name="events-connection")
        try:
            while True:
                self._wake.clear()  # before reading: a notify() from now on is not lost
                batch = await self._store.pending(self._batch)
                if batch:
                    await self._send(client, batch, gone)
                else:
                    await _first(gone, self._wake.wait(), timeout=self._poll_s)
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await gone

    async def _send(
        self,
        client: aiomqtt.Client,
        batch: Iterable[OutboxMessage],
        gone: asyncio.Task[None],
    ) -> None:
        acked: list[OutboxMessage] = []

        async def one(msg: OutboxMessage) -> None:
            event = self._format.cloudevent(msg)
            await client.publish(
                self._format.topic(msg),
                json.dumps(event, separators=(",", ":")).encode(),
                qos=1,
                properties=_properties(event),
            )  # returns on PUBACK (aiomqtt waits for paho's on_publish)
            acked.append(msg)

        sends = asyncio.gather(*(one(msg) for msg in batch))
        try:
            await _first(gone, sends)
        finally:
            if not sends.done():
                sends.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await sends
            await self._mark(acked)

    async def _mark(self, acked: list[OutboxMessage]) -> None:
        if not acked:
            return
        await self._store.mark_published((m.id for m in acked), self._now())
        self.published += len(acked)
        self.pending = max(0, self.pending - len(acked))
        if self._metrics is not None:
            self._metrics.events_acknowledged(m.type for m in acked)

    # -- beside it ----------------------------------------------------------------------

    async def _observe(self) -> None:
        while True:
            try:
                self.pending = await self._store.count_pending()
            except Exception as exc:  # noqa: BLE001 - the database may be away for a while
                log.warning("events publisher: cannot count pending events: %s", exc)
            if self._metrics is not None:
                self._metrics.set_events_pending(self.pending)
            await asyncio.sleep(self._poll_s)

    async def _prune(self) -> None:
        while True:
            try:
                pruned = await self._store.purge_published(before=self._now() - self._retention)
                if pruned:
                    log.info("events: pruned %d published events past retention", pruned)
            except Exception as exc:  # noqa: BLE001 - try again at the next round
                log.warning("events: prune failed: %s", exc)
            await asyncio.sleep(self._prune_every_s)

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        if self._metrics is not None:
            self._metrics.set_events_broker_connected(connected)


def _properties(event: dict[str, object]) -> Properties:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = CONTENT_TYPE
    properties.UserProperty = mqtt_user_properties(event)
    return properties


async def _until_disconnected(client: aiomqtt.Client) -> None:
    """Raises MqttError when the connection drops (we subscribe to nothing, so the
    iterator yields nothing until then)."""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("disconnected")


async def _first(
    gone: asyncio.Task[None], work: Awaitable[object], timeout: float | None = None
) -> None:
    """Await ``work`` (a coroutine or future) unless the connection goes first (then raise
    its error) or ``timeout`` passes (then return)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task, gone}, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        if not task.done():
            task.cancel()
    if gone in done:
        gone.result()
        raise aiomqtt.MqttError("disconnected")
    if task in done:
        task.result()


__all__ = ["EventFormat", "OutboxPublisher", "PublisherState"]
