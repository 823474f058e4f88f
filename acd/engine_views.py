"""Read-only snapshots the engine returns to the gateway (API, wallboard, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from acd.runtime import AgentRt, CallRt
from acd.skills import Requirement
from acd.states import AgentState, CallState, Pending


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    state: AgentState
    pause_reason: str  # "" unless PAUSED
    offered_call: str | None  # call ringing this agent
    call_id: str | None  # call in conversation or wrap-up
    queues: tuple[str, ...]  # queues it serves that exist
    pending: Pending | None  # a deferred pause (with its reason) or logout
    skills: Mapping[str, int] = field(default_factory=dict)  # name -> level


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: str
    state: CallState
    queue_id: str
    priority: int
    arrival_time: float
    requirement: Requirement  # current, after relaxation
    offered_to: tuple[str, ...]
    agent_id: str | None  # once connected
    callback: bool = False  # a queued callback entry (acd.callback)
    not_before: float = 0.0  # a callback entry is not offered before this time


def agent_view(a: AgentRt) -> AgentView:
    return AgentView(
        a.agent_id, a.state, a.pause_reason if a.state is AgentState.PAUSED else "",
        a.offers, a.call_id, tuple(q.queue_id for q in a.queues), a.pending,
        MappingProxyType(a.skills),
    )  # fmt: skip


def call_view(c: CallRt) -> CallView:
    q = c.queue
    return CallView(
        c.call_id, c.state, q.queue_id if q else "", c.priority, c.arrival, c.req,
        tuple(c.offers), c.agent_id, c.callback, c.not_before,
    )  # fmt: skip
