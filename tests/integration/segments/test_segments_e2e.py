"""Every segment of a transferred call is a first-class recording, end to end: one
gateway (one worker: every leg on the caller's worker), sipp as the carrier streaming
440 Hz, pjsua2 phones alice (1000 Hz) and bob (700 Hz). A blind API transfer alice ->
bob, a PCI pause by the API during bob's segment, then segment 2's audio fetched through
the API: silent in both channels over the paused span (timed into segment 2's file),
the caller's 440 Hz left and bob's tone right elsewhere; GET /events has one
recording.ready per segment (docs/transfer.md "Segments")."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import read_channels, tone_power
from tests.support.gateway_env import Gateway, start_phone

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(90)]  # fmt: skip
SALES, CALLER_HZ, ALICE_HZ, BOB_HZ = "+15550100100", 440.0, 1000.0, 700.0
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": SALES, "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 8, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"]},
        "bob": {"password": "bob-pw", "queues": []},  # a direct transfer target
    },
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("segments"), ROUTING, workers=1)
    await gw.start()
    phones: list[AgentProcess] = []
    try:
        phones.append(await start_phone(gw, "alice", tone=ALICE_HZ, answer_after=0.3))
        phones.append(await start_phone(gw, "bob", tone=BOB_HZ, answer_after=0.3))
        yield gw
    finally:
        for phone in phones:
            await phone.stop()
        rc = await gw.stop()
        assert rc == 0, gw.log()


async def live(gw: Gateway, agent: str) -> str:
    """The id of the live call `agent` talks to."""

    async def probe() -> str | None:
        calls = await gw.get("/calls")
        return next((c["id"] for c in calls if c["agent"] == agent
                     and c["state"] == "connected"), None)  # fmt: skip

    return str(await gw.wait_for(f"a call connected to {agent}", probe, timeout=12, interval=0.05))


async def test_each_segment_is_served_with_its_own_pause_and_ready_event(env: Gateway) -> None:
    gw = env

    async def alice_free() -> bool:
        return await gw.agent_state("alice") == "available"

    await gw.wait_for("alice available", alice_free, timeout=10)
    sipp = await gw.call(SALES, hold_ms=6000)
    call_id = await live(gw, "alice")
    r = await gw.api.post(f"/api/v1/calls/{call_id}/transfers",
                          json={"flow": "blind", "target": {"agent": "bob"}})  # fmt: skip
    assert r.status_code == 201, r.text

    async def bob_talks() -> dict[str, Any] | None:
        view: dict[str, Any] = await gw.get(f"/api/v1/calls/{call_id}/in-call")
        return view if view["agent"] == "bob" and view["phase"] == "connected" else None

    await gw.wait_for("bob connected to the caller", bob_talks, timeout=12, interval=0.05)
    await asyncio.sleep(1.0)  # audio in segment 2 before the pause
    paused = await gw.api.post(f"/api/v1/calls/{call_id}/recording/pause")
    assert paused.status_code == 200 and paused.json()["recording_paused"], paused.text
    await asyncio.sleep(1.2)  # the paused span
    resumed = await gw.api.post(f"/api/v1/calls/{call_id}/recording/resume")
    assert resumed.status_code == 200, resumed.text
    (live_span,) = resumed.json()["recording_pauses"]
    assert live_span["segment"] == 2, live_span
    assert await sipp.wait(20) == 0, sipp.errors()

    async def closed() -> dict[str, Any] | None:
        call: dict[str, Any] = await gw.get(f"/api/v1/calls/{call_id}")
        done = call["ended_at"] and len(call["segments"]) == 2
        return call if done and all(s["sha256"] for s in call["segments"]) else None

    call = await gw.wait_for("both segments finished", closed, timeout=15)
    one, two = call["segments"]
    (span,) = call["recording_pauses"]
    assert span["segment"] == 2 and (span["start"], span["end"]) == (
        live_span["start"], live_span["end"])  # fmt: skip
    assert 0.8 < span["start"] < 3.0 and 1.0 < span["end"] - span["start"] < 2.5, span
    assert two["audio_url"] == f"/api/v1/calls/{call_id}/recording?segment=2"
    assert one["audio_url"] == f"/api/v1/calls/{call_id}/recording"

    # segment 2's audio through the API: its checksum, its paused span silent
    audio = await gw.api.get(two["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert hashlib.sha256(audio.content).hexdigest() == two["sha256"]
    part = await gw.api.get(two["audio_url"], headers={"Range": "bytes=0-43"})
    assert part.status_code == 206 and part.content == audio.content[:44]
    path = gw.tmp / "segment-2.wav"
    path.write_bytes(audio.content)
    x, rate = read_channels(str(path))
    assert x.shape[1] == 2 and abs(len(x) / rate - two["duration_seconds"]) < 0.05
    caller, agent = x[:, 0], x[:, 1]

    def at(t: float, ch: np.ndarray, seconds: float = 0.5) -> np.ndarray:
        return ch[int(t * rate) : int((t + seconds) * rate)]

    quiet = span["start"] + 0.15  # the recorders react within a frame or two
    for ch in (caller, agent):
        assert np.abs(at(quiet, ch, span["end"] - span["start"] - 0.3)).max() < 1e-3
    for t in (span["start"] - 0.6, span["end"] + 0.2):  # talking before and after
        assert tone_power(at(t, caller), rate, CALLER_HZ) > 1e-3, f"no 440 Hz left at {t}"
        assert tone_power(at(t, agent), rate, BOB_HZ) > 1e-3, f"no bob right at {t}"
        assert tone_power(at(t, agent), rate, ALICE_HZ) < 1e-4, "alice in bob's segment"
    first = await gw.api.get(one["audio_url"])
    assert first.status_code == 200 and hashlib.sha256(first.content).hexdigest() == one["sha256"]
    missing = await gw.api.get(f"/api/v1/calls/{call_id}/recording?segment=3")
    assert missing.status_code == 404 and "it has 2" in missing.json()["detail"]

    # the events: one recording.ready per segment, the pause in segment 2
    page = await gw.get(f"/events?subject={call_id}&limit=200")
    ready = [e["data"] for e in page["events"] if e["type"] == "io.contactgw.recording.ready"]
    assert sorted((e["segment"], e["segments"]) for e in ready) == [(1, 2), (2, 2)], ready
    two_ready = next(e for e in ready if e["segment"] == 2)
    stereo = next(f for f in two_ready["files"] if f["role"] == "stereo")
    assert stereo["sha256"] == two["sha256"] and two_ready["url"].endswith("?segment=2")
    pauses = [e["data"] for e in page["events"] if e["type"] == "io.contactgw.recording.paused"]
    assert [(p["segment"], p["offset_seconds"]) for p in pauses] == [(2, span["start"])]
