"""Commands returned by the engine, for the gateway to carry out (or just publish).

Actions: `OfferCall`, `CancelOffer`, `ConnectCall`, `Announce`, `Divert`.
Notifications (metrics, API, events bus): `AgentStateChanged`, `CallQueued`,
`Overflowed`, `CallAbandoned`.
"""

from __future__ import annotations

from dataclasses import dataclass

from acd.callback_events import CallbackKept, CallbackRemoved
from acd.model import TerminalAction
from acd.states import AgentState


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Ring `agent_id` for `call_id`. The engine cancels it itself after `timeout` s."""

    call_id: str
    agent_id: str
    queue_id: str
    timeout: float


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing (or hang up an agent leg that answered too late: reason `stale`).
    Reasons: `timeout`, `caller-hung-up`, `answered-elsewhere`, `max-wait`, `stale`,
    `queue-removed`."""

    call_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectCall:
    """The agent answered: bridge the caller and the agent."""

    call_id: str
    agent_id: str
    queue_id: str
    wait_seconds: float  # from the original arrival time


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell a waiting caller its 1-based position and estimated wait (None: unknown)."""

    call_id: str
    queue_id: str
    position: int
    ewt_seconds: float | None


@dataclass(frozen=True, slots=True)
class Divert:
    """The call leaves the ACD: the gateway performs `action` (voicemail, callback offer,
    announcement + hang-up, hang-up). Reasons: `full`, `empty`, `max-wait`,
    `overflow-loop`, `queue-removed`, `unknown-queue`."""

    call_id: str
    queue_id: str
    action: TerminalAction
    argument: str
    reason: str


@dataclass(frozen=True, slots=True)
class Overflowed:
    """Notification: the call moved to another queue (the engine already moved it)."""

    call_id: str
    from_queue: str
    to_queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallQueued:
    """Notification: the call entered `queue_id` at `position`."""

    call_id: str
    queue_id: str
    position: int


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    """Notification: the caller hung up before answer."""

    call_id: str
    queue_id: str
    wait_seconds: float


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """Notification: `reason` is the pause reason, or what caused the change."""

    agent_id: str
    old: AgentState
    new: AgentState
    reason: str = ""


Command = (
    OfferCall
    | CancelOffer
    | ConnectCall
    | Announce
    | Divert
    | Overflowed
    | CallQueued
    | CallAbandoned
    | AgentStateChanged
    | CallbackKept
    | CallbackRemoved
)
