"""The events side of the daemon in one object: the embedded broker (unless `mqtt.url`
names one), the outbox publisher and the replay API, built from the settings.

    events = EventsService.from_settings(settings, db, metrics)
    await events.start()                     # broker first, then the publisher
    app = create_app(api, token, events=events.replay)
    events.notify()                          # after a transaction that carried events
    events.attach(writes)                    # the write-behind: hand-off and marks
    await events.stop()                      # publisher first, then the broker
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import timedelta

from gateway.events.broker import BrokerConfig, EmbeddedBroker
from gateway.events.connection import BrokerAddress
from gateway.events.envelope import EventFormat
from gateway.events.publisher import MarkSink, OutboxPublisher, PublisherState
from gateway.events.replay import EventsReplay
from gateway.metrics import Metrics
from gateway.settings.models import Settings
from gateway.store.engine import Database
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage


def event_format(settings: Settings) -> EventFormat:
    """Schemas are served by our own API (``/events/schemas/<type>.v<n>.json``); a
    wildcard bind address is no address for a consumer, the host name is."""
    api = settings.api
    host = socket.gethostname() if api.host in ("0.0.0.0", "::", "") else api.host
    return EventFormat(
        source=settings.mqtt.source,
        dataschema_base=f"http://{host}:{api.port}/events/schemas",
        topic_prefix=settings.mqtt.topic_prefix,
    )


class EventsService:
    def __init__(
        self,
        broker: EmbeddedBroker | None,
        publisher: OutboxPublisher | None,
        replay: EventsReplay,
    ) -> None:
        self.broker = broker
        self.publisher = publisher
        self.replay = replay

    @classmethod
    def from_settings(
        cls, settings: Settings, db: Database, metrics: Metrics | None = None
    ) -> EventsService:
        """With ``mqtt.enabled: false`` nothing is published; replay still serves the
        outbox."""
        mqtt, store, fmt = settings.mqtt, OutboxStore(db), event_format(settings)
        replay = EventsReplay(store, fmt)
        if not mqtt.enabled:
            return cls(None, None, replay)
        broker = None
        if mqtt.url is None:
            assert settings.run_dir is not None  # resolved by the loader
            broker = EmbeddedBroker(
                BrokerConfig(run_dir=settings.run_dir, host=mqtt.host, port=mqtt.port)
            )
        address = BrokerAddress.from_settings(mqtt)
        client_id = mqtt.client_id or f"contactgw-{mqtt.instance_id}"
        publisher = OutboxPublisher(
            store,
            lambda: address.client(client_id),
            fmt,
            retention=timedelta(days=mqtt.retention_days),
            metrics=metrics,
        )
        return cls(broker, publisher, replay)

    async def start(self) -> None:
        """Raises (e.g. `BrokerPortInUse`) if the embedded broker cannot start."""
        if self.broker is not None:
            await self.broker.start()
        if self.publisher is not None:
            await self.publisher.start()

    async def stop(self) -> None:
        if self.publisher is not None:
            await self.publisher.stop()
        if self.broker is not None:
            await self.broker.stop()

    def notify(self) -> None:
        if self.publisher is not None:
            self.publisher.notify()

    def committed(self, events: Sequence[OutboxMessage]) -> None:
        """The write-behind committed these outbox rows: published from memory."""
        if self.publisher is not None:
            self.publisher.committed(events)

    def attach(self, writes: MarkSink) -> None:
        """Mark published events in the write-behind's batches (no session of our own)."""
        if self.publisher is not None:
            self.publisher.attach(writes)

    @property
    def state(self) -> PublisherState | None:
        """For /health: None when publishing is off."""
        return self.publisher.state if self.publisher is not None else None
