"""CloudEvents envelope, MQTT user properties and the topic scheme."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.events.catalogue import SCHEMA_VERSIONS
from gateway.events.envelope import (
    format_sequence,
    mqtt_user_properties,
    to_cloudevent,
    topic_for,
)
from gateway.store.records import OutboxMessage

EVENT_ID = uuid.UUID("8c1f3b1e-0000-4000-8000-000000000001")


def message(**changes: object) -> OutboxMessage:
    fields: dict[str, object] = {
        "type": "io.contactgw.call.answered",
        "payload": {"wait_seconds": 12.5},
        "created_at": datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC),
        "subject": "call-7",
        "id": EVENT_ID,
        "sequence": 4,
        "queue": "sales",
    }
    fields.update(changes)
    return OutboxMessage(**fields)  # type: ignore[arg-type]


def test_a_message_becomes_a_structured_cloudevent() -> None:
    event = to_cloudevent(
        message(), source="urn:contactgw:gw1", dataschema_base="https://gw/events/schemas/"
    )
    version = SCHEMA_VERSIONS.get("io.contactgw.call.answered", 1)
    assert event == {
        "specversion": "1.0",
        "id": str(EVENT_ID),
        "source": "urn:contactgw:gw1",
        "type": "io.contactgw.call.answered",
        "time": "2026-03-01T12:00:00.250000Z",
        "datacontenttype": "application/json",
        "dataschema": f"https://gw/events/schemas/io.contactgw.call.answered.v{version}.json",
        "sequence": "00000000000000000004",
        "subject": "call-7",
        "queue": "sales",
        "data": {"wait_seconds": 12.5},
    }
    json.dumps(event)  # JSON-ready as it is


def test_optional_attributes_are_left_out_and_time_is_utc() -> None:
    paris = timezone(timedelta(hours=1))
    msg = message(subject=None, queue=None, created_at=datetime(2026, 3, 1, 13, tzinfo=paris))
    event = to_cloudevent(msg, source="urn:contactgw:gw1", dataschema_base="x")
    assert "subject" not in event and "queue" not in event
    assert event["time"] == "2026-03-01T12:00:00Z"


def test_sequence_strings_sort_like_the_numbers() -> None:
    numbers = [1, 9, 10, 99, 100, 2**40]
    assert sorted(numbers, key=format_sequence) == numbers
    with pytest.raises(ValueError, match="negative"):
        format_sequence(-1)


def test_user_properties_are_the_attributes_without_data() -> None:
    event = to_cloudevent(message(), source="urn:contactgw:gw1", dataschema_base="x")
    properties = dict(mqtt_user_properties(event))
    assert properties["id"] == str(EVENT_ID)
    assert properties["type"] == "io.contactgw.call.answered"
    assert properties["sequence"] == "00000000000000000004"
    assert "data" not in properties
    assert set(properties) == set(event) - {"data"}


def test_topics_name_kind_name_queue_and_subject() -> None:
    assert topic_for(message(), "contactgw") == "contactgw/call/answered/sales/call-7"
    agent = message(type="io.contactgw.agent.state_changed", queue=None, subject="alice")
    assert topic_for(agent, "site/a/") == "site/a/agent/state_changed/-/alice"


def test_topic_wildcards_in_queue_or_subject_are_replaced() -> None:
    msg = message(queue="a/b", subject="x#y+z")
    assert topic_for(msg, "contactgw") == "contactgw/call/answered/a_b/x_y_z"


@pytest.mark.parametrize("bad", ["call.answered", "io.contactgw.call", "io.contactgw..x"])
def test_a_type_outside_the_scheme_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="event type"):
        topic_for(message(type=bad), "contactgw")
