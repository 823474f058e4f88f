"""The worker's state when it loses its control plane: the next owner-thread turn marks
it orphaned and emits one LegSnapshot per leg (dialog, bridges it hears, recording,
playback, hold, the control plane's note) then the SnapshotDone marker; INVITEs are
refused 503 meanwhile and those legs never appear in an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from gateway.ipc import protocol as p
from gateway.sip.pjerrors import PJ_ERROR
from gateway.sip.state import SipState
from tests.unit.sip.test_hangup_policy import rig as hangup_rig


@dataclass
class FakeLeg:
    leg_id: str
    incoming: bool = True
    state: p.LegState | None = p.LegState.CONFIRMED
    note: dict[str, object] = field(default_factory=dict)
    recorder: object = None
    rec_path: str = ""
    rec_paused: bool = False
    player: object = None
    player_path: str = ""
    player_loop: bool = False
    remote_held: bool = False
    closed: bool = False
    gone: bool = False  # pjsua no longer knows the call
    answered: bool = False  # no RTP stats sampled

    def getInfo(self) -> Any:
        if self.gone:
            raise PJ_ERROR()
        return SimpleNamespace(
            callIdString=f"{self.leg_id}@sip", remoteUri=f"<sip:{self.leg_id}@x>"
        )


def rig(*legs: FakeLeg) -> tuple[SipState, list[p.Event]]:
    state, events = hangup_rig()
    state.legs.update({leg.leg_id: cast(Any, leg) for leg in legs})
    return state, events


def test_the_snapshot_reports_every_leg_as_it_is_then_the_marker() -> None:
    caller = FakeLeg("w1-in-1", note={"call": "c1", "phase": "connected"}, recorder=object(),
                     rec_path="/rec/c1/caller.wav", rec_paused=True, remote_held=True)  # fmt: skip
    agent = FakeLeg("w1-out-2", incoming=False)
    queued = FakeLeg("w1-in-3", player=object(), player_path="/p/music.wav", player_loop=True)
    ringing = FakeLeg("w1-in-4", state=None, gone=True)
    state, events = rig(caller, agent, queued, ringing)
    state.bridges.join("w1-in-1", "w1-out-2", linked=True, a_hears_b=True, b_hears_a=False)
    state.lose_control()
    assert not state.orphaned and events == []  # taken on the owner thread's next turn
    state.housekeeping(0.0)
    assert state.orphaned
    snaps = {e.leg: e for e in events if isinstance(e, p.LegSnapshot)}
    assert events[-1] == p.SnapshotDone(4, 0.0, 0) and len(events) == 5
    assert snaps["w1-in-1"] == p.LegSnapshot(
        "w1-in-1", "w1-in-1@sip", "in", p.LegState.CONFIRMED, "<sip:w1-in-1@x>",
        {"call": "c1", "phase": "connected"}, bridged_to="w1-out-2",
        recording="/rec/c1/caller.wav", recording_paused=True, held=True,
    )  # fmt: skip
    assert snaps["w1-out-2"].direction == "out" and snaps["w1-out-2"].bridged_to == ""  # muted
    assert (snaps["w1-in-3"].playing, snaps["w1-in-3"].playing_loop) == ("/p/music.wav", True)
    assert snaps["w1-in-3"].recording == "" and snaps["w1-in-3"].note == {}
    assert (snaps["w1-in-4"].state, snaps["w1-in-4"].sip_call_id) == (p.LegState.CALLING, "")
    state.housekeeping(1.0)
    assert len(events) == 5  # one snapshot per loss


def test_an_invite_while_orphaned_is_refused_503_and_never_reported() -> None:
    state, events = rig()
    state.lose_control()
    state.housekeeping(0.0)
    events.clear()
    refused = FakeLeg("w1-in-9", state=None)
    state.unannounced.add(refused.leg_id)  # what on_incoming does while orphaned
    state.legs[refused.leg_id] = cast(Any, refused)
    state.lose_control()  # a leg refused meanwhile is in no snapshot
    state.housekeeping(0.5)
    assert events == [p.SnapshotDone(0, 0.0, 0)]
    events.clear()
    state.emit(p.LegStateChanged("w1-in-9", p.LegState.DISCONNECTED, 503, "Service Unavailable"))
    state.leg_ended(cast(Any, refused))
    assert events == [] and not state.unannounced and not state.legs
    state.regain_control()
    assert not state.orphaned
    state.emit(p.LegStateChanged("w1-in-9", p.LegState.DISCONNECTED, 0, ""))  # name reused
    assert len(events) == 1
