"""Each agent-selection strategy, driven through the engine."""

from __future__ import annotations

from acd_harness import Acd, of_type, offers

from acd import commands as cmd
from acd import events as ev
from acd.model import Strategy


def _serve(acd: Acd, call_id: str, at: float, talk: float = 10.0) -> str:
    """Arrive, answer by whoever is offered, hang up after `talk`; returns the agent."""
    out = acd(ev.CallArrived(call_id, "q"), at=at)
    ((_, agent),) = offers(out)
    acd(ev.OfferAnswered(call_id, agent), at=at)
    acd(ev.ConversationEnded(call_id), at=at + talk)
    return agent


def _start(acd: Acd, call_id: str, at: float) -> str:
    out = acd(ev.CallArrived(call_id, "q"), at=at)
    ((_, agent),) = offers(out)
    acd(ev.OfferAnswered(call_id, agent), at=at)
    return agent


def test_longest_idle_picks_agent_whose_last_call_ended_first() -> None:
    acd = Acd()
    acd.queue()
    for name in ("a", "b", "c"):
        acd.agent(name)
    assert _start(acd, "c1", at=1) == "a"  # all idle since login at 0: a logged in first
    assert _start(acd, "c2", at=2) == "b"
    acd(ev.ConversationEnded("c2"), at=7)
    acd(ev.ConversationEnded("c1"), at=51)
    assert _start(acd, "c3", at=60) == "c"  # idle since 0
    assert _start(acd, "c4", at=61) == "b"  # idle since 7
    assert _start(acd, "c5", at=62) == "a"  # idle since 51


def test_longest_idle_keeps_idle_time_across_a_missed_offer() -> None:
    acd = Acd()
    acd.queue(offer_timeout=5.0)
    acd.agent("a")
    acd.agent("b")
    acd(ev.CallArrived("c1", "q"), at=1)
    out = acd.tick(6)  # a missed it: b is rung
    assert offers(out) == [("c1", "b")]
    acd(ev.OfferAnswered("c1", "b"), at=7)
    assert offers(acd(ev.CallArrived("c2", "q"), at=8)) == [("c2", "a")]


def test_round_robin_remembers_the_last_agent_rung() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.ROUND_ROBIN)
    for name in ("a", "b", "c"):
        acd.agent(name)
    got = [_serve(acd, f"c{i}", at=100.0 * i) for i in range(5)]
    assert got == ["a", "b", "c", "a", "b"]


def test_round_robin_skips_busy_agents() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.ROUND_ROBIN)
    for name in ("a", "b", "c"):
        acd.agent(name)
    acd(ev.AgentPause("b"))
    assert [_serve(acd, f"c{i}", at=100.0 * i) for i in range(3)] == ["a", "c", "a"]


def test_fewest_calls_prefers_agent_with_fewest_answered_calls() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.FEWEST_CALLS)
    acd.agent("a")
    assert _serve(acd, "c1", at=1) == "a"
    assert _serve(acd, "c2", at=20) == "a"
    acd.agent("b")
    # b logged in last (shortest idle) but has answered nothing
    assert _serve(acd, "c3", at=40) == "b"
    assert _serve(acd, "c4", at=60) == "b"
    assert _serve(acd, "c5", at=80) == "a"  # tie 2-2: longest idle


def test_least_talk_time_prefers_agent_with_least_talk() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.LEAST_TALK_TIME)
    acd.agent("a")
    acd.agent("b")
    assert _start(acd, "c1", at=1) == "a"
    assert _start(acd, "c2", at=2) == "b"
    acd(ev.ConversationEnded("c2"), at=12)  # b: 10 s
    acd(ev.ConversationEnded("c1"), at=101)  # a: 100 s
    assert _serve(acd, "c3", at=200, talk=10) == "b"  # b: 20 s, idle since 210
    assert _serve(acd, "c4", at=300) == "b"  # a idle longer, but b talked less
    assert _serve(acd, "c5", at=400, talk=80) == "b"  # b: 110 s
    assert _serve(acd, "c6", at=500) == "a"


def test_linear_always_hunts_from_the_top_rank() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.LINEAR)
    acd.agent("z", rank=1)
    acd.agent("y", rank=2)
    acd.agent("x", rank=3)
    assert [_serve(acd, f"c{i}", at=100.0 * i) for i in range(3)] == ["z", "z", "z"]
    acd(ev.CallArrived("d1", "q"), at=500)
    assert offers(acd(ev.CallArrived("d2", "q"), at=501)) == [("d2", "y")]


def test_random_is_seeded_and_spreads_calls() -> None:
    def picks(seed: int) -> list[str]:
        acd = Acd(seed=seed)
        acd.queue(strategy=Strategy.RANDOM)
        for name in ("a", "b", "c", "d"):
            acd.agent(name)
        return [_serve(acd, f"c{i}", at=100.0 * i) for i in range(40)]

    assert picks(1) == picks(1)
    assert picks(1) != picks(2)
    assert set(picks(1)) == {"a", "b", "c", "d"}


def test_ring_all_offers_up_to_cap_and_first_answer_wins() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.RING_ALL, ring_all_cap=3)
    for name in ("a", "b", "c", "d"):
        acd.agent(name)
    out = acd(ev.CallArrived("c1", "q"), at=1)
    assert offers(out) == [("c1", "a"), ("c1", "b"), ("c1", "c")]
    out = acd(ev.OfferAnswered("c1", "b"), at=2)
    assert of_type(out, cmd.CancelOffer) == [
        cmd.CancelOffer("c1", "a", "answered-elsewhere"),
        cmd.CancelOffer("c1", "c", "answered-elsewhere"),
    ]
    assert acd.state("a").value == "available" and acd.engine.agent("a").pending is None


def test_ring_all_call_requeues_only_when_every_offer_failed() -> None:
    acd = Acd()
    acd.queue(strategy=Strategy.RING_ALL, offer_timeout=10)
    acd.agent("a")
    acd.agent("b")
    acd(ev.CallArrived("c1", "q"), at=0)
    acd(ev.OfferFailed("c1", "a"), at=1)
    view = acd.engine.call("c1")
    assert view is not None and view.offered_to == ("b",)
    out = acd(ev.OfferFailed("c1", "b"), at=2)
    # back in line: rung again on the idle agent(s); b, who just failed, is not rung
    # in the same instant (it is idle and takes the next call)
    assert offers(out) == [("c1", "a")]
