"""Every agent and call state transition, in one table each (h11's "Rule 1").

The engine never assigns a state directly: it calls `agent_next()` / `call_next()`
with a trigger, and an illegal pair raises `InvalidTransitionError`. docs/acd.md's state
diagrams are generated from these tables by `mermaid_agent_diagram()`.

Deferred pause/logout: pausing or logging out an agent who is offered, talking or in
wrap-up does not interrupt the call; the table maps those pairs to `DEFER`, the engine
remembers the request as a `Pending` and replays it when the agent next becomes
AVAILABLE. Every row of both tables is reachable (tests/unit/acd/test_acd_states_kpi.py
drives each one).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from acd.errors import InvalidTransitionError


class AgentState(enum.Enum):
    __hash__ = object.__hash__  # identity hash in C: members are singletons (hot path)

    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    OFFERED = "offered"  # a call is ringing the agent
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"


class AgentTrigger(enum.Enum):
    __hash__ = object.__hash__  # identity hash in C: members are singletons (hot path)

    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    OFFER = "offer"
    OFFER_ENDED = "offer-ended"  # no answer / busy / rejected / cancelled, under the limit
    NO_ANSWER_LIMIT = "no-answer-limit"  # N consecutive failed offers
    ANSWER = "answer"
    HANG_UP = "hang-up"  # conversation over, the queue has wrap-up
    HANG_UP_NO_WRAP = "hang-up-no-wrap"  # conversation over, no wrap-up
    WRAP_DONE = "wrap-done"


class _Defer(enum.Enum):
    DEFER = "defer"


DEFER: Final = _Defer.DEFER


@dataclass(frozen=True, slots=True)
class Pending:
    """A deferred request of a busy agent: `trigger` is PAUSE (with its `reason`) or
    LOGOUT; a logout replaces a pending pause, never the other way round."""

    trigger: AgentTrigger
    reason: str = ""

    def __post_init__(self) -> None:
        if self.trigger not in (AgentTrigger.PAUSE, AgentTrigger.LOGOUT):
            raise InvalidTransitionError(f"{self.trigger.value} cannot be deferred")


_A, _T = AgentState, AgentTrigger

AGENT_TRANSITIONS: Final[dict[tuple[AgentState, AgentTrigger], AgentState | _Defer]] = {
    (_A.LOGGED_OUT, _T.LOGIN): _A.AVAILABLE,
    (_A.AVAILABLE, _T.LOGOUT): _A.LOGGED_OUT,
    (_A.AVAILABLE, _T.PAUSE): _A.PAUSED,
    (_A.AVAILABLE, _T.OFFER): _A.OFFERED,
    (_A.PAUSED, _T.PAUSE): _A.PAUSED,  # new reason
    (_A.PAUSED, _T.UNPAUSE): _A.AVAILABLE,
    (_A.PAUSED, _T.LOGOUT): _A.LOGGED_OUT,
    (_A.OFFERED, _T.ANSWER): _A.ON_CALL,
    (_A.OFFERED, _T.OFFER_ENDED): _A.AVAILABLE,
    (_A.OFFERED, _T.NO_ANSWER_LIMIT): _A.PAUSED,
    (_A.OFFERED, _T.PAUSE): DEFER,
    (_A.OFFERED, _T.LOGOUT): DEFER,
    (_A.ON_CALL, _T.HANG_UP): _A.WRAP_UP,
    (_A.ON_CALL, _T.HANG_UP_NO_WRAP): _A.AVAILABLE,
    (_A.ON_CALL, _T.PAUSE): DEFER,
    (_A.ON_CALL, _T.LOGOUT): DEFER,
    (_A.WRAP_UP, _T.WRAP_DONE): _A.AVAILABLE,
    (_A.WRAP_UP, _T.PAUSE): DEFER,
    (_A.WRAP_UP, _T.LOGOUT): DEFER,
}


class CallState(enum.Enum):
    __hash__ = object.__hash__  # identity hash in C: members are singletons (hot path)

    NEW = "new"
    QUEUED = "queued"  # waiting, no offer outstanding
    OFFERING = "offering"  # one (or, ring-all, several) agents ringing
    CONNECTED = "connected"
    DONE = "done"  # answered and finished
    ABANDONED = "abandoned"
    DIVERTED = "diverted"  # left the ACD through a terminal target


class CallTrigger(enum.Enum):
    __hash__ = object.__hash__  # identity hash in C: members are singletons (hot path)

    ENQUEUE = "enqueue"  # arrival or overflow into a queue
    OFFER = "offer"
    OFFERS_FAILED = "offers-failed"  # last outstanding offer failed: back in line
    ANSWER = "answer"
    END = "end"
    CALLER_HANG_UP = "caller-hang-up"
    DIVERT = "divert"


_C, _K = CallState, CallTrigger

CALL_TRANSITIONS: Final[dict[tuple[CallState, CallTrigger], CallState]] = {
    (_C.NEW, _K.ENQUEUE): _C.QUEUED,
    (_C.NEW, _K.DIVERT): _C.DIVERTED,  # refused on arrival (full, empty)
    (_C.QUEUED, _K.ENQUEUE): _C.QUEUED,  # overflow to another queue
    (_C.QUEUED, _K.OFFER): _C.OFFERING,
    (_C.QUEUED, _K.CALLER_HANG_UP): _C.ABANDONED,
    (_C.QUEUED, _K.DIVERT): _C.DIVERTED,
    (_C.OFFERING, _K.OFFER): _C.OFFERING,  # another parallel offer
    (_C.OFFERING, _K.OFFERS_FAILED): _C.QUEUED,
    (_C.OFFERING, _K.ANSWER): _C.CONNECTED,
    (_C.OFFERING, _K.CALLER_HANG_UP): _C.ABANDONED,  # its offers are cancelled after
    (_C.CONNECTED, _K.END): _C.DONE,  # CallerHungUp after answer is a ConversationEnded
}


def agent_next(state: AgentState, trigger: AgentTrigger) -> AgentState | _Defer:
    try:
        return AGENT_TRANSITIONS[state, trigger]
    except KeyError:
        raise InvalidTransitionError(
            f"agent cannot {trigger.value} while {state.value}",
            hint="see AGENT_TRANSITIONS in acd/states.py",
        ) from None


def call_next(state: CallState, trigger: CallTrigger) -> CallState:
    try:
        return CALL_TRANSITIONS[state, trigger]
    except KeyError:
        raise InvalidTransitionError(
            f"call cannot {trigger.value} while {state.value}",
            hint="see CALL_TRANSITIONS in acd/states.py",
        ) from None


def _mermaid(table: dict[tuple[enum.Enum, enum.Enum], enum.Enum]) -> str:
    lines = ["stateDiagram-v2"]
    for (src, trig), dst in table.items():
        target = src if dst is DEFER else dst
        note = " (deferred)" if dst is DEFER else ""
        lines.append(f"    {src.name} --> {target.name}: {trig.value}{note}")
    return "\n".join(lines)


def mermaid_agent_diagram() -> str:
    """The agent state diagram, generated from AGENT_TRANSITIONS."""
    return _mermaid(AGENT_TRANSITIONS)  # type: ignore[arg-type]


def mermaid_call_diagram() -> str:
    """The call state diagram, generated from CALL_TRANSITIONS."""
    return _mermaid(CALL_TRANSITIONS)  # type: ignore[arg-type]
