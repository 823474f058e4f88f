"""Skills and relaxation, priorities and weights, overflow, limits, join/leave policies,
announcements."""

from __future__ import annotations

from acd_harness import Acd, of_type, offers

from acd import commands as cmd
from acd import events as ev
from acd.model import (
    AgentConfig,
    JoinPolicy,
    LeavePolicy,
    QueueConfig,
    QueueTarget,
    RelaxStep,
    TerminalAction,
    TerminalTarget,
)
from acd.skills import eligible, requirement
from acd.states import CallState as C


def test_requirement_merges_and_relaxes() -> None:
    steps = (RelaxStep(10, lower_by=1), RelaxStep(20, lower_by=2, drop=frozenset({"fr"})))
    base = {"en": 4}
    assert requirement(base, {"fr": 3, "en": 2}, steps, 0) == (("en", 4), ("fr", 3))
    assert requirement(base, {"fr": 3}, steps, 1) == (("en", 3), ("fr", 2))
    assert requirement(base, {"fr": 3}, steps, 2) == (("en", 1),)
    assert eligible({"en": 1, "x": 9}, (("en", 1),))
    assert not eligible({"x": 9}, (("en", 1),))


def test_call_goes_only_to_agent_with_required_skill_level(acd: Acd) -> None:
    acd.queue(required_skills={"en": 1})
    acd.agent("novice", skills={"en": 2})
    acd.agent("expert", skills={"en": 5, "billing": 3})
    acd.agent("french", skills={"fr": 5})
    out = acd(ev.CallArrived("c", "q", skills={"billing": 2}))
    assert offers(out) == [("c", "expert")]
    out = acd(ev.CallArrived("c2", "q", skills={"en": 2}))
    assert offers(out) == [("c2", "novice")]
    out = acd(ev.CallArrived("c3", "q"))
    assert acd.call_state("c3") is C.QUEUED  # french lacks "en"


def test_skill_requirement_relaxes_while_waiting(acd: Acd) -> None:
    steps = (RelaxStep(30, lower_by=2), RelaxStep(60, drop=frozenset({"billing"})))
    acd.queue(relax_steps=steps)
    acd.agent("junior", skills={"billing": 2})
    acd.agent("generalist", skills={"en": 1})
    acd(ev.CallArrived("c", "q", skills={"billing": 4}), at=0)
    assert acd.call_state("c") is C.QUEUED
    assert acd.engine.next_deadline() == 30
    assert offers(acd.tick(29.9)) == []
    out = acd.tick(30)
    assert offers(out) == [("c", "junior")]  # level 4 -> 2
    acd(ev.OfferFailed("c", "junior", ev.OfferFailure.REJECTED), at=31)
    acd(ev.AgentPause("junior"), at=32)
    out = acd.tick(60)
    assert offers(out) == [("c", "generalist")]  # skill dropped


def test_relaxation_of_the_calls_own_skills_carries_over_an_overflow(acd: Acd) -> None:
    # issue 7: the property test's "a2 got c6 before earlier c0", made deterministic
    acd.queue("backup", required_skills={"de": 1}, relax_steps=(RelaxStep(10, lower_by=1),))
    acd.queue(
        "q", relax_steps=(RelaxStep(30, lower_by=1, drop=frozenset({"fr"})),),
        leave=LeavePolicy.IF_NO_LOGGED_IN, overflow=QueueTarget("backup"),
    )  # fmt: skip
    acd.agent("keeper", ("q",))  # keeps "q" staffed, has none of the skills
    acd.agent("german", ("backup",), skills={"de": 1, "en": 1})
    acd(ev.CallArrived("c0", "q", skills={"en": 3, "fr": 1}), at=0)
    acd.tick(30)
    assert acd.engine.call("c0").requirement == (("en", 2),)  # type: ignore[union-attr]
    out = acd(ev.AgentLogout("keeper"), at=40)  # "q" empties: c0 overflows
    assert of_type(out, cmd.Overflowed) == [cmd.Overflowed("c0", "q", "backup", "empty")]
    # its own skills keep what they earned in "q"; the queue's "de" is backup's own
    assert acd.engine.call("c0").requirement == (("de", 1), ("en", 2))  # type: ignore[union-attr]
    assert offers(out) == []  # german has en 1
    acd.tick(50)  # backup's step: lowers by 1, not again by q's 1 (the looser wins)
    assert acd.engine.call("c0").requirement == (("de", 1), ("en", 2))  # type: ignore[union-attr]
    faster = QueueConfig("backup", required_skills={"de": 1}, relax_steps=(RelaxStep(5, 2),))
    out = acd(ev.UpdateQueue(faster), at=51)
    assert offers(out) == [("c0", "german")]  # backup now lowers by 2: en 1


def test_agent_moving_queues_takes_the_older_caller_its_leaving_empties_out(acd: Acd) -> None:
    # the callers of a queue the update emptied overflow before the agent picks its work,
    # so FIFO holds for them as it does for everyone else (found by reading the property)
    acd.queue("back")
    acd.queue("front", leave=LeavePolicy.IF_NO_LOGGED_IN, overflow=QueueTarget("back"))
    acd.agent("a", ("front",), skills={"en": 1})
    acd(ev.CallArrived("c0", "front", skills={"fr": 1}), at=0)  # a lacks fr
    acd(ev.CallArrived("c6", "back"), at=1)
    out = acd(ev.UpdateAgent(AgentConfig("a", ("back",), {"en": 1, "fr": 1})), at=2)
    assert of_type(out, cmd.Overflowed) == [cmd.Overflowed("c0", "front", "back", "empty")]
    assert acd.engine.waiting("back") == ["c0", "c6"]
    assert offers(out) == [("c0", "a")]


def test_auto_pause_that_empties_a_queue_moves_its_callers_before_rematching() -> None:
    acd = Acd(no_answer_pause_after=1)
    acd.queue("back")
    acd.queue("side", leave=LeavePolicy.IF_ALL_PAUSED, overflow=QueueTarget("back"))
    acd.agent("f", ("back", "side"))
    acd.agent("b", ("back",), skills={"fr": 1})
    acd(ev.CallArrived("c0", "side", skills={"fr": 1}), at=0)  # f lacks fr
    assert offers(acd(ev.CallArrived("c", "back"), at=1)) == [("c", "f")]
    out = acd(ev.OfferFailed("c", "f"), at=2)  # f auto-paused: "side" is all paused
    assert acd.engine.waiting("back") == ["c0", "c"]
    assert offers(out) == [("c0", "b")]


def test_priority_within_queue_then_arrival_order(acd: Acd) -> None:
    acd.queue()
    for i, prio in enumerate([0, 5, 0, 5]):
        acd(ev.CallArrived(f"c{i}", "q", priority=prio), at=float(i))
    assert acd.engine.waiting("q") == ["c1", "c3", "c0", "c2"]
    acd.agent("a")
    assert offers(acd.log[-2:]) == [("c1", "a")]


def test_agent_takes_call_from_heavier_queue_then_longest_waiting(acd: Acd) -> None:
    acd.queue("light", weight=0)
    acd.queue("heavy", weight=10)
    acd.queue("other", weight=0)
    acd(ev.CallArrived("l1", "light"), at=0)
    acd(ev.CallArrived("o1", "other"), at=1)
    acd(ev.CallArrived("h1", "heavy"), at=2)
    acd.agent("a", ("light", "heavy", "other"))
    assert offers(acd.log)[-1] == ("h1", "a")
    acd(ev.OfferAnswered("h1", "a"), at=3)
    out = acd(ev.ConversationEnded("h1"), at=4)
    assert offers(out) == [("l1", "a")]  # same weight: longest waiting


def test_overflow_to_queue_keeps_original_arrival_time(acd: Acd) -> None:
    acd.queue("backup")
    acd.queue("q", max_wait=60, overflow=QueueTarget("backup"))
    acd(ev.CallArrived("early", "q"), at=0)
    acd(ev.CallArrived("b1", "backup"), at=30)
    out = acd.tick(60)
    assert of_type(out, cmd.Overflowed) == [cmd.Overflowed("early", "q", "backup", "max-wait")]
    assert acd.engine.waiting("backup") == ["early", "b1"]  # arrival 0 < 30
    acd.agent("a", ("backup",))
    assert offers(acd.log)[-1] == ("early", "a")
    out = acd(ev.OfferAnswered("early", "a"), at=61)
    assert of_type(out, cmd.ConnectCall)[0].wait_seconds == 61


def test_overflow_to_terminal_target_on_max_wait_cancels_ringing(acd: Acd) -> None:
    acd.queue(
        max_wait=20, offer_timeout=30, overflow=TerminalTarget(TerminalAction.VOICEMAIL, "200")
    )
    acd.agent("a")
    acd(ev.CallArrived("c", "q"), at=0)
    out = acd.tick(20)
    assert of_type(out, cmd.CancelOffer) == [cmd.CancelOffer("c", "a", "max-wait")]
    assert of_type(out, cmd.Divert) == [
        cmd.Divert("c", "q", TerminalAction.VOICEMAIL, "200", "max-wait")
    ]
    assert acd.call_state("c") is None and acd.state("a").value == "available"
    assert acd.engine.agent("a").pending is None


def test_max_length_refuses_the_extra_caller(acd: Acd) -> None:
    acd.queue(max_length=2, overflow=TerminalTarget(TerminalAction.CALLBACK_OFFER))
    acd(ev.CallArrived("c1", "q"))
    acd(ev.CallArrived("c2", "q"))
    out = acd(ev.CallArrived("c3", "q"))
    assert out == [cmd.Divert("c3", "q", TerminalAction.CALLBACK_OFFER, "", "full")]
    assert acd.engine.waiting("q") == ["c1", "c2"]


def test_overflow_loop_is_cut(acd: Acd) -> None:
    acd.queue("x", max_length=0, overflow=QueueTarget("y"))
    acd.queue("y", max_length=0, overflow=QueueTarget("x"))
    out = acd(ev.CallArrived("c", "x"))
    assert len(of_type(out, cmd.Overflowed)) == 8
    assert of_type(out, cmd.Divert)[0].reason == "overflow-loop"


def test_join_when_empty_policies(acd: Acd) -> None:
    acd.queue("strict", join=JoinPolicy.IF_UNPAUSED)
    acd.queue("loose", join=JoinPolicy.IF_LOGGED_IN)
    acd.agent("a", ("strict", "loose"))
    acd(ev.AgentPause("a"))
    out = acd(ev.CallArrived("c1", "strict"))
    assert of_type(out, cmd.Divert)[0].reason == "empty"
    acd(ev.CallArrived("c2", "loose"))
    assert acd.call_state("c2") is C.QUEUED
    acd(ev.AgentLogout("a"))
    out = acd(ev.CallArrived("c3", "loose"))
    assert of_type(out, cmd.Divert)[0].reason == "empty"


def test_leave_when_no_one_logged_in(acd: Acd) -> None:
    acd.queue("q", leave=LeavePolicy.IF_NO_LOGGED_IN)
    acd.agent("a")
    acd(ev.AgentPause("a"))
    acd(ev.CallArrived("w", "q"), at=1)
    assert acd.call_state("w") is C.QUEUED  # paused still counts as logged in
    out = acd(ev.AgentLogout("a"), at=2)
    assert cmd.Divert("w", "q", TerminalAction.HANGUP, "", "empty") in out


def test_leave_when_all_paused_diverts_waiting_callers(acd: Acd) -> None:
    acd.queue(leave=LeavePolicy.IF_ALL_PAUSED)
    acd.agent("a")
    acd(ev.CallArrived("c1", "q"))
    acd(ev.OfferAnswered("c1", "a"))
    acd(ev.CallArrived("c2", "q"), at=1)
    acd(ev.AgentPause("a"), at=2)
    assert acd.call_state("c2") is C.QUEUED  # a is still staffed (on call)
    out = acd(ev.ConversationEnded("c1"), at=3)
    assert cmd.Divert("c2", "q", TerminalAction.HANGUP, "", "empty") in out


def test_periodic_announcements_with_position_and_ewt(acd: Acd) -> None:
    acd.queue(announce_every=30, wrap_up=20)
    acd.agent("a")
    acd.agent("b")
    acd(ev.CallArrived("c1", "q"), at=0)
    acd(ev.OfferAnswered("c1", "a"), at=0)
    acd(ev.ConversationEnded("c1"), at=100)  # handle = 100 talk + 20 wrap-up
    acd(ev.CallArrived("c2", "q"), at=101)
    acd(ev.OfferAnswered("c2", "b"), at=101)
    acd(ev.CallArrived("c3", "q"), at=102)
    acd(ev.CallArrived("c4", "q"), at=103)
    assert of_type(acd.tick(125), cmd.Announce) == []  # a wraps up until 120 -> takes c3
    acd(ev.OfferAnswered("c3", "a"), at=126)
    out = acd.tick(133)
    # c4 alone waiting; both agents staffed: EWT = 1 x 120 / 2
    assert of_type(out, cmd.Announce) == [cmd.Announce("c4", "q", 1, 60.0)]
    assert acd.engine.next_deadline() == 163


def test_announcement_ewt_unknown_before_any_handled_call(acd: Acd) -> None:
    acd.queue(announce_every=10)
    acd(ev.CallArrived("c1", "q"), at=0)
    acd(ev.CallArrived("c2", "q"), at=1)
    assert of_type(acd.tick(11), cmd.Announce) == [
        cmd.Announce("c1", "q", 1, None),
        cmd.Announce("c2", "q", 2, None),
    ]
