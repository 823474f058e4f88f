"""`OutboxPublisher`: sends the outbox to the MQTT broker, at least once, in order.

Theory of operation:
- One connection at a time (a new aiomqtt client per attempt: aiomqtt neither buffers
  nor reconnects). Failing to connect, or losing the connection, waits a backoff
  (0.5 s doubling to 30 s, reset on a good connect) and tries again, forever.
- Connected, it takes pending rows in position order, a batch at a time, and publishes
  them pipelined (QoS 1; paho writes them in call order, so the wire order is the
  position order): the next read (rows past the last one sent) does not wait for the
  previous batch's PUBACKs, up to a window of messages in flight. `publish(qos=1)`
  returns when the broker's PUBACK arrives; what was acknowledged is marked published
  by a marker task, one UPDATE per batch or lull (so a slow commit never holds up
  publishing), and flushed before the next connection reads and when stopping.
- Where rows come from (gateway/events/handoff.py): the write-behind hands over the
  events each batch committed (:meth:`committed`, with their positions), and the
  publisher sends those from memory while they follow the last position it sent without
  a gap. At a connection's start, after another writer's commit (:meth:`notify`), a
  gap, an overflow or a quiet poll it reads the outbox table instead, in position order,
  to its end; memory takes over after that. With a write-behind attached
  (:meth:`attach`), acknowledged rows are marked published in its next batch, not in a
  transaction of the publisher's own; so on the hot path an event costs no read and no
  session of its own. Without one (or once it is closed) the publisher marks them itself.
- A disconnect is noticed through aiomqtt's message iterator (it raises when the
  connection drops): unacknowledged messages stay pending and are read again, in order,
  after the reconnect. So a subject's events go out in order, and one whose PUBACK was
  lost is sent again (consumers dedupe on `id`).
- A broker that refuses a message in its PUBACK (MQTT 5 reason code, e.g. an ACL's
  0x87) is a failure like a disconnect: that message stays pending, `last_error` says
  why, and it is tried again after the backoff; the events behind it wait (order is
  kept, nothing is skipped) until the broker's configuration is fixed.
- Between batches it sleeps until a hand-off, a `notify()` or a 1 s poll (which reads
  the table: a writer that forgot to notify is still published).
- Beside it, one task samples the pending count every second (for /health and
  metrics, broker or not) and one prunes published rows older than `retention` hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiomqtt
from paho.mqtt.properties import Properties

from gateway.events.connection import BrokerRefused, Client
from gateway.events.envelope import CONTENT_TYPE, EventFormat, mqtt_user_properties
from gateway.events.handoff import Handoff
from gateway.events.mqtt_properties import PackedProperties, pack_publish
from gateway.metrics import Metrics
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage
from gateway.store.types import json_dumps

log = logging.getLogger("gateway.events.publisher")

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
POLL_S = 1.0
PRUNE_EVERY_S = 3600.0
BATCH = 100  # rows per read of the outbox
WINDOW = 200  # messages awaiting PUBACK at once (reads go on meanwhile); = MAX_INFLIGHT
MARKS_SETTLE_S = 5.0  # at a reconnect, wait this long for marks in flight (else: resent)


class MarkSink(Protocol):
    """Where acknowledged events are marked published (the write-behind's next batch)."""

    def mark_published(self, ids: Sequence[uuid.UUID], at: datetime) -> asyncio.Future[None]:
        """Done when the mark is committed; failed if it will not be (then we mark)."""


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
        handoff: Handoff | None = None,
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
        self._sink: MarkSink | None = None
        self._marks_in_flight: set[asyncio.Future[None]] = set()
        self._handoff = handoff if handoff is not None else Handoff()
        self._tasks: list[asyncio.Task[None]] = []
        self.table_reads = 0  # outbox reads (start, reconnect, other writers, gaps)
        self.from_memory = 0  # events sent from the hand-off, without a read
        self.connected = False
        self.pending = 0
        self.published = 0
        self.last_error: str | None = None

    @property
    def state(self) -> PublisherState:
        return PublisherState(self.connected, self.pending, self.published, self.last_error)

    def notify(self) -> None:
        """A transaction that carried events committed: publish now, not at the next poll
        (read from the table: memory does not hold them)."""
        self._handoff.written()
        self._wake.set()

    def committed(self, events: Iterable[OutboxMessage]) -> None:
        """The write-behind committed these outbox rows (positions set): publish them
        from memory."""
        self._handoff.committed(events)
        self._wake.set()

    def attach(self, sink: MarkSink) -> None:
        """Mark acknowledged events published through ``sink`` from now on."""
        self._sink = sink

    @property
    def handoff_overflows(self) -> int:
        return self._handoff.overflows

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
        self._sink = None  # it may be closed, or close before committing: mark ourselves
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
        if self._marks_in_flight:
            await asyncio.wait(self._marks_in_flight, timeout=MARKS_SETTLE_S)
        gone = asyncio.create_task(_until_disconnected(client), name="events-connection")
        flight = _Flight(client, self._format, room_at=self._window - self._batch)
        sent_up_to: int | None = None  # every row up to it was sent or is published
        self._handoff.reset(active=True)  # the table first: rows of the outage, of a restart
        try:
            while True:
                self._wake.clear()  # before reading: a notify() from now on is not lost
                batch: tuple[OutboxMessage, ...] = ()
                if flight.room.is_set():
                    taken = self._handoff.take(sent_up_to, self._batch)
                    if taken is None:
                        batch, sent_up_to = await self._read_table(sent_up_to)
                    else:
                        batch = taken
                        self.from_memory += len(batch)
                for msg in batch:
                    flight.send(msg)
                if batch and batch[-1].position is not None:
                    sent_up_to = max(sent_up_to or 0, batch[-1].position)
                flight.raise_failure()
                if flight.acked_count >= self._batch or not flight.tasks:
                    self._mark(flight.take_acked())  # one UPDATE per batch or lull
                if batch and flight.room.is_set():
                    continue  # more rows may be waiting and there is room for them
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
                if not done:  # a quiet poll: read the table (a writer that did not notify)
                    self._handoff.written()
        finally:
            self._handoff.reset(active=False)
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await gone
            await flight.cancel()
            self._mark(flight.take_acked())  # acknowledged: not sent again

    async def _read_table(self, after: int | None) -> tuple[tuple[OutboxMessage, ...], int | None]:
        """The next pending rows from the table, and what is known sent or published
        after them: up to the table's end when the read reached it."""
        self._handoff.begin_table_read()
        self.table_reads += 1
        rows, high = await self._store.pending_through(self._batch, after)
        if len(rows) == self._batch:  # not at the end yet: the next round reads on
            self._handoff.written()
            return rows, after
        return rows, max(after or 0, high)

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
        """Mark what is acknowledged; on failure the rows stay queued for the next try.
        With a sink, hand them over and count them when its batch commits."""
        async with self._marking:
            acked, self._acked = self._acked, []
            if not acked:
                return
            if self._sink is not None:
                done = self._sink.mark_published([m.id for m in acked], self._now())
                self._marks_in_flight.add(done)
                done.add_done_callback(functools.partial(self._marked, acked))
                return
            try:
                await self._store.mark_published((m.id for m in acked), self._now())
            except BaseException:
                self._acked[:0] = acked
                raise
        self._count(acked)

    def _marked(self, acked: list[OutboxMessage], done: asyncio.Future[None]) -> None:
        self._marks_in_flight.discard(done)
        if done.cancelled() or done.exception() is not None:
            # closed, or a mark it cannot write: mark them (and the rest) ourselves
            self._sink = None
            self._acked[:0] = acked
            self._acked_ready.set()
            return
        self._count(acked)

    def _count(self, acked: list[OutboxMessage]) -> None:
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
        text = json.dumps(event, separators=(",", ":"))
        if "\\u0000" in text:  # from memory: a NUL the table would hold as U+FFFD
            text = json.dumps(json.loads(json_dumps(event)), separators=(",", ":"))
        body = text.encode()
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
    return PackedProperties(pack_publish(CONTENT_TYPE, mqtt_user_properties(event)))


async def _until_disconnected(client: aiomqtt.Client) -> None:
    """Raises MqttError when the connection drops (we subscribe to nothing, so the
    iterator yields nothing until then)."""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("disconnected")


__all__ = ["BrokerRefused", "EventFormat", "OutboxPublisher", "PublisherState"]
