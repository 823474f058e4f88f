"""A caller (sipp, 440 Hz) reaches a worker, hears music, is bridged to an agent
(sipp, 1000 Hz); both legs are recorded; DTMF arrives as events; either side's
hang-up ends the other leg."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ipc import protocol as p
from tests.integration.worker.conftest import (
    MUSIC,
    Harness,
    is_event,
    leg_state,
    start_agent,
    start_caller,
)
from tests.support import audio
from tests.support.sipp import uac_bye, uac_wait_bye, uas_bye, uas_wait_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


async def connect_agent(
    h: Harness, worker: str, caller_leg: str, agent_port: int, rec_dir: Path, tag: str
) -> str:
    """What the control plane does for one conversation: answer with music, record
    the caller, dial the agent, bridge on answer, record the agent."""
    await h.cmd(worker, p.Answer(caller_leg, prompt=MUSIC, loop=True))
    await h.cmd(worker, p.RecordStart(caller_leg, str(rec_dir / f"{tag}-caller.wav")))
    agent_leg = f"{tag}-agent"
    res = await h.cmd(
        worker,
        p.Dial(
            f"sip:agent@127.0.0.1:{agent_port}",
            leg=agent_leg,
            caller_id="sip:queue@127.0.0.1",
            timeout=10,
            headers={"X-Queue": "support"},
        ),
    )
    assert res == {"leg": agent_leg}
    await h.wait(leg_state(agent_leg, "confirmed"), 10)
    await h.cmd(worker, p.Bridge(caller_leg, agent_leg))
    await h.cmd(worker, p.RecordStart(agent_leg, str(rec_dir / f"{tag}-agent.wav")))
    return agent_leg


def assert_tone(path: str, freq: float, other: float, min_seconds: float) -> None:
    x, rate = audio.read_wav(path)  # also checks the header sizes
    first, last = audio.loud_span(x, rate)
    assert first >= 0, f"{path} is silent"
    span = x[first * rate // 50 : (last + 1) * rate // 50]
    assert len(span) / rate >= min_seconds, f"{path}: only {len(span) / rate:.2f}s of tone"
    assert abs(audio.dominant_frequency(span, rate) - freq) < 15
    assert audio.tone_power(span, rate, freq) > 50 * audio.tone_power(span, rate, other)
    assert audio.dropouts(x, rate) == [], f"{path}: 20 ms drop-outs"


async def test_caller_hangs_up_recordings_hold_each_partys_tone(make_harness, pcaps, tmp_path):
    h = await make_harness(1)
    worker = "w1"
    agent, agent_port = await start_agent(tmp_path, pcaps["tone1000"], end=uas_wait_bye())
    caller = await start_caller(
        tmp_path,
        h.pool.workers()[0].sip_port,
        pcaps["tone440"],
        pcaps["dtmf"],
        dtmf_after_ms=6000,
        end=uac_bye(1500),
    )
    try:
        incoming = (await h.wait(is_event(p.IncomingCall), 10)).event
        assert incoming.from_uri.startswith('"Test Caller" <sip:15550001111@127.0.0.1')
        assert incoming.request_uri.startswith("sip:1000@127.0.0.1")
        assert incoming.pai == "<sip:15550001111@127.0.0.1>"
        assert incoming.diversion is not None and "5550100" in incoming.diversion
        assert incoming.source.startswith("127.0.0.1:")
        agent_leg = await connect_agent(h, worker, incoming.leg, agent_port, tmp_path, "c1")

        await h.wait(leg_state(incoming.leg, "disconnected"), 20)
        await h.wait(leg_state(agent_leg, "disconnected"), 5)  # linked: ended by the worker
        for leg in (incoming.leg, agent_leg):
            await h.wait(is_event(p.RecordingClosed, leg=leg), 5)
        assert await caller.wait(20) == 0, caller.errors()
        assert await agent.wait(20) == 0, agent.errors()
    finally:
        caller.kill()
        agent.kill()

    digits = [ev.event.digit for ev in h.find(is_event(p.DtmfDigit, leg=incoming.leg))]
    assert digits == ["1", "2", "#"]
    closed = {ev.event.leg: ev.event for ev in h.find(is_event(p.RecordingClosed))}
    assert set(closed) == {incoming.leg, agent_leg}
    assert closed[incoming.leg].duration > 5 and closed[incoming.leg].bytes > 80_000
    quality = {ev.event.leg: ev.event for ev in h.find(is_event(p.RtpQuality))}
    assert quality[incoming.leg].rx_packets > 250 and quality[incoming.leg].rx_loss == 0
    states = [
        ev.event.state.value
        for ev in h.find(
            lambda ev: isinstance(ev.event, p.LegStateChanged) and ev.event.leg == agent_leg
        )
    ]
    assert states[0] == "calling" and "confirmed" in states and states[-1] == "disconnected"
    assert_tone(closed[incoming.leg].path, 440, 1000, min_seconds=5.0)
    assert_tone(closed[agent_leg].path, 1000, 440, min_seconds=4.0)
    assert h.pool.capacity().legs == 0


async def test_agent_hangs_up_and_the_caller_is_released(make_harness, pcaps, tmp_path):
    h = await make_harness(1)
    agent, agent_port = await start_agent(tmp_path, pcaps["tone1000"], end=uas_bye(1500))
    caller = await start_caller(
        tmp_path,
        h.pool.workers()[0].sip_port,
        pcaps["tone440"],
        pcaps["dtmf"],
        dtmf_after_ms=500,
        end=uac_wait_bye(),
    )
    try:
        incoming = (await h.wait(is_event(p.IncomingCall), 10)).event
        agent_leg = await connect_agent(h, "w1", incoming.leg, agent_port, tmp_path, "c2")
        agent_end = await h.wait(leg_state(agent_leg, "disconnected"), 10)
        caller_end = await h.wait(leg_state(incoming.leg, "disconnected"), 5)
        assert h.history.index(agent_end) < h.history.index(caller_end)
        for leg in (incoming.leg, agent_leg):
            await h.wait(is_event(p.RecordingClosed, leg=leg), 5)
        assert await caller.wait(15) == 0, caller.errors()
        assert await agent.wait(15) == 0, agent.errors()
    finally:
        caller.kill()
        agent.kill()
    closed = [ev.event for ev in h.find(is_event(p.RecordingClosed))]
    assert len(closed) == 2
    for rec in closed:
        audio.check_header(rec.path)
