"""The transition tables, the generated diagram, KPIs and the Erlang formulas."""

from __future__ import annotations

import math

import pytest
from acd_harness import Acd

from acd import events as ev
from acd.erlang import agents_needed, erlang_a, erlang_b, erlang_c
from acd.errors import InvalidTransitionError
from acd.model import QueueTarget, Strategy
from acd.states import (
    AGENT_TRANSITIONS,
    CALL_TRANSITIONS,
    DEFER,
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    agent_next,
    call_next,
    mermaid_agent_diagram,
)


def test_every_agent_state_is_reachable_and_left() -> None:
    sources = {s for s, _ in AGENT_TRANSITIONS}
    targets = {t for t in AGENT_TRANSITIONS.values() if t is not DEFER}
    assert sources == set(AgentState) and targets == set(AgentState)


@pytest.mark.parametrize("state", list(AgentState))
@pytest.mark.parametrize("trigger", list(AgentTrigger))
def test_agent_table_is_the_only_authority(state: AgentState, trigger: AgentTrigger) -> None:
    if (state, trigger) in AGENT_TRANSITIONS:
        assert agent_next(state, trigger) is AGENT_TRANSITIONS[state, trigger]
    else:
        with pytest.raises(InvalidTransitionError, match=trigger.value):
            agent_next(state, trigger)


def test_call_terminal_states_have_no_exit() -> None:
    for state in (CallState.DONE, CallState.ABANDONED, CallState.DIVERTED):
        for trigger in CallTrigger:
            with pytest.raises(InvalidTransitionError):
                call_next(state, trigger)


def test_diagram_is_generated_from_the_table() -> None:
    diagram = mermaid_agent_diagram()
    assert diagram.startswith("stateDiagram-v2")
    assert diagram.count("-->") == len(AGENT_TRANSITIONS)
    assert "OFFERED --> PAUSED: no-answer-limit" in diagram


def _record_transitions(monkeypatch: pytest.MonkeyPatch) -> set[tuple[object, object]]:
    """Every (state, trigger) pair looked up where states change (roster, waitlist)."""
    import acd.roster
    import acd.waitlist

    seen: set[tuple[object, object]] = set()

    def agent(state: AgentState, trigger: AgentTrigger) -> object:
        seen.add((state, trigger))
        return agent_next(state, trigger)

    def call(state: CallState, trigger: CallTrigger) -> CallState:
        seen.add((state, trigger))
        return call_next(state, trigger)

    monkeypatch.setattr(acd.roster, "agent_next", agent)
    monkeypatch.setattr(acd.waitlist, "call_next", call)
    return seen


def test_every_row_of_both_tables_fires(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_transitions(monkeypatch)
    acd = Acd(no_answer_pause_after=2)
    acd.queue("q", wrap_up=5, strategy=Strategy.RING_ALL)
    acd.queue("nowrap")
    acd.queue("first", max_wait=10, overflow=QueueTarget("q"))
    acd.queue("dead", max_wait=5)
    acd(ev.CallArrived("x", "nowhere"))  # NEW -> DIVERTED
    acd(ev.CallArrived("d", "dead"))  # QUEUED -> DIVERTED at max-wait
    acd.tick(5)
    acd.agent("a")
    acd.agent("b")
    for event in (ev.AgentPause("a"), ev.AgentPause("a", "lunch"), ev.AgentUnpause("a"),
                  ev.AgentPause("a"), ev.AgentLogout("a"), ev.AgentLogin("a"),
                  ev.AgentLogout("a"), ev.AgentLogin("a")):  # fmt: skip
        acd(event)
    acd(ev.CallArrived("f", "first"))  # overflows into q at 15: QUEUED -> QUEUED, rings both
    acd.tick(15)
    acd(ev.AgentPause("a"))  # deferred while offered
    acd(ev.AgentLogout("b"))
    acd(ev.OfferAnswered("f", "a"))  # b: offer ended, then its deferred logout
    acd(ev.AgentPause("a"))  # deferred while on call
    acd(ev.AgentLogout("a"))
    acd(ev.ConversationEnded("f"))  # wrap-up
    acd(ev.AgentPause("a"))  # deferred while in wrap-up
    acd(ev.AgentLogout("a"))
    acd(ev.WrapUpDone("a"))
    acd.agent("n", ("nowrap",))
    acd(ev.CallArrived("c2", "nowrap"))
    acd(ev.OfferAnswered("c2", "n"))
    acd(ev.CallerHungUp("c2"))  # after answer: the conversation ended (no wrap-up)
    acd(ev.CallArrived("c3", "nowrap"))
    acd(ev.OfferFailed("c3", "n"))  # back in line, rung again
    acd(ev.OfferFailed("c3", "n"))  # second miss: auto-paused
    acd(ev.CallerHungUp("c3"))  # abandoned while queued
    acd(ev.AgentUnpause("n"))
    acd(ev.CallArrived("c4", "nowrap"))
    acd(ev.CallerHungUp("c4"))  # abandoned while ringing
    assert seen >= set(AGENT_TRANSITIONS) | set(CALL_TRANSITIONS)


def test_kpis_over_a_window() -> None:
    acd = Acd()
    acd.queue(service_level_seconds=20, short_abandon_seconds=5, wrap_up=10)
    acd.agent("a")
    acd(ev.CallArrived("c1", "q"), at=0)
    acd(ev.OfferAnswered("c1", "a"), at=10)  # wait 10: within SL
    acd(ev.CallArrived("c2", "q"), at=10)
    acd(ev.CallArrived("c3", "q"), at=11)
    acd(ev.CallArrived("c4", "q"), at=12)
    acd(ev.CallerHungUp("c3"), at=14)  # short abandon (3 s)
    acd(ev.CallerHungUp("c4"), at=42)  # abandon after 30 s
    acd(ev.ConversationEnded("c1"), at=50)
    acd.tick(60)  # wrap-up ends: a takes c2 (wait 50)
    acd(ev.OfferAnswered("c2", "a"), at=60)
    acd(ev.ConversationEnded("c2"), at=100)
    acd.tick(110)
    k = acd.engine.queue_kpis("q", 110, window=900)
    assert (k.offered, k.answered, k.abandoned, k.short_abandoned) == (4, 2, 1, 1)
    assert k.service_level == 0.5  # 1 of 2 answered within 20 s
    assert k.service_level2 == pytest.approx(2 / 4)  # (1 answered + 1 short abandon) / 4
    assert k.service_level_offered == pytest.approx(1 / 3)
    assert k.asa_seconds == 30.0 and k.aht_seconds == 50.0
    # a: staffed 0..110; busy 0..60 (offered/talk/wrap) and 60..110 = 110 s of 110
    assert k.occupancy == pytest.approx(1.0)
    later = acd.engine.queue_kpis("q", 2000, window=900)
    assert later.offered == 0 and later.service_level is None
    assert later.occupancy == pytest.approx(0.0, abs=1e-9)


def test_longest_waiting_is_live() -> None:
    acd = Acd()
    acd.queue()
    acd(ev.CallArrived("c1", "q"), at=5)
    acd(ev.CallArrived("c2", "q"), at=7)
    k = acd.engine.queue_kpis("q", 20)
    assert k.longest_waiting_seconds == 15 and k.waiting == 2


def test_erlang_c_call_centre_helper_example() -> None:
    # 100 calls per 30 minutes, AHT 180 s, 14 agents, 20 s target
    r = erlang_c(14, 200, 180, 20)
    assert round(r.service_level, 3) == 0.888
    assert round(r.p_wait, 3) == 0.174
    assert round(r.occupancy, 3) == 0.714
    assert r.load_erlangs == 10.0
    assert r.asa_seconds == pytest.approx(0.17413 * 180 / 4, rel=1e-3)


def test_erlang_b_and_c_known_values() -> None:
    assert erlang_b(1, 1.0) == 0.5
    assert erlang_c(1, 1800, 1, 0).p_wait == pytest.approx(0.5)  # M/M/1 at rho 0.5
    with pytest.raises(ValueError):
        erlang_c(10, 200, 180, 20)


def test_agents_needed_for_80_20() -> None:
    r = agents_needed(200, 180, 20, 0.8)
    assert r.agents == 14 and r.service_level >= 0.8
    assert round(erlang_c(13, 200, 180, 20).service_level, 3) == 0.796


def test_erlang_a_tends_to_erlang_c_with_infinite_patience() -> None:
    a = erlang_a(14, 200, 180, 20, patience=1e9)
    c = erlang_c(14, 200, 180, 20)
    for field in ("service_level", "p_wait", "asa_seconds", "occupancy"):
        assert getattr(a, field) == pytest.approx(getattr(c, field), rel=1e-5)


def test_erlang_a_handles_overload_and_is_consistent() -> None:
    r = erlang_a(10, 250, 180, 20, patience=60)  # 12.5 erlangs on 10 agents
    assert 0 < r.p_abandon < 1 and 0 < r.service_level < 1
    # carried load = served fraction x offered load
    assert r.occupancy * 10 == pytest.approx(12.5 * (1 - r.p_abandon))
    assert math.isfinite(r.asa_seconds)
    assert agents_needed(250, 180, 20, 0.8, patience=60).agents >= 12
