"""Our packed PUBLISH properties are the bytes paho packs, and cost a fraction."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.events.envelope import CONTENT_TYPE, EventFormat, mqtt_user_properties
from gateway.events.mqtt_properties import pack_publish
from gateway.events.publisher import publish_properties
from gateway.store.records import OutboxMessage

FORMAT = EventFormat("urn:contactgw:test", "http://127.0.0.1/events/schemas", "contactgw")


def paho(event: dict[str, object]) -> bytes:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = CONTENT_TYPE
    properties.UserProperty = mqtt_user_properties(event)
    packed: bytes = properties.pack()  # type: ignore[no-untyped-call]
    return packed


def event(subject: str, queue: str | None) -> dict[str, object]:
    msg = OutboxMessage(
        "io.contactgw.call.answered", {"agent": "zoë"}, datetime.now(UTC), subject=subject,
        id=uuid.uuid4(), sequence=7, queue=queue, position=3,
    )  # fmt: skip
    return FORMAT.cloudevent(msg)


def test_the_bytes_are_pahos_for_short_long_and_non_ascii_properties() -> None:
    for e in (event("c", None), event("ünïcode-" + "x" * 300, "sales"), event("s" * 20000, "q")):
        assert publish_properties(e).pack() == paho(e)  # type: ignore[no-untyped-call]
    assert pack_publish("a", []) == paho_bare("a")


def paho_bare(content_type: str) -> bytes:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = content_type
    packed: bytes = properties.pack()  # type: ignore[no-untyped-call]
    return packed


def test_packing_costs_a_fraction_of_pahos() -> None:
    e = event(str(uuid.uuid4()), "sales")

    def cost(pack: object) -> float:
        start = time.perf_counter()
        for _ in range(300):
            pack()  # type: ignore[operator]
        return time.perf_counter() - start

    ours = min(cost(lambda: publish_properties(e).pack()) for _ in range(3))  # type: ignore[no-untyped-call]
    theirs = min(cost(lambda: paho(e)) for _ in range(3))
    assert ours < theirs / 3
