"""Events fed to `Engine.handle(event, now)`.

Small frozen dataclasses that validate themselves. Three families:
configuration (queues and agents, live), agent actions, and call progress as reported
by the gateway. Timer expiry is not an event: call `Engine.handle_timer(now)` (or feed
`Tick()`), and every `handle` first fires the timers that are due.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from acd.callback_events import (
    CallbackCancelled,
    CallbackQueued,
    CallbackRequested,
    CallbackRescheduled,
)
from acd.errors import ConfigError
from acd.model import AgentConfig, QueueConfig


def _need(value: str, what: str) -> None:
    if not value:
        raise ConfigError(f"{what} must be a non-empty string")


# --- configuration -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddQueue:
    config: QueueConfig


@dataclass(frozen=True, slots=True)
class UpdateQueue:
    """Replace a queue's config; waiting calls stay, with their positions."""

    config: QueueConfig


@dataclass(frozen=True, slots=True)
class RemoveQueue:
    """Remove a queue; its waiting calls go to its overflow target (reason `removed`)."""

    queue_id: str


@dataclass(frozen=True, slots=True)
class AddAgent:
    """Add an agent (logged out)."""

    config: AgentConfig


@dataclass(frozen=True, slots=True)
class UpdateAgent:
    """Change queues/skills/rank; a call in progress is not touched."""

    config: AgentConfig


@dataclass(frozen=True, slots=True)
class RemoveAgent:
    """Forget an agent. Only when logged out (log it out first; that may be deferred)."""

    agent_id: str


# --- agent actions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentLogin:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentLogout:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentPause:
    agent_id: str
    reason: str = "break"

    def __post_init__(self) -> None:
        _need(self.reason, "pause reason")


@dataclass(frozen=True, slots=True)
class AgentUnpause:
    agent_id: str


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    """The agent ends wrap-up early ("ready")."""

    agent_id: str


# --- calls ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A caller enters `queue_id`. Higher `priority` is served first within a queue.
    `skills` adds to the queue's required skills (name -> minimum level).
    `arrival_time` defaults to `now`; pass the original time when re-queueing."""

    call_id: str
    queue_id: str
    priority: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)
    arrival_time: float | None = None

    def __post_init__(self) -> None:
        _need(self.call_id, "call_id")
        _need(self.queue_id, "queue_id")
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller left (while queued, ringing an agent, or talking)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    call_id: str
    agent_id: str


class OfferFailure(enum.Enum):
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """The agent leg failed before answer. (Ring timeouts are the engine's own timers.)"""

    call_id: str
    agent_id: str
    reason: OfferFailure = OfferFailure.NO_ANSWER


@dataclass(frozen=True, slots=True)
class ConversationEnded:
    """Either side hung up after answer; the agent enters wrap-up."""

    call_id: str


@dataclass(frozen=True, slots=True)
class ConversationAdopted:
    """A conversation that was already going on when the gateway (re)started: `agent_id`
    talks with the caller of `call_id` in `queue_id`. The agent is on call from now (logged
    in first if needed); the call never waits in the line (gateway/control/adoption.py)."""

    call_id: str
    queue_id: str
    agent_id: str
    priority: int = 0
    arrival_time: float | None = None

    def __post_init__(self) -> None:
        _need(self.call_id, "call_id")
        _need(self.queue_id, "queue_id")
        _need(self.agent_id, "agent_id")


@dataclass(frozen=True, slots=True)
class DirectCallAnswered:
    """`agent_id` answered `call_id` outside the line (a transfer's target): it is on
    call from now, and `ConversationEnded(call_id)` ends it into `queue_id`'s wrap-up
    like any call (asterisk issue 607). Applies to an available or paused agent (any
    other is busy with a call of its own: ignored); `resume_pause`: the reason it was
    paused with before, to return to once its wrap-up is over."""

    call_id: str
    queue_id: str
    agent_id: str
    resume_pause: str = ""

    def __post_init__(self) -> None:
        _need(self.call_id, "call_id")
        _need(self.agent_id, "agent_id")


@dataclass(frozen=True, slots=True)
class Tick:
    """No-op event: only fires due timers (same as `Engine.handle_timer`)."""


Event = (
    AddQueue
    | UpdateQueue
    | RemoveQueue
    | AddAgent
    | UpdateAgent
    | RemoveAgent
    | AgentLogin
    | AgentLogout
    | AgentPause
    | AgentUnpause
    | WrapUpDone
    | CallArrived
    | CallerHungUp
    | OfferAnswered
    | OfferFailed
    | ConversationEnded
    | DirectCallAnswered
    | ConversationAdopted
    | Tick
    | CallbackRequested
    | CallbackQueued
    | CallbackCancelled
    | CallbackRescheduled
)
