"""The in-call desk through the real switchboard and store (stepped clock, fake worker):
which commands hold, monitoring and PCI pause send, the 409s, and the call record."""

from __future__ import annotations

from typing import TypeVar

import pytest

from gateway.control.errors import Conflict
from gateway.control.pci import DtmfCodes
from gateway.control.phases import Phase
from gateway.ipc import protocol as p
from gateway.sip.mixing import MonitorMode
from tests.unit.control.conftest import Rig, answered_call

C = TypeVar("C")


async def connected(rig: Rig) -> tuple[str, str, str]:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    await rig.settle()
    assert s.phase is Phase.CONNECTED and dial.leg is not None
    rig.pool.sent.clear()
    return s.call_id, s.caller_leg, dial.leg


async def sent(rig: Rig, kind: type[C]) -> list[C]:
    """The commands of `kind` the worker got (they go out on the call's media chain)."""
    await rig.settle()
    return rig.pool.of(kind)


def act(rig: Rig, fn: object) -> None:
    rig.driver.act(fn)  # type: ignore[arg-type]


async def test_hold_mutes_both_ways_plays_music_and_silences_the_agent_channel(rig: Rig) -> None:
    call_id, caller, agent = await connected(rig)
    call = rig.board.calls.by_call(call_id)
    assert call is not None
    desk = rig.board.incall
    rig.step(2.0)
    act(rig, lambda: desk.hold(call, "api", "sue"))
    assert await sent(rig, p.Mix) == [p.Mix(caller, agent, False, False)]
    (music,) = await sent(rig, p.Play)
    assert music.leg == caller and music.loop and music.path.endswith("music.wav")
    assert await sent(rig, p.RecordPause) == [p.RecordPause(agent)], "the caller's channel goes on"
    with pytest.raises(Conflict, match="already on hold"):
        desk.hold(call, "api", "sue")
    rig.step(3.0)
    rig.pool.sent.clear()
    rig.event(p.LegHold(agent, False))  # the phone's unhold resumes an API hold too
    assert call.session.phase is Phase.CONNECTED
    assert await sent(rig, p.StopPlay) == [p.StopPlay(caller)]
    assert await sent(rig, p.Mix) == [p.Mix(caller, agent, True, True)]
    assert await sent(rig, p.RecordResume) == [p.RecordResume(agent)]
    rig.event(p.LegHold(agent, True))  # and now the phone holds
    rig.step(1.0)
    rig.leg(caller, p.LegState.DISCONNECTED)  # ended while held: resumed first, counted
    rig.leg(agent, p.LegState.DISCONNECTED)
    for path in call.session.recordings.values():
        rig.event(p.RecordingClosed(caller, path, 6.0, 1000))
    await rig.settle()
    row = await rig.record(call_id)
    assert (row.hold_count, row.hold_seconds, row.disposition) == (2, 4.0, "answered")


async def test_pci_pause_spans_and_the_agents_dtmf_codes(rig: Rig) -> None:
    call_id, caller, agent = await connected(rig)
    call = rig.board.calls.by_call(call_id)
    assert call is not None
    rig.step(1.0)
    for digit in "*1":
        rig.event(p.DtmfDigit(agent, digit))
    assert await sent(rig, p.RecordPause) == [p.RecordPause(caller), p.RecordPause(agent)]
    rig.event(p.DtmfDigit(caller, "*"))  # the caller's digits are no codes
    act(rig, lambda: rig.board.incall.hold(call, "api", "sue"))  # agent already silent
    assert len(await sent(rig, p.RecordPause)) == 2
    with pytest.raises(Conflict, match="already paused"):
        rig.board.incall.pause_recording(call, "api", "sue")
    rig.step(2.5)
    act(rig, lambda: rig.board.incall.resume_recording(call, "api", "sue"))
    assert await sent(rig, p.RecordResume) == [p.RecordResume(caller)], (
        "held: the agent stays silent"
    )
    (span,) = call.session.pci.spans
    assert (span.start, span.end, span.by) == (1.0, 3.5, "alice")  # s into the recording


def test_dtmf_codes_need_their_digits_close_together() -> None:
    codes = DtmfCodes("*1", "*2")
    assert codes.feed("*", 0.0) is None and codes.feed("1", 1.0) == "pause"
    assert codes.feed("*", 2.0) is None and codes.feed("2", 5.5) is None, "too slow"
    assert [codes.feed(d, 6.0) for d in "5*2"] == [None, None, "resume"]


async def test_monitor_dials_on_the_callers_worker_and_mixes_per_mode(rig: Rig) -> None:
    call_id, caller, agent = await connected(rig)
    call = rig.board.calls.by_call(call_id)
    assert call is not None
    desk = rig.board.incall
    rig.event(p.Capacity(legs=4, max_legs=4, draining=False))
    with pytest.raises(Conflict, match=r"no free leg on worker w1 \(4 of 4 in use\)"):
        desk.monitor(call, "sam", MonitorMode.LISTEN, "sue")
    assert call.session.monitor is None and not await sent(rig, p.Dial)
    with pytest.raises(Conflict, match="own call"):
        desk.monitor(call, "alice", MonitorMode.LISTEN, "sue")
    rig.event(p.Capacity(legs=2, max_legs=4, draining=False))
    act(rig, lambda: desk.monitor(call, "sam", MonitorMode.LISTEN, "sue"))
    (dial,) = await sent(rig, p.Dial)
    assert dial.uri == "sip:sam@gw.test" and dial.leg == f"{call_id}-s1"
    rig.leg(dial.leg, p.LegState.CONFIRMED)
    sup = dial.leg
    assert await sent(rig, p.Bridge) == [
        p.Bridge(caller, sup, linked=False, a_hears_b=False, b_hears_a=True),
        p.Bridge(agent, sup, linked=False, a_hears_b=False, b_hears_a=True),
    ]
    rig.pool.sent.clear()
    rig.event(p.DtmfDigit(sup, "5"))
    assert await sent(rig, p.Mix) == [
        p.Mix(caller, agent, True, True),
        p.Mix(caller, sup, False, True),
        p.Mix(agent, sup, True, True),
    ]
    assert call.session.phase is Phase.CONNECTED, "monitoring is no phase"
    rig.leg(sup, p.LegState.DISCONNECTED)  # the supervisor hung up
    assert call.session.monitor is None
    (m,) = call.session.monitors
    assert (m.reason, m.changes[0]["mode"], m.changes[0]["source"]) == (
        "supervisor-hung-up", "whisper", "dtmf")  # fmt: skip
    assert call.session.phase is Phase.CONNECTED
