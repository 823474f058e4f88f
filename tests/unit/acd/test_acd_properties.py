"""Property tests: random event sequences against the engine's invariants.

After every event (acd_harness.check_invariants): an agent is offered or holds at most
one call, a call's offers and its agents agree, every unanswered call is in exactly one
queue, and no QUEUED call waits while an AVAILABLE eligible agent exists (work
conservation). Across the run: no call is lost or duplicated (each arrival ends exactly
once: diverted, abandoned or connected, or is still in the engine) and offers respect
FIFO within equal priority and eligibility, and a call's requirement never tightens
while it waits (no queue here has required skills of its own, so that holds across
overflows too: see acd.skills).

Hypothesis runs under the `ci` profile (deterministic; tests/conftest.py). Every
falsifying case found by `bench/explore.py` (the `explore` profile) is added below as an
`@example`, so it is checked on every run from then on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from acd_harness import Acd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from acd import commands as cmd
from acd import events as ev
from acd.model import (
    AgentConfig,
    LeavePolicy,
    QueueConfig,
    QueueTarget,
    RelaxStep,
    Strategy,
    TerminalAction,
    TerminalTarget,
)
from acd.skills import Requirement, eligible
from acd.states import AgentState, AgentTrigger, CallState

AGENTS = ["a0", "a1", "a2", "a3", "a4"]
QUEUES = ["q0", "q1", "q2"]
SKILLS = ["en", "fr"]

op = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(QUEUES), st.integers(0, 2),
              st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), max_size=2)),
    st.tuples(st.just("hangup"), st.integers(0, 30)),
    st.tuples(st.just("answer"), st.sampled_from(AGENTS)),
    st.tuples(st.just("answer"), st.sampled_from(AGENTS)),
    st.tuples(st.just("fail"), st.sampled_from(AGENTS)),
    st.tuples(st.just("end"), st.integers(0, 30)),
    st.tuples(st.just("end"), st.integers(0, 12)),
    st.tuples(st.just("agent"), st.sampled_from(AGENTS),
              st.sampled_from(["login", "logout", "pause", "unpause", "ready"])),
    st.tuples(st.just("wait"), st.floats(0.1, 40.0)),
    st.tuples(st.just("update"), st.sampled_from(AGENTS),
              st.lists(st.sampled_from(QUEUES), max_size=3, unique=True),
              st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), max_size=2)),
)  # fmt: skip

strategy = st.sampled_from(list(Strategy))


def _setup(acd: Acd, strategies: list[Strategy]) -> None:
    relax = (RelaxStep(15, lower_by=1), RelaxStep(30, drop=frozenset({"fr"})))
    acd(
        ev.AddQueue(
            QueueConfig(
                "q2",
                strategy=strategies[2],
                max_wait=90,
                wrap_up=5,
                overflow=TerminalTarget(TerminalAction.VOICEMAIL),
            )
        )
    )
    acd(
        ev.AddQueue(
            QueueConfig(
                "q1",
                strategy=strategies[1],
                max_length=4,
                weight=5,
                overflow=QueueTarget("q2"),
                relax_steps=relax,
                ring_all_cap=2,
                announce_every=20,
                leave=LeavePolicy.IF_NO_LOGGED_IN,
            )
        )
    )
    acd(
        ev.AddQueue(
            QueueConfig(
                "q0",
                strategy=strategies[0],
                offer_timeout=10,
                max_wait=60,
                overflow=QueueTarget("q1"),
            )
        )
    )
    for i, name in enumerate(AGENTS):
        skills = {"en": 1 + i % 3} | ({"fr": 2} if i % 2 else {})
        acd(ev.AddAgent(AgentConfig(name, tuple(QUEUES[: 1 + i % 3]), skills, rank=i)))
        acd(ev.AgentLogin(name))  # fmt: skip


Snapshot = dict[str, tuple[CallState, Requirement]]


def _snapshot(acd: Acd) -> Snapshot:
    views = (acd.engine.call(c) for c in acd.engine.call_ids())
    return {v.call_id: (v.state, v.requirement) for v in views if v is not None}


def _check_fifo(acd: Acd, before: Snapshot, out: list[cmd.Command]) -> None:
    """An offer must not pass over an earlier call of the same queue and priority that
    was QUEUED before and after the event and that the agent was eligible for (a call
    ringing someone else when the offer was made may legitimately be passed)."""
    engine = acd.engine
    for offer in (c for c in out if isinstance(c, cmd.OfferCall)):
        call = engine.call(offer.call_id)
        if call is None or offer.agent_id not in call.offered_to:
            continue  # already resolved within the same event
        skills = engine.agent(offer.agent_id).skills
        for other_id in engine.waiting(offer.queue_id):
            if other_id == offer.call_id:
                break
            other = engine.call(other_id)
            assert other is not None
            state_before, req_before = before.get(other_id, (None, ()))
            if (
                other.state is CallState.QUEUED
                and state_before is CallState.QUEUED
                and other.priority == call.priority
            ):
                assert not eligible(skills, req_before), (
                    f"{offer.agent_id} got {offer.call_id} before earlier {other_id}"
                )


def _no_stricter(after: Requirement, before: Requirement) -> bool:
    """Whoever met `before` meets `after`."""
    levels = dict(before)
    return all(name in levels and level <= levels[name] for name, level in after)


def _check_monotonic(acd: Acd, before: Snapshot) -> None:
    for call_id, (_, req_after) in _snapshot(acd).items():
        if call_id in before:
            req_before = before[call_id][1]
            assert _no_stricter(req_after, req_before), (
                f"{call_id}'s requirement tightened: {req_before} -> {req_after}"
            )


def _apply(acd: Acd, step: tuple[Any, ...], n_calls: int) -> None:
    before = _snapshot(acd)
    out = _feed(acd, step, n_calls)
    if step[0] != "wait":  # "wait" checks each timer batch itself
        _check_fifo(acd, before, out)
    _check_monotonic(acd, before)


def _feed(acd: Acd, step: tuple[Any, ...], n_calls: int) -> list[cmd.Command]:
    engine = acd.engine
    kind = step[0]
    if kind == "arrive":
        _, queue, prio, skills = step
        return acd(ev.CallArrived(f"c{n_calls}", queue, prio, skills))
    if kind == "hangup":
        return acd(ev.CallerHungUp(f"c{step[1]}"))
    if kind == "end":
        return acd(ev.ConversationEnded(f"c{step[1]}"))
    if kind in ("answer", "fail"):
        offered = engine.agent(step[1]).offered_call
        if offered is None:
            return []
        event = (
            ev.OfferAnswered(offered, step[1])
            if kind == "answer"
            else ev.OfferFailed(offered, step[1])
        )
        return acd(event)
    if kind == "wait":  # one deadline at a time, so each timer's effects are checked
        target, out = acd.now + step[1], []
        while (deadline := engine.next_deadline()) is not None and deadline <= target:
            before = _snapshot(acd)
            fired = acd.tick(deadline)
            _check_fifo(acd, before, fired)
            _check_monotonic(acd, before)
            out += fired
        return out + acd.tick(target)
    if kind == "update":
        _, agent, queues, skills = step
        return acd(ev.UpdateAgent(AgentConfig(agent, tuple(queues), skills)))
    _, agent, action = step
    state = engine.agent(agent).state
    allowed = {
        "login": state is AgentState.LOGGED_OUT,
        "logout": state is not AgentState.LOGGED_OUT,
        "pause": state is not AgentState.LOGGED_OUT,
        "unpause": state is AgentState.PAUSED or engine.agent(agent).pending is not None,
        "ready": state is AgentState.WRAP_UP,
    }[action]
    pending = engine.agent(agent).pending
    if not allowed or (action == "unpause" and pending and pending.trigger is AgentTrigger.LOGOUT):
        return []
    event = {"login": ev.AgentLogin, "logout": ev.AgentLogout, "pause": ev.AgentPause,
             "unpause": ev.AgentUnpause, "ready": ev.WrapUpDone}[action](agent)  # fmt: skip
    return acd(event)


_LONGEST_IDLE = [Strategy.LONGEST_IDLE] * 3
# Issue 7: c0 overflowed q1 -> q2 and its own "fr", dropped after 30 s in q1, came back
# in q2; a2 (en only) then got the later c6 ("a2 got c6 before earlier c0").
_RELAXATION_LOST_ON_OVERFLOW = (
    [("hangup", 0)] * 5
    + [("arrive", "q1", 2, {"en": 1, "fr": 1})]
    + [("hangup", 1)] * 9
    + [("wait", 1.0), ("wait", 28.0), ("update", "a2", ["q2"], {"en": 1})]
    + [("wait", 1.0), ("wait", 5.0), ("wait", 40.0)]
    + [("arrive", "q0", 0, {})] * 4
    + [("update", "a1", [], {}), ("fail", "a4"), ("arrive", "q0", 0, {})]
    + [("arrive", "q1", 2, {}), ("agent", "a4", "logout")]
)

# a2 moves q1 -> q2 and so empties q1: c0 overflowed into q2 only after a2 took c1.
_UPDATE_EMPTIES_A_QUEUE = [
    ("agent", "a1", "logout"),
    ("agent", "a4", "logout"),
    ("update", "a2", ["q1"], {"en": 1}),
    ("arrive", "q1", 0, {"fr": 1}),
    ("wait", 1.0),
    ("arrive", "q2", 0, {}),
    ("update", "a2", ["q2"], {"en": 1, "fr": 1}),
] + [("hangup", 30)] * 23


@example(_RELAXATION_LOST_ON_OVERFLOW, _LONGEST_IDLE)
@example(_UPDATE_EMPTIES_A_QUEUE, _LONGEST_IDLE)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile
@given(st.lists(op, min_size=30, max_size=100), st.lists(strategy, min_size=3, max_size=3))
def test_random_sequences_keep_the_invariants(
    steps: list[tuple[Any, ...]], strategies: list[Strategy]
) -> None:
    acd = Acd()
    _setup(acd, strategies)
    n_calls = 0
    for step in steps:
        _apply(acd, step, n_calls)  # Acd checks the invariants, _apply FIFO
        n_calls += step[0] == "arrive"
    ends: Counter[str] = Counter()
    connects: Counter[str] = Counter()
    for c in acd.log:
        if isinstance(c, (cmd.Divert, cmd.CallAbandoned)):
            ends[c.call_id] += 1
        elif isinstance(c, cmd.ConnectCall):
            connects[c.call_id] += 1
    alive = set(acd.engine.call_ids())
    for i in range(n_calls):
        call_id = f"c{i}"
        assert connects[call_id] <= 1 and ends[call_id] <= 1
        outcomes = ends[call_id] + connects[call_id]
        assert outcomes == 1 or (outcomes == 0 and call_id in alive), call_id
        if call_id in alive:
            view = acd.engine.call(call_id)
            assert view is not None and (view.state is CallState.CONNECTED) == bool(
                connects[call_id]
            )
