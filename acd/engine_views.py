"""Read-only snapshots the engine returns to the gateway (API, wallboard, tests)."""

from __future__ import annotations

from dataclasses import dataclass

from acd.skills import Requirement
from acd.states import AgentState, CallState


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    state: AgentState
    pause_reason: str  # "" unless PAUSED
    offered_call: str | None  # call ringing this agent
    call_id: str | None  # call in conversation or wrap-up
    queues: tuple[str, ...]  # queues it serves that exist
    pending: tuple[str, str] | None  # deferred ("pause", reason) or ("logout", "")


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
