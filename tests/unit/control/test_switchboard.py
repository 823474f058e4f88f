"""The call flow driven directly through the switchboard and its driver (stepped clock,
real engine and SQLite store, fake worker pool): what the workers are told, what the
call record says."""

from __future__ import annotations

import dataclasses
import uuid
import wave
from pathlib import Path

import pytest

from gateway.control.phases import Phase
from gateway.ipc import protocol as p
from gateway.ipc.errors import NoSuchLeg
from tests.unit.control.conftest import Rig, answered_call

L = p.LegState


async def test_queued_call_rings_the_agent_through_the_edge(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.code == 200 and answer.prompt and answer.prompt.endswith("greeting.wav")
    assert not answer.loop
    (dial,) = rig.pool.of(p.Dial)
    assert dial.uri == "sip:alice@gw.test" and dial.proxy == "sip:127.0.0.1:5060;lr"
    assert dial.headers["X-Contactgw-Queue"] == "sales"
    assert dial.caller_id == "sip:+15551230000@gw.test"
    assert rig.session().phase is Phase.QUEUED


async def test_answer_bridges_records_and_the_caller_hangup_closes_the_record(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    await rig.settle()
    (bridge,) = rig.pool.of(p.Bridge)
    assert (bridge.a, bridge.b, bridge.linked) == ("w1-in-1", dial.leg, True)
    records = {c.leg: c.path for c in rig.pool.of(p.RecordStart)}
    assert set(records) == {"w1-in-1", dial.leg}
    assert records["w1-in-1"].endswith("caller.wav") and records[str(dial.leg)].endswith(
        "agent.wav"
    )
    assert Path(records["w1-in-1"]).parent.is_dir()  # made for the worker to write into
    assert rig.engine.agent("alice").state.value == "on-call"

    rig.leg("w1-in-1", L.DISCONNECTED)
    await rig.settle()
    # One hang-up policy: the worker's linked bridge ends the agent's leg, not us.
    assert rig.pool.of(p.Hangup) == []
    rig.leg(str(dial.leg), L.DISCONNECTED)
    for leg, path in records.items():
        rig.event(p.RecordingClosed(leg=leg, path=path, duration=1.0, bytes=8044))
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "wrap-up"
    row = await rig.record(s.call_id)
    assert (row.disposition, row.agent, row.queue, row.hangup_by) == (
        "answered", "alice", "sales", "caller")  # fmt: skip
    assert row.answered_at is not None and row.ended_at is not None
    assert (row.caller_sip_code, row.agent_sip_code) == (200, 200)
    (offer,) = await rig.cdr.offers(uuid.UUID(s.call_id))
    assert (offer.result, offer.sip_code) == ("answered", 200)
    assert rig.calls_counted("answered") == 1


async def test_the_agent_hanging_up_first_is_ended_by_the_worker_and_recorded(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    assert s.phase is Phase.HANGING_UP
    await rig.settle()
    assert rig.pool.of(p.Hangup) == []  # the linked bridge ends the caller
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.step(15.0)  # recordings never reported closed: finalised by the timeout
    await rig.settle()
    row = await rig.record(s.call_id)
    assert (row.disposition, row.hangup_by) == ("answered", "agent")


async def test_agent_rtp_quality_is_kept_when_the_caller_hangs_up_first(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    await rig.settle()
    quality = {"rx_loss": 0, "rx_jitter_ms": 1.5, "tx_packets": 250, "tx_loss": 0}
    rig.event(p.RtpQuality(leg="w1-in-1", rx_packets=250, **quality))
    rig.leg("w1-in-1", L.DISCONNECTED)
    # The agent's leg ends after the caller's, and reports its quality on the way out.
    rig.event(p.RtpQuality(leg=str(dial.leg), rx_packets=249, **quality))
    rig.leg(str(dial.leg), L.DISCONNECTED)
    rig.step(15.0)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.rtp_quality is not None
    assert row.rtp_quality["caller"]["rx_packets"] == 250
    assert row.rtp_quality["agent"]["rx_packets"] == 249


async def test_finalise_makes_the_stereo_file_then_closes_the_record_once(rig: Rig) -> None:
    from tests.support.audio import read_channels

    def write_pcm_wav(path: str, frames: bytes) -> None:
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(frames)

    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    await rig.settle()
    records = {c.leg: c.path for c in rig.pool.of(p.RecordStart)}
    # What the worker would have written: 1 s of a loud caller and a quiet agent.
    write_pcm_wav(records["w1-in-1"], b"\x00\x40" * 8000)
    write_pcm_wav(records[str(dial.leg)], b"\x00\x04" * 8000)
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.ended_at is None  # not closed while a recording is still open
    rig.event(p.RecordingClosed(leg="w1-in-1", path=records["w1-in-1"], duration=1, bytes=16044))
    await rig.settle()
    assert (await rig.record(s.call_id)).ended_at is None
    rig.event(p.RecordingClosed(leg=str(dial.leg), path=records[str(dial.leg)], duration=1,
                                bytes=16044))  # fmt: skip
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.ended_at is not None and row.recording_stereo is not None
    assert (row.recording_caller, row.recording_agent) == (
        records["w1-in-1"], records[str(dial.leg)])  # fmt: skip
    channels, rate = read_channels(row.recording_stereo)
    assert rate == 8000 and channels.shape[1] == 2
    assert abs(channels[:, 0]).mean() > 5 * abs(channels[:, 1]).mean()  # caller on the left
    assert Path(row.recording_stereo + ".sha256").is_file()
    assert rig.driver.calls_in_flight() == 1  # call.completed waits for the wrap-up
    rig.step(5.0)
    await rig.settle()
    assert rig.driver.calls_in_flight() == 0  # nothing kept for a finished call


async def test_finalise_timeout_closes_the_record_of_a_call_whose_recording_never_closes(
    rig: Rig,
) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    rig.step(14.9)
    await rig.settle()
    assert (await rig.record(s.call_id)).ended_at is None
    assert s.phase is Phase.ENDED
    rig.step(0.2)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.ended_at is not None and row.disposition == "answered"
    assert s.phase is Phase.FINALISED and len(rig.board.calls) == 0


async def test_agent_no_answer_is_reported_and_the_engine_moves_on(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    (dial,) = rig.pool.of(p.Dial)
    rig.leg(str(dial.leg), L.DISCONNECTED, 486)
    await rig.settle()
    s = rig.session()
    offers = await rig.cdr.offers(uuid.UUID(s.call_id))
    assert (offers[0].agent, offers[0].result, offers[0].sip_code) == ("alice", "rejected", 486)
    assert rig.engine.call(s.call_id) is not None  # still queued


async def test_an_answer_the_caller_never_confirms_takes_no_agent(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100", confirm=False)
    await rig.settle()
    s = rig.session()
    assert s.phase is Phase.ANSWERING and rig.pool.of(p.Answer) and rig.pool.of(p.Dial) == []
    assert rig.engine.call(s.call_id) is None  # not in the ACD
    rig.step(32.0)  # pjsip's Timer H: no ACK, the worker ends the leg
    rig.leg("w1-in-1", L.DISCONNECTED, 408)
    await rig.settle()
    assert rig.pool.of(p.Dial) == [] and rig.engine.agent("alice").state.value == "available"
    row = await rig.record(s.call_id)
    assert (row.disposition, row.hangup_by, row.caller_sip_code, row.answered_at) == (
        "failed", "system", 408, None)  # fmt: skip


async def test_a_dial_the_worker_refuses_is_an_unreachable_offer(rig: Rig) -> None:
    rig.pool.refuse[p.Dial] = NoSuchLeg("w1", "caller leg gone")
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    offers = await rig.cdr.offers(uuid.UUID(s.call_id))
    assert offers and {o.result for o in offers} == {"failed"}
    assert rig.engine.call(s.call_id) is not None  # still waiting for someone reachable


async def test_caller_hangup_while_ringing_cancels_the_agent_leg(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    (dial,) = rig.pool.of(p.Dial)
    rig.leg("w1-in-1", L.DISCONNECTED, 487)
    await rig.settle()
    hangups = rig.pool.of(p.Hangup)
    assert [(h.leg, h.code) for h in hangups] == [(dial.leg, 487)]
    rig.leg(str(dial.leg), L.DISCONNECTED, 487)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.disposition == "abandoned_ringing" and row.hangup_by == "caller"
    assert rig.engine.agent("alice").state.value == "available"


async def test_unknown_number_gets_early_media_then_404(rig: Rig) -> None:
    rig.incoming("+15559990000")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.code == 183 and answer.prompt and answer.prompt.endswith("not_in_service.wav")
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))
    await rig.settle()
    (hangup,) = rig.pool.of(p.Hangup)
    assert hangup.code == 404
    s = rig.session()
    rig.leg("w1-in-1", L.DISCONNECTED, 404)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.disposition == "unknown_did" and row.queue is None


async def test_greeting_then_music_then_a_stale_playback_event_is_ignored(rig: Rig) -> None:
    rig.incoming("+15550100200")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.prompt is not None
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))
    await rig.settle()
    (music,) = rig.pool.of(p.Play)
    assert music.path.endswith("music.wav") and music.loop
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))  # late duplicate
    await rig.settle()
    assert len(rig.pool.of(p.Play)) == 1


async def test_position_announcement_then_max_wait_overflow(rig: Rig) -> None:
    rig.incoming("+15550100200")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.prompt is not None
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))  # greeting over: music
    rig.step(20.0)
    await rig.settle()
    music, announce = rig.pool.of(p.Play)
    assert music.loop and not announce.loop
    assert Path(announce.path).name.startswith("announce_caller_number_number_01")
    rig.event(p.PlaybackDone(leg="w1-in-1", path=announce.path))  # back to music
    await rig.settle()
    assert rig.pool.of(p.Play)[-1].loop

    rig.step(40.0)  # 60 s in the queue: max_wait
    await rig.settle()
    goodbye = rig.pool.of(p.Play)[-1]
    assert goodbye.path.endswith("all_busy.wav") and not goodbye.loop
    rig.event(p.PlaybackDone(leg="w1-in-1", path=goodbye.path))
    await rig.settle()
    (hangup,) = rig.pool.of(p.Hangup)
    assert (hangup.leg, hangup.code) == ("w1-in-1", 200)
    s = rig.session()
    rig.leg("w1-in-1", L.DISCONNECTED)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert (row.disposition, row.hangup_by) == ("overflow", "system")


async def test_voicemail_is_cut_off_at_its_time_limit(rig: Rig) -> None:
    rig.incoming("+15550100300")  # max_wait 5 s, then voicemail
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.prompt is not None
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))
    rig.step(5.0)
    await rig.settle()
    s = rig.session()
    assert s.phase is Phase.VOICEMAIL_PROMPT
    intro = rig.pool.of(p.Play)[-1]
    assert intro.path.endswith("voicemail_intro.wav")
    rig.event(p.PlaybackDone(leg="w1-in-1", path=intro.path))
    await rig.settle()
    (record,) = rig.pool.of(p.RecordStart)
    assert record.path.endswith("voicemail.wav") and s.phase is Phase.VOICEMAIL_RECORDING
    rig.step(29.9)
    await rig.settle()
    assert rig.pool.of(p.Hangup) == []
    rig.step(0.2)  # voicemail_max_seconds = 30
    await rig.settle()
    (hangup,) = rig.pool.of(p.Hangup)
    assert (hangup.leg, hangup.code) == ("w1-in-1", 200)
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.event(p.RecordingClosed(leg="w1-in-1", path=record.path, duration=30, bytes=480044))
    await rig.settle()
    row = await rig.record(s.call_id)
    assert (row.disposition, row.hangup_by, row.recording_caller) == (
        "voicemail", "system", record.path)  # fmt: skip


async def test_a_rejected_then_answered_invite_is_counted_once_as_answered(rig: Rig) -> None:
    # Worker 1 is full: pjsua refuses the INVITE with 486 and the edge fails it over to
    # worker 2, which takes it. That is one call, answered.
    rig.login()
    rig.event(p.CallRejected(call_id="sip-w2-in-1", code=486, reason="Busy Here"), "w1")
    rig.incoming("+15550100100", leg="w2-in-1", worker="w2")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.leg("w2-in-1", L.DISCONNECTED)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    rig.step(15.0)
    await rig.settle()
    assert rig.calls_counted("answered") == 1 and rig.calls_counted("failed") == 0
    assert (await rig.record(s.call_id)).disposition == "answered"
    (refused,) = [
        sample
        for metric in rig.metrics.invites_refused.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    ]
    assert refused.labels == {"worker": "w1", "code": "486"} and refused.value == 1


async def test_a_failed_bridge_ends_both_legs_and_frees_the_agent(rig: Rig) -> None:
    rig.pool.refuse[p.Bridge] = NoSuchLeg("w1", "agent leg gone")
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    await rig.settle()
    assert s.phase is Phase.HANGING_UP
    assert {h.leg for h in rig.pool.of(p.Hangup)} == {"w1-in-1", dial.leg}
    assert rig.engine.agent("alice").state.value == "wrap-up"


async def test_a_trunk_that_puts_the_did_in_to_is_routed_on_to(rig: Rig) -> None:
    rig.board.settings = dataclasses.replace(rig.board.settings, did_from_to=frozenset({"carrier"}))
    # R-URI and To name different routed numbers: only `did_from: to` picks To's.
    for trunk, leg in (("carrier", "w1-in-1"), ("other", "w1-in-2")):
        rig.event(
            p.IncomingCall(
                leg=leg, call_id=f"sip-{leg}", request_uri="sip:+15550100200@edge",
                from_uri="sip:+15551230000@carrier", to_uri="sip:+15550100100@edge",
                source="127.0.0.1:5070", trunk=trunk,
            )
        )  # fmt: skip
    await rig.settle()
    queues = {s.caller_leg: s.queue for s in rig.board.calls.sessions()}
    assert queues == {"w1-in-1": "sales", "w1-in-2": "empty"}


async def test_agent_ready_ends_wrap_up_early_and_is_refused_otherwise(rig: Rig) -> None:
    from gateway.control.errors import Conflict
    from gateway.control.presence import Presence

    async def nobody(_users: list[str]) -> set[str]:
        return set()

    presence = Presence(rig.driver, {"alice": True}, nobody)
    presence.login("alice")
    with pytest.raises(Conflict, match="not in wrap-up"):
        presence.ready("alice")
    rig.incoming("+15550100100")
    await rig.settle()
    answered_call(rig)
    rig.leg("w1-in-1", L.DISCONNECTED)
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "wrap-up"  # 5 s of wrap-up
    presence.ready("alice")
    assert rig.engine.agent("alice").state.value == "available"
    await rig.settle()
    states = [r.state for r in await rig.cdr.agent_states("alice")]
    assert states == ["available", "offered", "on-call", "wrap-up", "available"]
