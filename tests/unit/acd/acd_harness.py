"""A stepped-clock harness around the ACD engine, and the engine invariants.

(A uniquely named module rather than conftest: this folder is not a package, so
its test modules import it by name.)"""

from __future__ import annotations

from typing import Any

from acd import commands as cmd
from acd import events as ev
from acd.engine import Engine
from acd.model import AgentConfig, EngineSettings, QueueConfig
from acd.skills import eligible
from acd.states import AgentState, CallState


class Acd:
    """Drives one engine; `now` only moves when a test says so."""

    def __init__(self, **settings: Any) -> None:
        self.engine = Engine(EngineSettings(**settings))
        self.now = 0.0
        self.log: list[cmd.Command] = []

    def __call__(self, event: ev.Event, at: float | None = None) -> list[cmd.Command]:
        if at is not None:
            self.now = at
        out = self.engine.handle(event, self.now)
        self.log.extend(out)
        check_invariants(self.engine, self.now)
        return out

    def tick(self, at: float) -> list[cmd.Command]:
        return self(ev.Tick(), at)

    def queue(self, queue_id: str = "q", **kw: Any) -> None:
        self(ev.AddQueue(QueueConfig(queue_id, **kw)))

    def agent(
        self, agent_id: str, queues: tuple[str, ...] = ("q",), login: bool = True, **kw: Any
    ) -> None:
        self(ev.AddAgent(AgentConfig(agent_id, queues, **kw)))
        if login:
            self(ev.AgentLogin(agent_id))

    def state(self, agent_id: str) -> AgentState:
        return self.engine.agent(agent_id).state

    def call_state(self, call_id: str) -> CallState | None:
        view = self.engine.call(call_id)
        return None if view is None else view.state


def offers(out: list[cmd.Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in out if isinstance(c, cmd.OfferCall)]


def of_type(out: list[cmd.Command], kind: type) -> list[Any]:
    return [c for c in out if isinstance(c, kind)]


def check_invariants(engine: Engine, now: float = float("inf")) -> None:
    """Ownership and work conservation (see acd.engine's docstring)."""
    holders: dict[str, str] = {}
    for call_id in engine.call_ids():
        call = engine.call(call_id)
        assert call is not None
        owners = list(call.offered_to) + ([call.agent_id] if call.agent_id else [])
        for agent_id in owners:
            assert agent_id not in holders, (
                f"{agent_id} holds {holders.get(agent_id)} and {call_id}"
            )
            holders[agent_id] = call_id
        if call.state in (CallState.QUEUED, CallState.OFFERING):
            assert engine.waiting(call.queue_id).count(call_id) == 1
        assert (call.state is CallState.OFFERING) == bool(call.offered_to)
    for agent_id in engine.agent_ids():
        agent = engine.agent(agent_id)
        if agent.state is AgentState.OFFERED:
            assert agent.offered_call and holders.get(agent_id) == agent.offered_call
        elif agent.state is AgentState.ON_CALL:
            assert agent.call_id is not None
        else:
            assert agent.offered_call is None
    # work conservation
    skills = {a: engine.agent(a).skills for a in engine.agent_ids()}
    for queue_id in engine.queue_ids():
        idle = [
            a
            for a in engine.agent_ids()
            if engine.agent(a).state is AgentState.AVAILABLE and queue_id in engine.agent(a).queues
        ]
        for call_id in engine.waiting(queue_id):
            call = engine.call(call_id)
            assert call is not None
            held = call.callback and now < call.not_before  # keeps its place, not offered
            if call.state is CallState.QUEUED and not held:
                for a in idle:
                    assert not eligible(skills[a], call.requirement), (
                        f"{a} idle while eligible {call_id} waits in {queue_id}"
                    )
