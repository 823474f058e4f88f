"""An outbox row as a CloudEvent (1.0, structured JSON) and where it goes on MQTT.

Pure functions; the publisher, the replay API and the tail command share them, so an
event looks the same live and replayed.

Topic scheme (``prefix`` is ``mqtt.topic_prefix``)::

    <prefix>/<kind>/<name>/<queue or ->/<subject or ->
    contactgw/call/answered/sales/8c1f...      io.contactgw.call.answered, queue sales

    contactgw/call/answered/#          one type        contactgw/call/+/sales/#   one queue
    contactgw/call/+/+/<call-id>       one call        contactgw/agent/#          all agent events

MQTT gives ``/``, ``#`` and ``+`` a meaning in topics, so they are replaced by ``_`` in the
queue and subject levels (names in the configuration cannot contain them anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.events.catalogue import SCHEMA_VERSIONS
from gateway.store.records import OutboxMessage

SPECVERSION = "1.0"
TYPE_PREFIX = "io.contactgw."
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
SEQUENCE_DIGITS = 20  # every unsigned 64-bit number: string order == number order
_TOPIC_UNSAFE = re.compile(r"[/#+]")


def schema_version(event_type: str) -> int:
    """The payload schema version of ``event_type``, from the catalogue (1 for a type it
    does not know, e.g. in tests)."""
    return SCHEMA_VERSIONS.get(event_type, 1)


def format_sequence(sequence: int) -> str:
    """The CloudEvents ``sequence`` extension is a string compared lexicographically,
    so the integer is zero-padded to a fixed width."""
    if sequence < 0:
        raise ValueError(f"sequence must not be negative, got {sequence}")
    return f"{sequence:0{SEQUENCE_DIGITS}d}"


def rfc3339(at: datetime) -> str:
    """UTC with a ``Z``; a naive datetime is taken as UTC (the store's convention)."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def to_cloudevent(msg: OutboxMessage, *, source: str, dataschema_base: str) -> dict[str, Any]:
    """The structured-mode JSON object of ``msg`` (extensions: ``sequence``, ``queue``)."""
    event: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": str(msg.id),
        "source": source,
        "type": msg.type,
        "time": rfc3339(msg.created_at),
        "datacontenttype": DATA_CONTENT_TYPE,
        "dataschema": f"{dataschema_base.rstrip('/')}/{msg.type}.v{schema_version(msg.type)}.json",
        "sequence": format_sequence(msg.sequence),
    }
    if msg.subject is not None:
        event["subject"] = msg.subject
    if msg.queue is not None:
        event["queue"] = msg.queue
    event["data"] = dict(msg.payload)
    return event


@dataclass(frozen=True, slots=True)
class EventFormat:
    """How this gateway renders its events: CloudEvents ``source``, the base URL of the
    schemas (``dataschema``), the topic prefix. One value shared by the publisher and
    the replay API, so an event looks the same live and replayed."""

    source: str
    dataschema_base: str
    topic_prefix: str = "contactgw"

    def cloudevent(self, msg: OutboxMessage) -> dict[str, Any]:
        return to_cloudevent(msg, source=self.source, dataschema_base=self.dataschema_base)

    def topic(self, msg: OutboxMessage) -> str:
        return topic_for(msg, self.topic_prefix)


def mqtt_user_properties(event: dict[str, Any]) -> list[tuple[str, str]]:
    """Every context attribute but ``data`` as an MQTT 5 user property, names unchanged
    (CloudEvents MQTT binding, 3.1.3; allowed in structured mode by 3.2.3)."""
    return [(name, str(value)) for name, value in event.items() if name != "data"]


def type_parts(event_type: str) -> tuple[str, str]:
    """``io.contactgw.call.answered`` -> ``("call", "answered")``."""
    if not event_type.startswith(TYPE_PREFIX):
        raise ValueError(f"event type {event_type!r} does not start with {TYPE_PREFIX!r}")
    kind, dot, name = event_type.removeprefix(TYPE_PREFIX).partition(".")
    if not (kind and dot and name):
        raise ValueError(f"event type {event_type!r} is not {TYPE_PREFIX}<kind>.<name>")
    return _level(kind), _level(name.replace(".", "_"))


def topic_for(msg: OutboxMessage, prefix: str) -> str:
    kind, name = type_parts(msg.type)
    return "/".join((prefix.rstrip("/"), kind, name, _level(msg.queue), _level(msg.subject)))


def _level(value: str | None) -> str:
    if not value:
        return "-"
    return _TOPIC_UNSAFE.sub("_", value)
