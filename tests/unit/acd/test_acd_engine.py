"""Engine lifecycle: offers, answers, wrap-up, timeouts, abandons, agent actions."""

from __future__ import annotations

import pytest
from acd_harness import Acd, of_type, offers

from acd import commands as cmd
from acd import events as ev
from acd.errors import ClockError, ConfigError, InvalidTransitionError, UnknownEntityError
from acd.model import AgentConfig, QueueConfig, QueueTarget, Strategy
from acd.states import AgentState as S
from acd.states import AgentTrigger, Pending
from acd.states import CallState as C


def test_call_is_offered_answered_wrapped_up_and_agent_freed(acd: Acd) -> None:
    acd.queue(wrap_up=10.0, offer_timeout=15.0)
    acd.agent("a")
    out = acd(ev.CallArrived("c1", "q"), at=1.0)
    assert of_type(out, cmd.CallQueued) == [cmd.CallQueued("c1", "q", 1)]
    assert of_type(out, cmd.OfferCall) == [cmd.OfferCall("c1", "a", "q", 15.0)]
    assert acd.state("a") is S.OFFERED and acd.call_state("c1") is C.OFFERING
    assert acd.engine.next_deadline() == 16.0
    out = acd(ev.OfferAnswered("c1", "a"), at=4.0)
    assert of_type(out, cmd.ConnectCall) == [cmd.ConnectCall("c1", "a", "q", 3.0)]
    assert acd.state("a") is S.ON_CALL and acd.call_state("c1") is C.CONNECTED
    assert acd.engine.next_deadline() is None  # the offer timer went stale
    acd(ev.ConversationEnded("c1"), at=64.0)
    assert acd.state("a") is S.WRAP_UP and acd.call_state("c1") is None
    assert acd.engine.next_deadline() == 74.0
    assert acd.tick(73.9) == []
    out = acd.tick(74.0)
    assert of_type(out, cmd.AgentStateChanged) == [
        cmd.AgentStateChanged("a", S.WRAP_UP, S.AVAILABLE, "")
    ]


def test_agent_state_history_through_one_call(acd: Acd) -> None:
    acd.queue(wrap_up=5.0)
    acd.agent("a")
    acd(ev.CallArrived("c", "q"))
    acd(ev.OfferAnswered("c", "a"), at=1)
    acd(ev.ConversationEnded("c"), at=2)
    acd(ev.WrapUpDone("a"), at=3)  # agent ends wrap-up early
    history = [(c.old, c.new) for c in of_type(acd.log, cmd.AgentStateChanged)]
    assert history == [
        (S.LOGGED_OUT, S.AVAILABLE), (S.AVAILABLE, S.OFFERED), (S.OFFERED, S.ON_CALL),
        (S.ON_CALL, S.WRAP_UP), (S.WRAP_UP, S.AVAILABLE),
    ]  # fmt: skip
    assert acd.tick(10.0) == []  # the wrap-up timer is stale


def test_waiting_call_goes_to_agent_when_it_frees_up(acd: Acd) -> None:
    acd.queue()
    acd.agent("a")
    acd(ev.CallArrived("c1", "q"))
    acd(ev.OfferAnswered("c1", "a"), at=1)
    out = acd(ev.CallArrived("c2", "q"), at=2)
    assert offers(out) == [] and acd.call_state("c2") is C.QUEUED
    out = acd(ev.ConversationEnded("c1"), at=30)
    assert offers(out) == [("c2", "a")]


def test_offer_timeout_moves_to_next_agent(acd: Acd) -> None:
    acd.queue(offer_timeout=10.0)
    acd.agent("a")
    acd.agent("b")
    assert offers(acd(ev.CallArrived("c", "q"), at=1)) == [("c", "a")]
    out = acd.tick(11.0)
    assert of_type(out, cmd.CancelOffer) == [cmd.CancelOffer("c", "a", "timeout")]
    assert offers(out) == [("c", "b")]
    assert acd.state("a") is S.AVAILABLE


def test_offer_failed_moves_to_next_agent_and_single_agent_is_retried(acd: Acd) -> None:
    acd.queue()
    acd.agent("a")
    acd(ev.CallArrived("c", "q"))
    out = acd(ev.OfferFailed("c", "a", ev.OfferFailure.BUSY), at=2)
    assert offers(out) == [("c", "a")]  # nobody else: ring it again
    assert of_type(out, cmd.CancelOffer) == []  # the gateway already knows it failed


def test_consecutive_no_answers_pause_agent(acd: Acd) -> None:
    acd.queue(offer_timeout=5.0)
    acd.agent("a")
    acd(ev.CallArrived("c", "q"))
    acd.tick(5)
    acd.tick(10)
    assert acd.state("a") is S.OFFERED
    out = acd.tick(15)
    assert acd.state("a") is S.PAUSED
    assert acd.engine.agent("a").pause_reason == "no-answer"
    assert cmd.AgentStateChanged("a", S.OFFERED, S.PAUSED, "no-answer") in out
    assert acd.call_state("c") is C.QUEUED
    acd(ev.AgentUnpause("a"), at=20)
    assert acd.state("a") is S.OFFERED


def test_answer_resets_no_answer_count(acd: Acd) -> None:
    acd.queue(offer_timeout=5.0)
    acd.agent("a")
    acd(ev.CallArrived("c1", "q"))
    acd.tick(5)
    acd.tick(10)
    acd(ev.OfferAnswered("c1", "a"), at=11)
    acd(ev.ConversationEnded("c1"), at=12)
    acd(ev.CallArrived("c2", "q"), at=13)
    acd.tick(18)
    acd.tick(23)
    assert acd.state("a") is S.OFFERED  # 2 misses since the answer, limit is 3


def test_caller_hangs_up_while_queued(acd: Acd) -> None:
    acd.queue()
    acd(ev.CallArrived("c", "q"), at=1)
    out = acd(ev.CallerHungUp("c"), at=31)
    assert out == [cmd.CallAbandoned("c", "q", 30.0)]
    assert acd.engine.waiting("q") == [] and acd.call_state("c") is None
    assert acd(ev.CallerHungUp("c")) == []  # late duplicate: ignored


def test_caller_hangs_up_while_agent_rings(acd: Acd) -> None:
    acd.queue()
    acd.agent("a")
    acd(ev.CallArrived("c1", "q"))
    acd(ev.OfferAnswered("c1", "a"), at=1)
    acd.agent("b")
    acd(ev.CallArrived("c2", "q"), at=2)
    acd(ev.CallArrived("c3", "q"), at=3)
    assert acd.state("b") is S.OFFERED
    out = acd(ev.CallerHungUp("c2"), at=4)
    assert of_type(out, cmd.CancelOffer) == [cmd.CancelOffer("c2", "b", "caller-hung-up")]
    assert offers(out) == [("c3", "b")]  # b is free and takes the next caller
    assert acd.engine.next_deadline() == 4 + 15.0  # only c3's offer (made at 4) is live
    assert acd(ev.OfferAnswered("c2", "b")) == [cmd.CancelOffer("c2", "b", "stale")]


def test_caller_hang_up_after_answer_ends_conversation(acd: Acd) -> None:
    acd.queue()
    acd.agent("a")
    acd(ev.CallArrived("c", "q"))
    acd(ev.OfferAnswered("c", "a"), at=1)
    acd(ev.CallerHungUp("c"), at=5)
    assert acd.call_state("c") is None and acd.state("a") is S.AVAILABLE


def test_pause_and_logout_during_a_call_are_deferred(acd: Acd) -> None:
    acd.queue(wrap_up=5.0)
    acd.agent("a")
    acd.agent("b")
    acd(ev.CallArrived("c", "q"))
    acd(ev.OfferAnswered("c", "a"), at=1)
    acd(ev.AgentPause("a", "lunch"), at=2)
    assert acd.state("a") is S.ON_CALL and acd.engine.agent("a").pending == Pending(
        AgentTrigger.PAUSE, "lunch"
    )
    acd(ev.ConversationEnded("c"), at=3)
    acd(ev.CallArrived("c2", "q"), at=4)  # b takes it
    acd(ev.AgentLogout("b"), at=5)
    assert acd.state("b") is S.OFFERED
    acd.tick(8)
    assert acd.state("a") is S.PAUSED and acd.engine.agent("a").pause_reason == "lunch"
    acd(ev.OfferFailed("c2", "b"), at=9)
    assert acd.state("b") is S.LOGGED_OUT


def test_unpause_cancels_a_deferred_pause(acd: Acd) -> None:
    acd.queue()
    acd.agent("a")
    acd(ev.CallArrived("c", "q"))
    acd(ev.OfferAnswered("c", "a"))
    acd(ev.AgentPause("a"))
    acd(ev.AgentUnpause("a"))
    acd(ev.ConversationEnded("c"), at=1)
    assert acd.state("a") is S.AVAILABLE


def test_invalid_transitions_and_unknown_entities_raise(acd: Acd) -> None:
    acd.queue()
    acd.agent("a", login=False)
    with pytest.raises(InvalidTransitionError):
        acd(ev.AgentPause("a"))
    with pytest.raises(InvalidTransitionError):
        acd(ev.WrapUpDone("a"))
    with pytest.raises(UnknownEntityError):
        acd(ev.AgentLogin("nobody"))
    with pytest.raises(ConfigError):
        acd.queue()
    acd(ev.AgentLogin("a"))
    with pytest.raises(InvalidTransitionError):
        acd(ev.AgentLogin("a"))
    with pytest.raises(InvalidTransitionError):
        acd(ev.RemoveAgent("a"))
    acd(ev.CallArrived("c", "q"))
    with pytest.raises(InvalidTransitionError):
        acd(ev.CallArrived("c", "q"))
    with pytest.raises(ClockError):
        acd.engine.handle(ev.Tick(), -1.0)


def test_unknown_queue_diverts_and_late_events_are_harmless(acd: Acd) -> None:
    out = acd(ev.CallArrived("c", "nowhere"))
    assert [type(c) for c in out] == [cmd.Divert] and out[0].reason == "unknown-queue"
    assert acd(ev.ConversationEnded("c")) == []
    assert acd(ev.OfferFailed("c", "x")) == []


def test_same_inputs_same_outputs() -> None:
    def run() -> list[cmd.Command]:
        a = Acd(seed=7)
        a.queue(strategy=Strategy.RANDOM, offer_timeout=3)
        for i in range(5):
            a.agent(f"a{i}")
        for i in range(8):
            a(ev.CallArrived(f"c{i}", "q"), at=float(i))
        a.tick(20)
        return a.log

    assert run() == run()


def test_live_queue_update_keeps_calls_and_applies_new_limits(acd: Acd) -> None:
    acd.queue()
    acd(ev.CallArrived("c1", "q"), at=0)
    acd(ev.CallArrived("c2", "q"), at=10)
    out = acd(ev.UpdateQueue(QueueConfig("q", max_wait=30.0)), at=20)
    assert out == [] and acd.engine.waiting("q") == ["c1", "c2"]
    assert acd.engine.next_deadline() == 30.0
    out = acd.tick(30.0)
    assert [(d.call_id, d.reason) for d in of_type(out, cmd.Divert)] == [("c1", "max-wait")]
    assert acd.engine.waiting("q") == ["c2"]


def test_live_agent_update_changes_queues_and_skills(acd: Acd) -> None:
    acd.queue("q1")
    acd.queue("q2")
    acd.agent("a", ("q1",))
    acd(ev.CallArrived("c", "q2"))
    assert acd.call_state("c") is C.QUEUED
    out = acd(ev.UpdateAgent(AgentConfig("a", ("q1", "q2"))), at=1)
    assert offers(out) == [("c", "a")]
    acd(ev.OfferAnswered("c", "a"))
    acd(ev.UpdateAgent(AgentConfig("a", ())), at=2)  # the call in progress is untouched
    assert acd.state("a") is S.ON_CALL
    acd(ev.ConversationEnded("c"), at=3)
    acd(ev.CallArrived("c2", "q1"), at=4)
    assert acd.call_state("c2") is C.QUEUED


def test_remove_queue_overflows_waiting_calls_and_remove_agent(acd: Acd) -> None:
    acd.queue("q2")
    acd.queue("q", overflow=QueueTarget("q2"))
    acd.agent("a", ("q",))
    acd(ev.CallArrived("c1", "q"))
    acd(ev.CallArrived("c2", "q"))
    out = acd(ev.RemoveQueue("q"), at=1)
    assert cmd.CancelOffer("c1", "a", "queue-removed") in out
    assert acd.engine.waiting("q2") == ["c1", "c2"]
    assert acd.engine.agent("a").queues == ()
    acd(ev.AgentLogout("a"))
    acd(ev.RemoveAgent("a"))
    assert acd.engine.agent_ids() == []
    acd.queue("q")  # re-adding the queue works and has no members
    assert acd.engine.waiting("q") == []


def test_agent_added_before_its_queue_joins_when_queue_appears(acd: Acd) -> None:
    acd.agent("a", ("later",))
    acd.queue("later")
    out = acd(ev.CallArrived("c", "later"))
    assert offers(out) == [("c", "a")]


def test_late_time_fires_every_due_timer_at_its_own_deadline() -> None:
    acd = Acd(no_answer_pause_after=100)
    acd.queue(offer_timeout=10.0, wrap_up=5.0)
    acd.agent("a")
    acd.agent("b")
    acd(ev.CallArrived("c1", "q"), at=0)
    acd(ev.OfferAnswered("c1", "a"), at=1)
    acd(ev.ConversationEnded("c1"), at=2)  # a: wrap-up until 7
    acd(ev.CallArrived("c2", "q"), at=3)  # rings b until 13
    out = acd.tick(100.0)  # the gateway wakes up very late
    # 7: a is ready (idle since 7); 13: b times out, c2 rings a at 13 until 23;
    # 23: a times out, c2 rings b until 33; ...: every timer acted at its deadline
    assert offers(out)[:2] == [("c2", "a"), ("c2", "b")]
    assert acd.engine.next_deadline() == 103.0  # 3 + 10 x 10: the 10th ring ends at 103


def test_next_deadline_skips_stale_timers(acd: Acd) -> None:
    acd.queue(offer_timeout=10.0, max_wait=50.0)
    acd.agent("a")
    acd(ev.CallArrived("c", "q"), at=0)
    assert acd.engine.next_deadline() == 10.0
    acd(ev.OfferAnswered("c", "a"), at=1)
    assert acd.engine.next_deadline() is None  # offer and max-wait timers are moot


def test_removed_queue_never_gets_its_calls_back(acd: Acd) -> None:
    acd.queue("b", max_length=0, overflow=QueueTarget("a"))
    acd.queue("a", overflow=QueueTarget("b"))
    acd(ev.CallArrived("c", "a"))
    out = acd(ev.RemoveQueue("a"), at=1)
    assert of_type(out, cmd.Overflowed) == [cmd.Overflowed("c", "a", "b", "queue-removed")]
    assert [(d.call_id, d.reason) for d in of_type(out, cmd.Divert)] == [("c", "unknown-queue")]
    assert acd.engine.call_ids() == []


def test_queue_update_changes_who_is_eligible(acd: Acd) -> None:
    acd.queue()
    acd.agent("en", skills={"en": 3})
    acd.agent("fr", skills={"fr": 3})
    acd(ev.UpdateQueue(QueueConfig("q", required_skills={"fr": 2})), at=1)
    assert offers(acd(ev.CallArrived("c1", "q"), at=2)) == [("c1", "fr")]
    acd(ev.CallArrived("c2", "q"), at=3)  # "en" is idle but not eligible
    view = acd.engine.call("c2")
    assert view is not None and view.state is C.QUEUED
    out = acd(ev.UpdateQueue(QueueConfig("q")), at=4)  # requirement dropped
    assert offers(out) == [("c2", "en")]
