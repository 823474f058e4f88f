"""`OutboxPublisher`: sends the outbox to the MQTT broker, at least once, in order.

Theory of operation:
- One connection at a time (a new aiomqtt client per attempt: aiomqtt neither buffers
  nor reconnects). Failing to connect, or losing the connection, waits a backoff
  (0.5 s doubling to 30 s, reset on a good connect) and tries again, forever.
- Connected, it reads pending rows in position order, a batch at a time, and publishes
  them pipelined (QoS 1; paho writes them in call order, so the wire order is the
  position order): the next read (rows past the last one sent) does not wait for the
  previous batch's PUBACKs, up to a window of messages in flight. `publish(qos=1)`
  returns when the broker's PUBACK arrives; what was acknowledged is marked published
  by a marker task, one UPDATE per batch or lull (so a slow commit never holds up
  publishing), and flushed before the next connection reads and when stopping.
- A disconnect is noticed through aiomqtt's message iterator (it raises when the
  connection drops): unacknowledged messages stay pending and are read again, in order,
  after the reconnect. So a subject's events go out in order, and one whose PUBACK was
  lost is sent again (consumers dedupe on `id`).
- A broker that refuses a message in its PUBACK (MQTT 5 reason code, e.g. an ACL's
  0x87) is a failure like a disconnect: that message stays pending, `last_error` says
  why, and it is tried again after the backoff; the events behind it wait (order is
  kept, nothing is skipped) until the broker's configuration is fixed.
- Between batches it sleeps until `notify()` (a write carried events) or a 1 s poll.
- Beside it, one task samples the pending count every second (for /health and
  metrics, broker or not) and one prunes published rows older than `retention` hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.events.connection import BrokerRefused, Client
from gateway.events.envelope import CONTENT_TYPE, EventFormat, mqtt_user_properties
from gateway.metrics import Metrics
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage

log = logging.getLogger("gateway.events.publisher")

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
POLL_S = 1.0
PRUNE_EVERY_S = 3600.0
BATCH = 100  # rows per read of the outbox
WINDOW = 200  # messages awaiting PUBACK at once (reads go on meanwhile); = MAX_INFLIGHT


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
        window: int = WINDOW,
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
        self._window = max(window, batch)
        self._poll_s = poll_s
        self._prune_every_s = prune_every_s
        self._now = now
        self._wake = asyncio.Event()
        self._acked: list[OutboxMessage] = []  # acknowledged, not yet marked
        self._acked_ready = asyncio.Event()
        self._marking = asyncio.Lock()
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
            asyncio.create_task(self._marker(), name="events-marker"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # what the broker acknowledged: not resent
            await self._flush_marks()
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
        """Publish until the connection drops: read rows past the last one sent while
        earlier ones await their PUBACK (at most ``window`` in flight), mark what was
        acknowledged between reads."""
        await self._flush_marks()  # rows acknowledged on the last connection: not re-read
        gone = asyncio.create_task(_until_disconnected(client), name="events-connection")
        flight = _Flight(client, self._format, room_at=self._window - self._batch)
        sent_up_to: int | None = None  # position of the last row sent on this connection
        try:
            while True:
                self._wake.clear()  # before reading: a notify() from now on is not lost
                batch: tuple[OutboxMessage, ...] = ()
                if flight.room.is_set():
                    batch = await self._store.pending(self._batch, after=sent_up_to)
                for msg in batch:
                    flight.send(msg)
                if batch:
                    sent_up_to = batch[-1].position
                flight.raise_failure()
                if flight.acked_count >= self._batch or not flight.tasks:
                    self._mark(flight.take_acked())  # one UPDATE per batch or lull
                if len(batch) == self._batch and flight.room.is_set():
                    continue  # more rows are waiting and there is room for them
                # wait for a notify, room in the window (full) or the last PUBACKs (to
                # mark them now), the poll, or the connection dropping
                until = flight.drained if flight.room.is_set() else flight.room
                waits = [gone, asyncio.ensure_future(self._wake.wait())]
                if flight.tasks:
                    waits.append(asyncio.ensure_future(until.wait()))
                try:
                    done, _ = await asyncio.wait(
                        waits, timeout=self._poll_s, return_when="FIRST_COMPLETED"
                    )
                finally:  # also when stopped: no waiter left pending
                    for waiter in waits[1:]:
                        waiter.cancel()
                if gone in done:
                    gone.result()
                    raise aiomqtt.MqttError("disconnected")
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await gone
            await flight.cancel()
            self._mark(flight.take_acked())  # acknowledged: not sent again

    def _mark(self, acked: list[OutboxMessage]) -> None:
        """Hand acknowledged rows to the marker: a commit (a WAL checkpoint, an fsync)
        must not hold up the next publish."""
        if acked:
            self._acked.extend(acked)
            self._acked_ready.set()

    async def _marker(self) -> None:
        while True:
            await self._acked_ready.wait()
            self._acked_ready.clear()
            try:
                await self._flush_marks()
            except Exception as exc:  # noqa: BLE001 - kept, and tried again in a second
                log.warning("events publisher: cannot mark events published: %s", exc)
                await asyncio.sleep(1.0)
                self._acked_ready.set()

    async def _flush_marks(self) -> None:
        """Mark what is acknowledged; on failure the rows stay queued for the next try."""
        async with self._marking:
            acked, self._acked = self._acked, []
            if not acked:
                return
            try:
                await self._store.mark_published((m.id for m in acked), self._now())
            except BaseException:
                self._acked[:0] = acked
                raise
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


class _Flight:
    """The messages of one connection that await their PUBACK. Tasks are created in
    position order and each calls paho's publish before its first await, so the wire
    order is the position order."""

    def __init__(self, client: aiomqtt.Client, event_format: EventFormat, room_at: int) -> None:
        self._client = client
        self._format = event_format
        self._room_at = room_at
        self.tasks: set[asyncio.Task[None]] = set()
        self.room = asyncio.Event()  # no more than room_at in flight: read another batch
        self.drained = asyncio.Event()  # nothing in flight
        self.room.set()
        self.drained.set()
        self._acked: list[OutboxMessage] = []
        self._failure: BaseException | None = None

    def send(self, msg: OutboxMessage) -> None:
        task = asyncio.create_task(self._publish(msg))
        self.tasks.add(task)
        self.drained.clear()
        if len(self.tasks) > self._room_at:
            self.room.clear()
        task.add_done_callback(self._done)

    async def _publish(self, msg: OutboxMessage) -> None:
        event = self._format.cloudevent(msg)
        topic = self._format.topic(msg)
        body = json.dumps(event, separators=(",", ":")).encode()
        properties = publish_properties(event)
        if isinstance(self._client, Client):  # raises BrokerRefused on a failure PUBACK
            await self._client.publish_confirmed(topic, body, properties=properties)
        else:  # returns on PUBACK: aiomqtt waits for paho's on_publish
            await self._client.publish(topic, body, qos=1, properties=properties)
        self._acked.append(msg)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if len(self.tasks) <= self._room_at:
            self.room.set()
        if not self.tasks:
            self.drained.set()
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    @property
    def acked_count(self) -> int:
        return len(self._acked)

    def take_acked(self) -> list[OutboxMessage]:
        acked, self._acked = self._acked, []
        return acked

    async def cancel(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def publish_properties(event: dict[str, object]) -> Properties:
    """The MQTT 5 PUBLISH properties of a structured CloudEvent (also the bench's)."""
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


__all__ = ["BrokerRefused", "EventFormat", "OutboxPublisher", "PublisherState"]
