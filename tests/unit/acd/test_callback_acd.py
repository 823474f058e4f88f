"""Queued callbacks in the pure ACD (acd.callback): the entry keeps its place, counts for
the callers behind it, is held back by `not_before`, is never offered twice, and leaves
without counting as an abandon when cancelled. Driven on a stepped clock."""

from __future__ import annotations

import pytest
from acd_harness import Acd, of_type, offers
from hypothesis import given, settings
from hypothesis import strategies as st

from acd import commands as cmd
from acd import events as ev
from acd.callback_events import (
    CallbackCancelled,
    CallbackKept,
    CallbackQueued,
    CallbackRemoved,
    CallbackRequested,
    CallbackRescheduled,
)
from acd.errors import InvalidTransitionError
from acd.model import Strategy
from acd.states import CallState


def _busy_queue(**kw: object) -> Acd:
    acd = Acd()
    acd.queue("q", **kw)
    acd.agent("a1", login=False)
    return acd


def test_callback_keeps_its_place_and_goes_first() -> None:
    acd = _busy_queue()
    acd(ev.CallArrived("c1", "q"), at=0.0)
    out = acd(CallbackRequested("c1"), at=60.0)
    assert of_type(out, CallbackKept) == [CallbackKept("c1", "q", 1)]
    acd(ev.CallArrived("c2", "q"), at=70.0)
    assert acd.engine.waiting("q") == ["c1", "c2"]
    view = acd.engine.call("c1")
    assert view is not None and view.callback and view.arrival_time == 0.0
    out = acd(ev.AgentLogin("a1"), at=80.0)
    assert offers(out) == [("c1", "a1")]  # the callback first, by its original arrival


def test_callback_counts_in_position_and_ewt_for_those_behind() -> None:
    acd = _busy_queue(announce_every=30.0)
    acd(ev.CallArrived("c1", "q"), at=0.0)
    acd(CallbackRequested("c1"), at=10.0)
    out = acd(ev.CallArrived("c2", "q"), at=11.0)
    assert of_type(out, cmd.CallQueued) == [cmd.CallQueued("c2", "q", 2)]
    out = acd.tick(41.0)
    announced = of_type(out, cmd.Announce)
    assert [(a.call_id, a.position) for a in announced] == [("c2", 2)]  # none for c1
    assert acd.engine.estimated_wait("q", 2) is None  # no handle time yet, but position 2


def test_callback_has_no_max_wait_and_no_announcements() -> None:
    acd = _busy_queue(max_wait=30.0, announce_every=10.0)
    acd(ev.CallArrived("c1", "q"), at=0.0)
    acd(CallbackRequested("c1"), at=5.0)
    out = acd.tick(1000.0)
    assert not of_type(out, cmd.Divert) and not of_type(out, cmd.Announce)
    assert acd.call_state("c1") is CallState.QUEUED


def test_ring_all_offers_a_callback_to_one_agent_only() -> None:
    acd = Acd()
    acd.queue("q", strategy=Strategy.RING_ALL)
    acd(ev.CallArrived("c1", "q"), at=0.0)
    acd(CallbackRequested("c1"), at=1.0)
    acd.agent("a1", login=False)
    acd.agent("a2", login=False)
    acd(ev.AgentLogin("a1"), at=2.0)
    acd(ev.AgentLogin("a2"), at=2.0)
    assert offers(acd.log) == [("c1", "a1")]


def test_request_withdraws_ringing_offers_and_reoffers_once() -> None:
    acd = Acd()
    acd.queue("q", strategy=Strategy.RING_ALL)
    acd.agent("a1")
    acd.agent("a2")
    out = acd(ev.CallArrived("c1", "q"), at=0.0)
    assert len(offers(out)) == 2
    out = acd(CallbackRequested("c1"), at=3.0)
    cancelled = {(c.agent_id, c.reason) for c in of_type(out, cmd.CancelOffer)}
    assert cancelled == {("a1", "callback"), ("a2", "callback")}
    assert len(offers(out)) == 1  # re-offered as a callback, to one agent


def test_not_before_holds_back_but_keeps_the_place() -> None:
    acd = _busy_queue()
    out = acd(CallbackQueued("cb", "q", arrival_time=-50.0, not_before=100.0), at=0.0)
    assert of_type(out, CallbackKept) == [CallbackKept("cb", "q", 1)]
    acd(ev.CallArrived("c2", "q"), at=1.0)
    assert acd.engine.waiting("q") == ["cb", "c2"]
    out = acd(ev.AgentLogin("a1"), at=2.0)
    assert offers(out) == [("c2", "a1")]  # the held-back callback is skipped
    acd(ev.OfferAnswered("c2", "a1"))
    acd(ev.ConversationEnded("c2"), at=50.0)  # a1 free again, cb still held back
    assert acd.call_state("cb") is CallState.QUEUED
    assert acd.engine.next_deadline() == 100.0
    out = acd.tick(100.0)
    assert offers(out) == [("cb", "a1")]


def test_reschedule_frees_the_ringing_agent_and_holds_the_place() -> None:
    acd = Acd()
    acd.queue("q")
    acd(ev.CallArrived("c1", "q"), at=0.0)
    acd(CallbackRequested("c1"), at=1.0)
    acd(ev.CallArrived("c2", "q"), at=2.0)
    acd.agent("a1")  # rings for c1
    out = acd(CallbackRescheduled("c1", not_before=500.0), at=3.0)
    assert of_type(out, cmd.CancelOffer)[0].reason == "callback-held"
    assert offers(out) == [("c2", "a1")]  # the agent moves on to the caller behind
    assert acd.engine.waiting("q") == ["c1", "c2"]
    with pytest.raises(InvalidTransitionError):
        acd(CallbackRescheduled("c2", not_before=9.0))  # not a callback


def test_requeued_callback_sorts_by_original_arrival() -> None:
    acd = _busy_queue()
    acd(ev.CallArrived("c1", "q"), at=10.0)
    acd(ev.CallArrived("c2", "q"), at=20.0)
    acd(CallbackQueued("cb", "q", arrival_time=15.0), at=30.0)
    assert acd.engine.waiting("q") == ["c1", "cb", "c2"]


def test_cancel_leaves_without_abandon_and_frees_the_ringing_agent() -> None:
    acd = Acd()
    acd.queue("q")
    acd(ev.CallArrived("c1", "q"), at=0.0)
    acd(CallbackRequested("c1"), at=1.0)
    acd.agent("a1")
    out = acd(CallbackCancelled("c1"), at=2.0)
    assert of_type(out, CallbackRemoved) == [CallbackRemoved("c1", "q", "cancelled")]
    assert of_type(out, cmd.CancelOffer)[0].reason == "callback-cancelled"
    assert not of_type(out, cmd.CallAbandoned)
    assert acd.engine.call("c1") is None and acd.engine.queue_kpis("q", 2.0).abandoned == 0


def test_request_renames_the_entry_in_place() -> None:
    acd = _busy_queue(max_wait=30.0)
    acd(ev.CallArrived("c0", "q"), at=0.0)
    acd(ev.CallArrived("c1", "q"), at=1.0)
    acd(ev.CallArrived("c2", "q"), at=2.0)
    out = acd(CallbackRequested("c1", callback_id="cb1"), at=3.0)
    assert of_type(out, CallbackKept) == [CallbackKept("cb1", "q", 2)]
    assert acd.engine.waiting("q") == ["c0", "cb1", "c2"] and acd.engine.call("c1") is None
    out = acd.tick(31.0)  # the old name's max-wait timer went stale with it
    assert [d.call_id for d in of_type(out, cmd.Divert)] == ["c0"]
    with pytest.raises(InvalidTransitionError):
        acd(CallbackRequested("c2", callback_id="cb1"))


def test_misuse_is_refused() -> None:
    acd = _busy_queue()
    with pytest.raises(InvalidTransitionError):
        acd(CallbackRequested("nope"))
    with pytest.raises(InvalidTransitionError):
        acd(CallbackCancelled("nope"))
    acd(ev.CallArrived("c1", "q"))
    with pytest.raises(InvalidTransitionError):
        acd(CallbackCancelled("c1"))  # not a callback
    acd(CallbackRequested("c1"))
    with pytest.raises(InvalidTransitionError):
        acd(CallbackRequested("c1"))  # twice
    with pytest.raises(InvalidTransitionError):
        acd(CallbackQueued("c1", "q", arrival_time=0.0))
    out = acd(CallbackQueued("x", "missing", arrival_time=0.0))
    assert of_type(out, CallbackRemoved) == [CallbackRemoved("x", "missing", "unknown-queue")]


def test_leave_when_empty_does_not_overflow_a_callback() -> None:
    from acd.model import LeavePolicy

    acd = Acd()
    acd.queue("q", leave=LeavePolicy.IF_NO_LOGGED_IN)
    acd.agent("a1", login=False)
    acd(ev.AgentLogin("a1"))
    acd(ev.AgentPause("a1"))
    acd(ev.CallArrived("c1", "q"), at=0.0)
    acd(CallbackRequested("c1"), at=1.0)
    out = acd(ev.AgentLogout("a1"), at=2.0)
    assert not of_type(out, cmd.Divert) and acd.call_state("c1") is CallState.QUEUED


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(st.integers(0, 100), min_size=2, max_size=8),
    callbacks=st.sets(st.integers(0, 7)),
    n_agents=st.integers(1, 3),
    ring_all=st.booleans(),
)
def test_service_order_and_never_twice(
    arrivals: list[int], callbacks: set[int], n_agents: int, ring_all: bool
) -> None:
    """Whatever mix of callers and callbacks, agents take them in arrival order and every
    callback is offered exactly once when every offer is answered."""
    acd = Acd()
    acd.queue("q", strategy=Strategy.RING_ALL if ring_all else Strategy.LONGEST_IDLE)
    for i in range(n_agents):
        acd.agent(f"a{i}", login=False)
    ids = []
    for i, t in enumerate(sorted(arrivals)):
        call_id = f"c{i}"
        ids.append(call_id)
        acd(ev.CallArrived(call_id, "q"), at=float(t))
        if i in callbacks:
            acd(CallbackRequested(call_id))
    now = 200.0
    for i in range(n_agents):
        acd(ev.AgentLogin(f"a{i}"), at=now)
    served: list[str] = []
    while acd.engine.call_ids():
        ringing = [(c.call_id, c.agent_id) for c in acd.log if isinstance(c, cmd.OfferCall)]
        call_id, agent_id = next(o for o in ringing if o[0] not in served)
        served.append(call_id)
        acd(ev.OfferAnswered(call_id, agent_id))
        now += 1.0
        acd(ev.ConversationEnded(call_id), at=now)
    assert served == ids
    callback_offers = [o for o in offers(acd.log) if int(o[0][1:]) in callbacks]
    assert len(callback_offers) == len([i for i in callbacks if i < len(ids)])
