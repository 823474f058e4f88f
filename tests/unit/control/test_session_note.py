"""CallSession <-> the JSON note a worker keeps with the caller's leg (session_note.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.control.phases import Phase
from gateway.control.session import AgentLeg, AgentLegState, CallSession, Role
from gateway.control.session_note import NoteError, from_note, to_note
from gateway.control.transfer_segments import Segment

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def held_session() -> CallSession:
    s = CallSession(
        call_id="c1", sip_call_id="sip-1", worker_id="w1", caller_leg="w1-in-1",
        did="+15550100100", caller="+15551230000", trunk="carrier", arrived_at=T0,
        queue="sales", priority=3, first_position=2, phase=Phase.HELD, disposition="answered",
        caller_name="Ann", answered_at=T0 + timedelta(seconds=20), dialled=2,
    )  # fmt: skip
    s.connected = AgentLeg("c1-a2", "alice", "sales", AgentLegState.ANSWERED, answered=True)
    s.agent_legs[s.connected.leg] = s.connected
    s.recordings = {Role.CALLER: "/rec/c1/caller.wav", Role.AGENT: "/rec/c1/agent.wav"}
    s.hold.start(100.0, "phone", "alice")
    s.hold.stop(104.0)
    s.hold.start(110.0, "api", "sup")
    s.segments.append(Segment(2, "bob", "c1-t1", T0 + timedelta(seconds=40), "t1", "alice",
                              {"caller": "/rec/c1/segment-2/caller.wav"}, {"caller"}))  # fmt: skip
    return s


def test_a_held_transferred_call_survives_the_round_trip_through_json() -> None:
    s = held_session()
    note = json.loads(json.dumps(to_note(s, 112.5)))  # what the worker keeps is JSON
    back = from_note(note, worker_id="w2", caller_leg="w2-in-7", now_mono=7.0)
    assert (back.worker_id, back.caller_leg) == ("w2", "w2-in-7")  # the snapshot's, not ours
    for name in ("call_id", "sip_call_id", "did", "caller", "trunk", "arrived_at", "queue",
                 "priority", "first_position", "phase", "disposition", "caller_name",
                 "answered_at", "dialled", "recordings", "segments", "final_code"):  # fmt: skip
        assert getattr(back, name) == getattr(s, name), name
    assert back.connected == s.connected and back.agent_legs == {"c1-a2": back.connected}
    # the hold in progress goes on, timed by the new clock: 4 s done + 2.5 s so far
    assert (back.hold.count, back.hold.seconds, back.hold.since) == (2, 6.5, 7.0)
    assert (back.hold.source, back.hold.by) == ("api", "sup")
    assert back.hold.total(9.0) == 8.5


def test_a_queued_call_has_no_agent_and_no_hold() -> None:
    s = CallSession("c2", "sip-2", "w1", "w1-in-2", "+1555", "", None, T0, queue="sales")
    s.phase = Phase.QUEUED
    back = from_note(to_note(s, 0.0), worker_id="w1", caller_leg="w1-in-2", now_mono=0.0)
    assert back.connected is None and back.agent_legs == {} and not back.hold.held
    assert (back.phase, back.queue, back.trunk, back.caller) == (Phase.QUEUED, "sales", None, "")


@pytest.mark.parametrize(
    ("change", "message"),
    [({"v": 2}, "version 2"), ({"phase": "dancing"}, "unknown phase"),
     ({"prio": "high"}, "'prio'"), ({"at": "yesterday"}, "bad time"),
     ({"rec": {"drums": "/x.wav"}}, "recording role")],
)  # fmt: skip
def test_a_note_it_cannot_read_is_refused_with_the_field(
    change: dict[str, object], message: str
) -> None:
    note = {**to_note(held_session(), 0.0), **change}
    with pytest.raises(NoteError, match=message):
        from_note(note, worker_id="w1", caller_leg="w1-in-1", now_mono=0.0)
