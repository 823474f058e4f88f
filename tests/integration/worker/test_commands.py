"""The rest of the command set, end to end: early media, prompts, stop, record
pause/resume, DTMF both ways, unbridge/re-bridge, reject with a code, dial timeout."""

from __future__ import annotations

import asyncio
import wave

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.errors import BadArgs, NoSuchLeg
from gateway.supervisor.config import WorkerDown
from tests.integration.worker.conftest import (
    MUSIC,
    REPO,
    expect_refusal,
    is_event,
    leg_state,
    start_agent,
    start_caller,
)
from tests.support import audio, ports
from tests.support.agent_ua_client import AgentProcess
from tests.support.sipp import uac_wait_bye, uas_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
BEEP = str(REPO / "config" / "prompts" / "beep.wav")


async def test_early_media_prompt_dtmf_both_ways_and_record_pause(make_harness, pcaps, tmp_path):
    h = await make_harness(1)
    agent_port = ports.sip_block(1)
    agent = await AgentProcess.start(
        [
            "--user",
            "carol",
            "--no-register",
            "--sip-port",
            str(agent_port),
            "--rtp-port",
            str(ports.rtp_block(40)),
            "--never-answer",
            "--tone",
            "1000",
        ]
    )
    caller = await start_caller(
        tmp_path, h.pool.workers()[0].sip_port, pcaps["tone440_long"], None, end=uac_wait_bye()
    )
    try:
        leg = (await h.wait(is_event(p.IncomingCall), 10)).event.leg
        # 183 with a prompt: early media, the call is not answered yet.
        await h.cmd("w1", p.Answer(leg, code=183, prompt=BEEP))
        early = await h.wait(leg_state(leg, "early"), 5)
        assert early.event.code == 183
        done = await h.wait(is_event(p.PlaybackDone, leg=leg), 5)
        assert done.event.path == BEEP
        await h.cmd("w1", p.Answer(leg))
        await h.wait(leg_state(leg, "confirmed"), 5)
        await h.cmd("w1", p.Play(leg, MUSIC, loop=True))
        await h.cmd("w1", p.StopPlay(leg))

        # Record 1 s, pause 1 s, record 1 s: the file keeps its timeline (~3 s), silent
        # while paused.
        rec = str(tmp_path / "paused.wav")
        await h.cmd("w1", p.RecordStart(leg, rec))
        await asyncio.sleep(1.0)
        await h.cmd("w1", p.RecordPause(leg))
        await asyncio.sleep(1.0)
        await h.cmd("w1", p.RecordResume(leg))
        await asyncio.sleep(1.0)
        await h.cmd("w1", p.RecordStop(leg))
        closed = (await h.wait(is_event(p.RecordingClosed, leg=leg), 5)).event
        assert 2.6 < closed.duration < 3.6, closed
        x, rate = audio.read_wav(rec)
        assert audio.dominant_frequency(x, rate) == pytest.approx(440, abs=15)
        level = [float(abs(x[int(t * rate) : int((t + 0.4) * rate)]).mean()) for t in (0.3, 1.3)]
        assert level[1] < 0.01 * level[0], level

        # A ringing agent that never answers: the dial times out with 408.
        await h.cmd("w1", p.Dial(f"sip:carol@127.0.0.1:{agent_port}", leg="slow", timeout=1.0))
        await agent.wait_event("incoming")
        gone = await h.wait(leg_state("slow", "disconnected"), 5)
        assert gone.event.code in (408, 487)
        await agent.wait_event("call_state", state="disconnected")
        # Now it answers: bridge, DTMF each way, unbridge and bridge again.
        await agent.send({"cmd": "mode", "mode": "answer", "delay": 0.1})
        await agent.send({"cmd": "state"})  # a round trip: the mode is in force
        await agent.wait_event("status", mode="answer")
        await h.cmd("w1", p.Dial(f"sip:carol@127.0.0.1:{agent_port}", leg="carol"))
        await h.wait(leg_state("carol", "confirmed"), 5, why=lambda: agent.events)
        await h.cmd("w1", p.Bridge(leg, "carol"))
        await h.cmd("w1", p.SendDtmf("carol", "5*"))
        assert await agent.wait_event("dtmf", digit="*")
        await agent.send({"cmd": "dtmf", "digits": "7"})
        await h.wait(is_event(p.DtmfDigit, leg="carol", digit="7"), 5)
        await h.cmd("w1", p.Unbridge(leg, "carol"))
        await h.cmd("w1", p.Bridge(leg, "carol", linked=False))
        with pytest.raises(BadArgs) as err:
            await h.cmd("w1", p.Bridge(leg, leg))
        assert err.value.code == "bad_args"
        # Not linked: the agent leaving leaves the caller up.
        await agent.send({"cmd": "hangup"})
        await h.wait(leg_state("carol", "disconnected"), 5)
        await asyncio.sleep(0.3)
        assert (await h.cmd("w1", p.Ping()))["legs"] == 1
        await h.cmd("w1", p.Hangup(leg))
        await h.wait(leg_state(leg, "disconnected"), 5)
        assert await caller.wait(10) == 0, caller.errors()
    finally:
        caller.kill()
        assert await agent.stop() == 0
    assert [e["digit"] for e in agent.find("dtmf")] == ["5", "*"]


async def test_unanswered_call_is_rejected_with_the_given_code(make_harness, tmp_path):
    h = await make_harness(1)
    port = h.pool.workers()[0].sip_port

    async def reject_next() -> None:
        leg = (await h.wait(is_event(p.IncomingCall), 10)).event.leg
        await h.cmd("w1", p.Hangup(leg, code=404, reason="Not in service"))

    task = asyncio.create_task(reject_next())
    await expect_refusal(tmp_path, port, 404)
    await task
    ended = (
        await h.wait(
            lambda ev: (
                isinstance(ev.event, p.LegStateChanged)
                and ev.event.state is p.LegState.DISCONNECTED
            ),
            5,
        )
    ).event
    assert ended.code == 404
    with pytest.raises(NoSuchLeg) as err:
        await h.cmd("w1", p.Play("no-such-leg", MUSIC))
    assert err.value.code == "no_such_leg"


async def test_dial_through_an_outbound_proxy_with_headers(make_harness, pcaps, tmp_path):
    """The request URI names a host that does not exist; only the Route (the proxy,
    i.e. the edge in production) gets the INVITE there."""
    h = await make_harness(1)
    agent, agent_port = await start_agent(tmp_path, pcaps["tone1000"], end=uas_bye(500))
    try:
        await h.cmd(
            "w1",
            p.Dial(
                "sip:alice@agents.invalid",
                leg="via-proxy",
                proxy=f"sip:127.0.0.1:{agent_port}",
                headers={"X-Call-Ref": "c-123"},
                timeout=5,
            ),
        )
        await h.wait(leg_state("via-proxy", "confirmed"), 5)
        ended = await h.wait(leg_state("via-proxy", "disconnected"), 5)
        assert ended.event.code == 200
        assert await agent.wait(10) == 0, agent.errors()
    finally:
        agent.kill()


async def test_stopping_players_amid_end_of_file_events_never_crashes_the_worker(
    make_harness, pcaps, tmp_path
):
    """pjsua2 2.15 delivers a player's end-of-file event asynchronously; deleting the
    player while that event is in flight crashed the worker (SIGSEGV, pjproject #4812).
    A 20 ms WAV (looping or not) reaches its end within the time it takes to stop it,
    so each stop races such an event. The harness fails the test if the worker exits abnormally."""
    tick = tmp_path / "tick.wav"
    with wave.open(str(tick), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 160)
    h = await make_harness(1)
    caller = await start_caller(
        tmp_path, h.pool.workers()[0].sip_port, pcaps["tone440_long"], None, end=uac_wait_bye()
    )
    try:
        leg = (await h.wait(is_event(p.IncomingCall), 10)).event.leg
        await h.cmd("w1", p.Answer(leg))
        await h.wait(leg_state(leg, "confirmed"), 5)
        for n in range(120):  # bounded: 120 x ~30 ms; stops land around each end of file
            await h.cmd("w1", p.Play(leg, str(tick), loop=n % 2 == 0))
            await asyncio.sleep(0.012 + (n % 7) * 0.003)
            await h.cmd("w1", p.StopPlay(leg))
        await h.cmd("w1", p.Hangup(leg, 200))
        await h.wait(leg_state(leg, "disconnected"), 5)
        assert not h.find(is_event(WorkerDown))
    finally:
        caller.kill()
