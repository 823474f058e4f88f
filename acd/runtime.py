"""Mutable runtime records the engine keeps next to the immutable configs, and the
per-queue indexes that keep each event's work proportional to one queue's members
rather than to all agents:

- `QueueRt.idle`: idle members sorted by `(idle_since, seq, agent_id)`, so the head is
  the longest-idle agent; insertion/removal are a bisect plus a C-level memmove.
- `QueueRt.waiting`: unanswered calls sorted by `(-priority, arrival_time, seq)`, so
  the head is the next caller and `position` is a bisect.

An agent who serves k queues sits in k idle lists with the same key.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping

from acd.kpi import QueueStats
from acd.model import AgentConfig, QueueConfig
from acd.skills import NO_RELAXATION, Requirement, eligible, requirement
from acd.states import AgentState, CallState, Pending

STAFFED = frozenset(
    {AgentState.AVAILABLE, AgentState.OFFERED, AgentState.ON_CALL, AgentState.WRAP_UP}
)
BUSY = frozenset({AgentState.OFFERED, AgentState.ON_CALL, AgentState.WRAP_UP})

_LOGGED = {s: int(s is not AgentState.LOGGED_OUT) for s in AgentState}
_STAFFED = {s: int(s in STAFFED) for s in AgentState}
_BUSY = {s: int(s in BUSY) for s in AgentState}

IdleKey = tuple[float, int, str]
EWT_ALPHA = 0.25  # weight of the newest handle time in the EWT average (Asterisk: 1/4)


class AgentRt:
    __slots__ = (
        "agent_id",
        "answered_at",
        "call_id",
        "call_queue",
        "config",
        "idle_key",
        "no_answer",
        "offers",
        "pause_reason",
        "pending",
        "queues",
        "skills",
        "state",
        "state_token",
        "talk_time",
    )  # fmt: skip

    def __init__(self, config: AgentConfig) -> None:
        self.agent_id = config.agent_id
        self.config = config
        self.skills: Mapping[str, int] = dict(config.skills)  # a dict: faster .get
        self.queues: list[QueueRt] = []
        self.state = AgentState.LOGGED_OUT
        self.pause_reason = ""
        self.pending: Pending | None = None  # a deferred pause or logout
        self.idle_key: IdleKey = (0.0, 0, self.agent_id)
        self.offers: str | None = None  # call being offered to this agent
        self.call_id: str | None = None  # call in conversation / wrap-up
        self.no_answer = 0  # consecutive failed offers
        self.talk_time = 0.0
        self.state_token = 0  # invalidates wrap-up timers
        self.answered_at = 0.0
        self.call_queue: QueueRt | None = None  # queue of the call in conversation/wrap-up


class CallRt:
    __slots__ = (
        "agent_id",
        "answered_at",
        "arrival",
        "call_id",
        "call_skills",
        "callback",
        "entered",
        "entry",
        "hops",
        "key",
        "not_before",
        "offers",
        "priority",
        "queue",
        "relax_taken",
        "relaxed",
        "req",
        "state",
    )  # fmt: skip

    def __init__(
        self, call_id: str, priority: int, skills: Mapping[str, int], arrival: float
    ) -> None:
        self.call_id = call_id
        self.queue: QueueRt | None = None
        self.priority = priority
        self.call_skills = skills
        self.arrival = arrival
        self.entered = arrival  # when it entered its current queue
        self.state = CallState.NEW
        self.key: tuple[int, float, int] = (-priority, arrival, 0)
        self.req: Requirement = ()
        self.relax_taken = 0  # steps taken in the current queue
        self.relaxed = NO_RELAXATION  # what its own skills earned in earlier queues
        self.offers: dict[str, int] = {}  # agent_id -> offer token
        self.entry = 0  # bumped on every queue entry/exit: invalidates its timers
        self.agent_id: str | None = None
        self.answered_at = 0.0
        self.hops = 0
        self.callback = False  # a queued callback: nobody on the line (acd.callback)
        self.not_before = 0.0  # a callback is not offered before this time


def _call_key(call: CallRt) -> tuple[int, float, int]:
    return call.key


def floor_requirement(config: QueueConfig) -> Requirement:
    return requirement(config.required_skills, {}, config.relax_steps, len(config.relax_steps))


class QueueRt:
    __slots__ = (
        "aht_ewma",
        "calls_by_agent",
        "config",
        "floor_req",
        "idle",
        "members",
        "n_busy",
        "n_logged_in",
        "n_staffed",
        "queue_id",
        "rr_dirty",
        "rr_last",
        "rr_position",
        "stats",
        "waiting",
    )  # fmt: skip

    def __init__(self, config: QueueConfig, stats: QueueStats) -> None:
        self.queue_id = config.queue_id
        self.config = config
        self.floor_req = floor_requirement(config)
        self.members: dict[str, AgentRt] = {}
        self.idle: list[IdleKey] = []
        self.waiting: list[CallRt] = []
        self.rr_position: dict[str, int] = {}
        self.rr_last = -1
        self.rr_dirty = True
        self.calls_by_agent: dict[str, int] = {}
        self.stats = stats
        self.n_logged_in = 0
        self.n_staffed = 0
        self.n_busy = 0
        self.aht_ewma: float | None = None  # handle time (talk + wrap), for EWT

    def estimated_wait(self, position: int) -> float | None:
        """EWT = position x average handle time / max(1, staffed members); None until a
        call has been handled."""
        if self.aht_ewma is None:
            return None
        return position * self.aht_ewma / max(1, self.n_staffed)

    def handled(self, now: float, handle: float) -> None:
        """A call of this queue was finished (talk + wrap-up took `handle` seconds)."""
        self.stats.handled(now, handle)
        aht = self.aht_ewma
        self.aht_ewma = handle if aht is None else aht + EWT_ALPHA * (handle - aht)

    # --- membership ---
    def reconfigure(self, config: QueueConfig) -> None:
        """New config: recompute the floor requirement and rebuild the idle index."""
        self.config = config
        self.floor_req = floor_requirement(config)
        self.stats.sl_seconds = config.service_level_seconds
        self.stats.short_abandon = config.short_abandon_seconds
        self.idle = []
        for agent in self.members.values():
            if agent.state is AgentState.AVAILABLE:
                self.add_idle(agent)
        self.rebuild_rr()

    def rebuild_rr(self) -> None:
        """Membership changed: the round-robin order is rebuilt on next use."""
        self.rr_dirty = True

    def rr_order(self) -> dict[str, int]:
        """Member -> position in (rank, agent_id) order, for ROUND_ROBIN."""
        if self.rr_dirty:
            ordered = sorted(self.members.values(), key=lambda a: (a.config.rank, a.agent_id))
            self.rr_position = {a.agent_id: i for i, a in enumerate(ordered)}
            self.rr_last = min(self.rr_last, len(ordered) - 1)
            self.rr_dirty = False
        return self.rr_position

    def count(self, state: AgentState, sign: int, now: float) -> None:
        """Add (+1) or remove (-1) one member in `state` from the head counts."""
        self.stats.integrate(now, self.n_staffed, self.n_busy)
        if state is not AgentState.LOGGED_OUT:
            self.n_logged_in += sign
        if state in STAFFED:
            self.n_staffed += sign
        if state in BUSY:
            self.n_busy += sign

    def move(self, old: AgentState, new: AgentState, now: float) -> None:
        """One member went from `old` to `new`."""
        d_staffed = _STAFFED[new] - _STAFFED[old]
        d_busy = _BUSY[new] - _BUSY[old]
        if d_staffed or d_busy:  # integrate only when a count changes (hot path)
            self.stats.integrate(now, self.n_staffed, self.n_busy)
            self.n_staffed += d_staffed
            self.n_busy += d_busy
        self.n_logged_in += _LOGGED[new] - _LOGGED[old]

    # --- idle index ---
    def capable(self, agent: AgentRt) -> bool:
        """Whether `agent` could ever serve a call here: it meets the queue's own
        requirement fully relaxed (a call's skills only add to it)."""
        return eligible(agent.skills, self.floor_req)

    def add_idle(self, agent: AgentRt) -> None:
        if eligible(agent.skills, self.floor_req):  # the others would only be scanned
            insort(self.idle, agent.idle_key)

    def remove_idle(self, agent: AgentRt) -> None:
        i = bisect_left(self.idle, agent.idle_key)
        if i < len(self.idle) and self.idle[i] == agent.idle_key:
            del self.idle[i]

    # --- waiting line ---
    def enqueue(self, call: CallRt) -> int:
        insort(self.waiting, call, key=_call_key)
        return self.position(call)

    def position(self, call: CallRt) -> int:
        return bisect_left(self.waiting, call.key, key=_call_key) + 1

    def dequeue(self, call: CallRt) -> None:
        i = bisect_left(self.waiting, call.key, key=_call_key)
        if i < len(self.waiting) and self.waiting[i] is call:
            del self.waiting[i]
