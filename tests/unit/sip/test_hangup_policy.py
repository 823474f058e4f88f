"""THE hang-up policy, on the worker's state: when a leg of a linked bridge ends, the
worker hangs up the other (after the first leg's own report); unlinked peers stay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from gateway.ipc import protocol as p
from gateway.sip.endpoint import WorkerConfig
from gateway.sip.state import SipState


class NoTimers:
    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        raise AssertionError("no timer expected")

    def stop_after(self, grace: float) -> None:
        raise AssertionError("no stop expected")


@dataclass
class FakeLeg:
    leg_id: str
    closed: bool = False
    hung_up: int = 0

    def hangup_quietly(self, code: int = 0) -> None:
        self.hung_up += 1


def rig(*legs: FakeLeg) -> tuple[SipState, list[p.Event]]:
    events: list[p.Event] = []
    state = SipState(WorkerConfig("w1", 5080, 20000), events.append, NoTimers())
    for leg in legs:
        state.legs[leg.leg_id] = cast(Any, leg)
    return state, events


def test_the_linked_peer_is_hung_up_and_the_unlinked_one_is_not() -> None:
    caller, agent, monitor = FakeLeg("c"), FakeLeg("a"), FakeLeg("m")
    state, events = rig(caller, agent, monitor)
    state.bridges.join("c", "a", linked=True)
    state.bridges.join("c", "m", linked=False)
    caller.closed = True
    state.leg_ended(cast(Any, caller))
    assert (agent.hung_up, monitor.hung_up) == (1, 0)
    assert "c" not in state.legs and events == [p.Capacity(2, 4, False)]
    assert state.bridges.peers("a") == [] and state.bridges.peers("m") == []


def test_the_policy_runs_once_whichever_leg_ends_first() -> None:
    caller, agent = FakeLeg("c"), FakeLeg("a")
    state, _ = rig(caller, agent)
    state.bridges.join("c", "a", linked=True)
    agent.closed = True
    state.leg_ended(cast(Any, agent))  # the agent hangs up: the caller is released
    assert caller.hung_up == 1
    caller.closed = True
    state.leg_ended(cast(Any, caller))  # ... whose own end hangs up nobody
    assert agent.hung_up == 0 and state.legs == {}


def test_a_peer_already_ending_is_not_hung_up_again() -> None:
    caller, agent = FakeLeg("c"), FakeLeg("a", closed=True)
    state, _ = rig(caller, agent)
    state.bridges.join("c", "a", linked=True)
    state.leg_ended(cast(Any, caller))
    assert agent.hung_up == 0
