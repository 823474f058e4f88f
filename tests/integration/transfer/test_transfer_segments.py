"""Transfer segments end to end: after a blind API transfer alice -> bob, the call has two
stereo files (caller left, that segment's agent right) and its record lists both
segments with the chain (docs/transfer.md "Segments"). Its own gateway and two pjsua2
phones only (no baresip): the conftest's `gw` and `pjsua_phone`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from tests.integration.transfer.conftest import pjsua_phone
from tests.integration.transfer.test_transfer_e2e import call_to, transfer, transfer_state
from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import mostly_tone, read_channels, tone_power
from tests.support.gateway_env import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
SALES, CALLER_HZ, AGENT_HZ = "+15550100100", 440.0, 1000.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def phones(gw: Gateway) -> AsyncIterator[dict[str, AgentProcess]]:
    started: dict[str, AgentProcess] = {}
    try:
        started["alice"] = await pjsua_phone(gw, "alice", AGENT_HZ)
        started["bob"] = await pjsua_phone(gw, "bob", AGENT_HZ)
        yield started
    finally:
        for phone in started.values():
            await phone.stop()


def channels_hear(path: str, left: float, right: float) -> None:
    audio, rate = read_channels(path)
    assert audio.shape[1] == 2, path
    caller, agent = audio[int(0.3 * rate) :, 0], audio[int(0.3 * rate) :, 1]
    assert len(caller) > rate, f"{path}: under a second after the connection"
    assert mostly_tone(caller, rate, left), "caller channel lacks the caller's tone"
    assert mostly_tone(agent, rate, right), "agent channel lacks the agent's tone"
    assert tone_power(agent, rate, left) < 0.1 * tone_power(agent, rate, right)  # no echo mix
    assert np.abs(agent).max() > 0.01


async def test_a_blind_transfer_records_each_segment_in_its_own_stereo_file(
    gw: Gateway, phones: dict[str, AgentProcess]
) -> None:
    sipp, call_id = await call_to(gw, "alice", SALES, hold_ms=6000)
    r = await transfer(gw, call_id, flow="blind", target={"agent": "bob"})
    assert r.status_code == 201, r.text
    t = await transfer_state(gw, r.json()["id"], "completed")
    assert await sipp.wait(20) == 0, sipp.errors()

    async def closed() -> dict[str, Any] | None:
        call: dict[str, Any] = await gw.get(f"/api/v1/calls/{call_id}")
        done = call["ended_at"] and all(s["sha256"] for s in call["segments"])
        return call if done and call["segments"] else None

    call = await gw.wait_for("both segments' stereo files", closed, timeout=15)
    one, two = call["segments"]
    assert (one["index"], one["agent"], one["previous_segment"], one["transfer_id"]) == (
        1, "alice", None, None)  # fmt: skip
    assert (two["index"], two["agent"], two["previous_segment"], two["transfer_id"]) == (
        2, "bob", 1, t["id"])  # fmt: skip
    assert one["initial_call_id"] == two["initial_call_id"] == call_id
    assert call["agent"] == "alice"  # one record per visit: who answered it first
    (cdr,) = await gw.cdr(1)
    # segment 1 is the call's own file, where it always was; segment 2 beside it, each
    # served by its audio_url (the API names no paths)
    first = Path(cdr["recording_stereo"])
    second = first.parent / "segment-2" / "stereo.wav"
    assert first.is_file() and second.is_file()
    for seg, path in ((one, first), (two, second)):
        served = await gw.api.get(seg["audio_url"])
        assert served.status_code == 200 and served.content == path.read_bytes()
    channels_hear(str(second), CALLER_HZ, AGENT_HZ)  # the caller's 440 Hz, bob's tone
    audio, _ = read_channels(str(first))
    assert audio.shape[1] == 2 and len(audio) > 0  # alice's short segment, ended by the transfer
