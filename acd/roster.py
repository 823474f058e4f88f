"""The roster: queues, agents, who serves where, and every agent state change.

`Roster.to()` is the only place an agent's state changes: it consults the table in
acd.states, keeps each queue's head counts and idle index in step and emits
`AgentStateChanged`. The roster knows nothing of calls; the matcher and the engine
decide *when* an agent changes state, the roster does the bookkeeping.

An agent may list queues that do not exist yet: `_wanted` remembers them, and the agent
joins a queue when it is added. A member of a queue is counted in its head counts
whatever its state; it is in the queue's idle index only while AVAILABLE (and only if it
could ever serve that queue, see `QueueRt.add_idle`).
"""

from __future__ import annotations

from collections.abc import Iterator

from acd import commands as cmd
from acd.errors import ConfigError, InvalidTransitionError, UnknownEntityError
from acd.kpi import QueueStats
from acd.model import AgentConfig, EngineSettings, LeavePolicy, QueueConfig
from acd.runtime import AgentRt, QueueRt
from acd.states import DEFER, AgentState, AgentTrigger, Pending, agent_next

_AS, _AT = AgentState, AgentTrigger
_LOGOUT = Pending(AgentTrigger.LOGOUT)


class Roster:
    __slots__ = ("_out", "_seq", "_settings", "_wanted", "agents", "queues")

    def __init__(
        self, settings: EngineSettings, out: list[cmd.Command], seq: Iterator[int]
    ) -> None:
        self.queues: dict[str, QueueRt] = {}
        self.agents: dict[str, AgentRt] = {}
        self._wanted: dict[str, dict[str, None]] = {}  # queue_id -> agents listing it
        self._settings = settings
        self._out = out
        self._seq = seq

    def agent(self, agent_id: str) -> AgentRt:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownEntityError(f"unknown agent {agent_id!r}", hint="AddAgent first") from None

    def queue(self, queue_id: str) -> QueueRt:
        try:
            return self.queues[queue_id]
        except KeyError:
            raise UnknownEntityError(f"unknown queue {queue_id!r}", hint="AddQueue first") from None

    # ================================================================ agent states
    def to(self, a: AgentRt, trigger: AgentTrigger, now: float, reason: str = "") -> bool:
        """Apply `trigger`; False when the table defers it (pause/logout while busy)."""
        old = a.state
        new = agent_next(old, trigger)
        if new is DEFER:
            return False
        if old is _AS.AVAILABLE:
            for q in a.queues:
                q.remove_idle(a)
        for q in a.queues:
            q.move(old, new, now)
        a.state = new
        a.state_token += 1
        if new is _AS.PAUSED:
            a.pause_reason = reason
        self._out.append(cmd.AgentStateChanged(a.agent_id, old, new, reason))
        return True

    def idle(self, a: AgentRt) -> None:
        """`a` is AVAILABLE and found no work: enter the idle index of its queues."""
        for q in a.queues:
            q.add_idle(a)

    def restart_idle(self, a: AgentRt, now: float) -> None:
        """`a` starts an idle period now (login, end of a conversation)."""
        a.idle_key = (now, next(self._seq), a.agent_id)

    def emptied(self, queues: list[QueueRt]) -> list[QueueRt]:
        """The queues whose leave policy says their callers must go (leave-when-empty)."""
        out = []
        for q in queues:
            policy = q.config.leave
            if (policy is LeavePolicy.IF_NO_LOGGED_IN and q.n_logged_in == 0) or (
                policy is LeavePolicy.IF_ALL_PAUSED and q.n_staffed == 0
            ):
                out.append(q)
        return out

    # ================================================================ agent actions
    def login(self, a: AgentRt, now: float) -> None:
        self.to(a, _AT.LOGIN, now)
        a.no_answer = 0
        self.restart_idle(a, now)

    def logout(self, a: AgentRt, now: float) -> bool:
        """False when deferred (the agent is busy): it logs out when next AVAILABLE."""
        if not self.to(a, _AT.LOGOUT, now):
            a.pending = _LOGOUT
            return False
        a.pending = None
        return True

    def pause(self, a: AgentRt, reason: str, now: float) -> bool:
        """False when deferred; a deferred logout wins over a later pause."""
        if not self.to(a, _AT.PAUSE, now, reason):
            if a.pending is None or a.pending.trigger is not _AT.LOGOUT:
                a.pending = Pending(_AT.PAUSE, reason)
            return False
        return True

    def unpause(self, a: AgentRt, now: float) -> bool:
        """True when the agent became AVAILABLE (False: it cancelled a deferred pause)."""
        if a.pending is not None and a.pending.trigger is _AT.PAUSE:
            a.pending = None  # never took effect
            return False
        self.to(a, _AT.UNPAUSE, now)
        a.no_answer = 0
        return True

    def auto_pause(self, a: AgentRt, now: float) -> None:
        """Too many failed offers in a row: paused ("no-answer"). A deferred logout
        happens now; a deferred pause is moot."""
        self.to(a, _AT.NO_ANSWER_LIMIT, now, "no-answer")
        if a.pending is not None and a.pending.trigger is _AT.LOGOUT:
            self.to(a, _AT.LOGOUT, now)
        a.pending = None

    def take_pending(self, a: AgentRt) -> Pending | None:
        pending, a.pending = a.pending, None
        return pending

    def connect(self, a: AgentRt, call_id: str, q: QueueRt, now: float) -> None:
        """`a` answered `call_id` of `q`."""
        self.to(a, _AT.ANSWER, now)
        a.call_id = call_id
        a.call_queue = q
        a.answered_at = now

    def hang_up(self, a: AgentRt, now: float) -> float:
        """The conversation ended: the wrap-up to run (0: none, call `finish`)."""
        a.talk_time += now - a.answered_at
        q = a.call_queue
        wrap_up = q.config.wrap_up if q is not None else 0.0
        if wrap_up > 0:
            self.to(a, _AT.HANG_UP, now)
        return wrap_up

    def finish(self, a: AgentRt, trigger: AgentTrigger, now: float) -> None:
        """Done with the call (`HANG_UP_NO_WRAP` or `WRAP_DONE`): its queue records the
        handle time; the agent is AVAILABLE and starts a new idle period."""
        if a.call_queue is not None:
            a.call_queue.handled(now, now - a.answered_at)
        a.call_id = None
        a.call_queue = None
        self.to(a, trigger, now)
        self.restart_idle(a, now)

    # ================================================================ queues
    def add_queue(self, cfg: QueueConfig, now: float) -> QueueRt:
        if cfg.queue_id in self.queues:
            raise ConfigError(f"queue {cfg.queue_id!r} exists", hint="use UpdateQueue")
        retention = self._settings.kpi_retention_seconds
        stats = QueueStats(retention, cfg.service_level_seconds, cfg.short_abandon_seconds)
        q = QueueRt(cfg, stats)
        self.queues[cfg.queue_id] = q
        for agent_id in self._wanted.get(cfg.queue_id, {}):
            self._join(self.agents[agent_id], q, now)
        q.rebuild_rr()
        return q

    def remove_queue(self, q: QueueRt, now: float) -> None:
        """Every member leaves `q` (first, so freed agents look elsewhere), then it goes."""
        for agent in list(q.members.values()):
            self._part(agent, q, now)
        del self.queues[q.queue_id]

    # ================================================================ agents
    def add_agent(self, cfg: AgentConfig, now: float) -> None:
        if cfg.agent_id in self.agents:
            raise ConfigError(f"agent {cfg.agent_id!r} exists", hint="use UpdateAgent")
        a = AgentRt(cfg)
        self.agents[cfg.agent_id] = a
        for queue_id in cfg.queues:
            self._wanted.setdefault(queue_id, {})[a.agent_id] = None
            q = self.queues.get(queue_id)
            if q is not None:
                self._join(a, q, now)
                q.rebuild_rr()

    def update_agent(self, a: AgentRt, cfg: AgentConfig, now: float) -> list[QueueRt]:
        """New queues and skills; returns the queues it left. An AVAILABLE agent leaves
        every idle index: the caller finds it work again (`Matcher.agent_ready`)."""
        if a.state is _AS.AVAILABLE:
            for q in a.queues:
                q.remove_idle(a)
        for queue_id in set(a.config.queues) - set(cfg.queues):
            self._wanted.get(queue_id, {}).pop(a.agent_id, None)
        a.config, a.skills = cfg, dict(cfg.skills)
        left = [q for q in a.queues if q.queue_id not in cfg.queues]
        for q in left:
            self._part(a, q, now, index=False)
        for queue_id in cfg.queues:
            self._wanted.setdefault(queue_id, {})[a.agent_id] = None
            joined = self.queues.get(queue_id)
            if joined is not None and a.agent_id not in joined.members:
                self._join(a, joined, now, index=False)
        for q in a.queues:
            q.rebuild_rr()
        return left

    def remove_agent(self, a: AgentRt, now: float) -> None:
        if a.state is not _AS.LOGGED_OUT:
            raise InvalidTransitionError(
                f"agent {a.agent_id!r} is {a.state.value}", hint="log it out first"
            )
        for q in list(a.queues):
            self._part(a, q, now)
        for queue_id in a.config.queues:
            self._wanted.get(queue_id, {}).pop(a.agent_id, None)
        del self.agents[a.agent_id]

    def _join(self, a: AgentRt, q: QueueRt, now: float, *, index: bool = True) -> None:
        q.members[a.agent_id] = a
        a.queues.append(q)
        q.count(a.state, +1, now)
        if index and a.state is _AS.AVAILABLE:
            q.add_idle(a)

    def _part(self, a: AgentRt, q: QueueRt, now: float, *, index: bool = True) -> None:
        if index and a.state is _AS.AVAILABLE:
            q.remove_idle(a)
        q.count(a.state, -1, now)
        del q.members[a.agent_id]
        a.queues.remove(q)
        q.rebuild_rr()
