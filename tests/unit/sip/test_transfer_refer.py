"""The worker's answer to a REFER before any call is placed (no pjsua2 endpoint needed):
declined on a caller's leg, refused without a free leg, and how Refer-To is read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from gateway.ipc import protocol as p
from gateway.sip.transfer import has_replaces, on_transfer_request


class State:
    def __init__(self, legs: int, max_legs: int = 4) -> None:
        self.legs: dict[str, Any] = {f"l{i}": object() for i in range(legs)}
        self.cfg = SimpleNamespace(max_legs=max_legs, worker_id="w1")
        self.worker_id, self.draining = "w1", False
        self.events: list[p.Event] = []

    def emit(self, event: p.Event) -> None:
        self.events.append(event)


def refer(state: State, *, incoming: bool, to: str = "<sip:bob@gw.test>") -> Any:
    prm = SimpleNamespace(dstUri=to, statusCode=202, newCall=None)
    leg = SimpleNamespace(leg_id="w1-out-1", incoming=incoming)
    on_transfer_request(state, leg, prm)  # type: ignore[arg-type]
    return prm


def test_a_refer_on_the_callers_leg_is_declined_and_nothing_is_reported() -> None:
    state = State(legs=2)
    prm = refer(state, incoming=True)
    assert prm.statusCode == 603 and prm.newCall is None
    assert state.events == []


def test_no_free_leg_refuses_the_refer_and_tells_the_control_plane() -> None:
    state = State(legs=4)
    prm = refer(state, incoming=False, to="<sip:bob@gw.test?Replaces=abc%3Bto-tag%3D1>")
    assert prm.statusCode == 503 and prm.newCall is None
    (event,) = state.events
    assert isinstance(event, p.TransferRequested)
    assert (event.leg, event.new_leg, event.replaces, event.code) == ("w1-out-1", "", True, 503)


def test_an_attended_refer_is_told_by_its_replaces() -> None:
    assert has_replaces("<sip:b@d?Replaces=x%3Bto-tag%3D1%3Bfrom-tag%3D2>")
    assert not has_replaces("sip:b@d")
