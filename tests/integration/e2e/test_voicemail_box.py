"""Voicemail boxes end to end: `contactgw run`, sipp as the carrier, a real MQTT 5
subscriber. A call to a closed queue whose closed action is `{voicemail: sales-box}`
leaves a message: the API lists it as `new` in `sales-box`, the audio downloads (a RIFF
WAV longer than 0 s), that makes it `listened`, an explicit POST `handled` (with a note);
`voicemail.left` reaches the subscriber with the box and the audio URL, and
`voicemail.handled` follows. A queue's overflow to `{voicemail: null}` goes to the box
named after the queue."""

from __future__ import annotations

import datetime as dt
import io
import wave
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.integration.e2e.test_events_e2e import Subscriber
from tests.support.gateway_env import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TODAY = dt.datetime.now(dt.UTC).date()
VM = "io.contactgw.voicemail."
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [
        {"number": "+15550100500", "queue": "closedq"},
        {"number": "+15550100600", "queue": "support"},
    ],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        "closedq": {
            "schedule": {
                "timezone": "UTC",
                "hours": {"mon-sun": ["00:00-24:00"]},
                "holidays": [str(TODAY), str(TODAY + dt.timedelta(days=1))],
            },
            "closed_action": {"voicemail": "sales-box"},
        },
        # nobody logged in: overflows after 2 s to the queue's own box
        "support": {
            "max_wait": 2,
            "overflow": {"voicemail": None},
            "announcements": {"every": None},
        },
    },
    "agents": {"alice": {"password": "alice-pw", "queues": ["support"]}},
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("voicemail"), ROUTING, workers=1)
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


async def message_of(gw: Gateway, box: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        items = (await gw.get(f"/api/v1/voicemail?box={box}"))["items"]
        return items[0] if items else None

    found: dict[str, Any] = await gw.wait_for(f"a message in {box}", probe, timeout=20)
    return found


async def test_a_closed_queue_leaves_a_message_in_its_named_box(gw: Gateway) -> None:
    sub = Subscriber(gw.mqtt_port)
    sub.start()
    try:
        await gw.wait_for("subscribed", sub.subscribed.is_set, timeout=10)
        sipp = await gw.call("+15550100500", hold_ms=9000, caller="+15557654321")
        rc = await sipp.wait(40)
        assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
        m = await message_of(gw, "sales-box")
        assert (m["state"], m["queue"], m["caller"]) == ("new", "closedq", "+15557654321")
        call_id = m["call_id"]

        audio = await gw.api.get(m["audio_url"])
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
        with wave.open(io.BytesIO(audio.content)) as w:
            seconds = w.getnframes() / w.getframerate()
        assert seconds > 1.0, seconds
        part = await gw.api.get(m["audio_url"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        heard = await gw.get(f"/api/v1/voicemail/{call_id}")
        assert heard["state"] == "listened" and heard["listened_at"]

        done = await gw.api.post(f"/api/v1/voicemail/{call_id}/handled",
                                 json={"note": "called back"})  # fmt: skip
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["note"]) == ("handled", "called back")

        async def both() -> bool:
            types = {e["type"] for e in sub.of(call_id)}
            return {VM + "left", VM + "handled"} <= types

        await gw.wait_for("voicemail.left and voicemail.handled", both, timeout=20)
        (left,) = [e for e in sub.of(call_id) if e["type"] == VM + "left"]
        assert left["data"]["box"] == "sales-box"
        assert left["data"]["audio_url"] == f"/api/v1/voicemail/{call_id}/audio"
        assert left["data"]["duration_seconds"] > 0
        (handled,) = [e for e in sub.of(call_id) if e["type"] == VM + "handled"]
        assert (handled["data"]["box"], handled["data"]["note"]) == ("sales-box", "called back")
    finally:
        await sub.stop()


async def test_an_overflow_without_a_box_name_goes_to_the_queues_box(gw: Gateway) -> None:
    sipp = await gw.call("+15550100600", hold_ms=10000)
    rc = await sipp.wait(40)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
    m = await message_of(gw, "support")
    assert (m["box"], m["queue"], m["state"]) == ("support", "support", "new")
    assert m["duration_seconds"] and m["duration_seconds"] > 0
