"""What a transfer is: its request, its target and its state (docs/transfer.md).

Pure data and validation; `transfer.py` decides. A request names the flow (blind or
attended) and exactly one target: an agent, a queue or an external number.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from gateway.control.errors import InvalidRequest
from gateway.events import catalogue as ce

NUMBER = re.compile(r"\+?[0-9*#]{2,32}")
MAX_PRIORITY_BUMP = 100


class Flow(enum.StrEnum):
    BLIND = "blind"  # the agent is released at once; the caller hears music meanwhile
    ATTENDED = "attended"  # the agent talks to the target first, then completes


class TargetKind(enum.StrEnum):
    AGENT = "agent"
    QUEUE = "queue"
    NUMBER = "number"


class State(enum.StrEnum):
    RINGING = "ringing"  # the target's leg is being placed on the caller's worker
    CONSULTING = "consulting"  # attended: the agent talks to the target, the caller holds
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    value: str

    @staticmethod
    def parse(kind: str, value: str) -> Target:
        try:
            k = TargetKind(kind)
        except ValueError:
            raise InvalidRequest(f"target: one of agent, queue or number, not {kind!r}") from None
        if not value or len(value) > 64:
            raise InvalidRequest(f"target.{k}: 1 to 64 characters")
        if k is TargetKind.NUMBER and not NUMBER.fullmatch(value):
            raise InvalidRequest(
                f"target.number: digits, '*' or '#' with an optional leading '+', not {value!r}"
            )
        return Target(k, value)


@dataclass(frozen=True, slots=True)
class Request:
    flow: Flow
    target: Target
    priority_bump: int = 0
    origin: ce.TransferOrigin = "api"
    by_agent: str | None = None  # an agent user may transfer its own call only

    def __post_init__(self) -> None:
        if not 0 <= self.priority_bump <= MAX_PRIORITY_BUMP:
            raise InvalidRequest(f"priority_bump: 0 to {MAX_PRIORITY_BUMP}")
        if self.flow is Flow.ATTENDED and self.target.kind is TargetKind.QUEUE:
            raise InvalidRequest(
                "target.queue: a queue cannot be consulted; transfer to a queue with flow blind"
            )


@dataclass(slots=True)
class Transfer:
    id: str
    call_id: str
    flow: Flow
    target: Target
    from_agent: str
    from_leg: str  # the transferring agent's leg
    origin: ce.TransferOrigin
    priority_bump: int
    state: State = State.RINGING
    leg: str | None = None  # the target's leg, once placed
    agent_released: bool = False  # ConversationEnded fed: the agent is in wrap-up
    reason: str | None = None

    @property
    def live(self) -> bool:
        return self.state in (State.RINGING, State.CONSULTING)
