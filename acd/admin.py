"""Engine handlers for live configuration and agent actions.

Split from acd.engine for size; these functions are the engine's own methods in all but
name (they take the engine as first argument and touch its private state).

Live changes never drop a call: a queue update keeps waiting calls and their positions
(timers are re-armed from the time each call entered, requirements recomputed, matching
re-run); an agent update never touches a call in progress; removing a queue sends its
waiting calls to its overflow target with reason `queue-removed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd import calls
from acd import events as ev
from acd.errors import ConfigError, InvalidTransitionError
from acd.kpi import QueueStats
from acd.runtime import AgentRt, QueueRt
from acd.skills import requirement
from acd.states import AgentState, AgentTrigger, CallState

if TYPE_CHECKING:
    from acd.engine import Engine

_AS, _AT = AgentState, AgentTrigger


# --- queues ----------------------------------------------------------------------------
def add_queue(eng: Engine, e: ev.AddQueue, now: float) -> None:
    cfg = e.config
    if cfg.queue_id in eng._queues:
        raise ConfigError(f"queue {cfg.queue_id!r} exists", hint="use UpdateQueue")
    stats = QueueStats(
        eng.settings.kpi_retention_seconds, cfg.service_level_seconds, cfg.short_abandon_seconds
    )
    q = QueueRt(cfg, stats)
    eng._queues[cfg.queue_id] = q
    for agent_id in eng._wanted.get(cfg.queue_id, {}):
        _join(eng, eng._agents[agent_id], q, now)
    q.rebuild_rr()


def update_queue(eng: Engine, e: ev.UpdateQueue, now: float) -> None:
    cfg = e.config
    q = eng._queue(cfg.queue_id)
    q.reconfigure(cfg)
    for call in list(q.waiting):
        call.relax_taken = min(call.relax_taken, len(cfg.relax_steps))
        call.req = requirement(
            cfg.required_skills, call.call_skills, cfg.relax_steps, call.relax_taken, call.relaxed
        )
        calls.arm(eng, call, now)  # a shorter max_wait may be due now: handle() fires it
    for call in [c for c in q.waiting if c.state is CallState.QUEUED]:
        if call.state is CallState.QUEUED:  # an earlier match may have taken its agent
            eng._match_call(call, now)
    eng._check_leave([q], now)


def remove_queue(eng: Engine, e: ev.RemoveQueue, now: float) -> None:
    q = eng._queue(e.queue_id)
    for agent in list(q.members.values()):  # first, so freed agents look elsewhere
        _part(eng, agent, q, now)
    del eng._queues[e.queue_id]  # before overflowing: no call can come back into it
    freed = []
    for call in list(q.waiting):
        freed += eng._cancel_offers(call, now, "queue-removed")
        calls.overflow(eng, call, "queue-removed", now)
    eng._ready_all(freed, now)


# --- agents ----------------------------------------------------------------------------
def _join(eng: Engine, a: AgentRt, q: QueueRt, now: float, *, index: bool = True) -> None:
    q.members[a.agent_id] = a
    a.queues.append(q)
    q.count(a.state, +1, now)
    if index and a.state is _AS.AVAILABLE:
        q.add_idle(a)


def _part(eng: Engine, a: AgentRt, q: QueueRt, now: float, *, index: bool = True) -> None:
    if index and a.state is _AS.AVAILABLE:
        q.remove_idle(a)
    q.count(a.state, -1, now)
    del q.members[a.agent_id]
    a.queues.remove(q)
    q.rebuild_rr()


def add_agent(eng: Engine, e: ev.AddAgent, now: float) -> None:
    cfg = e.config
    if cfg.agent_id in eng._agents:
        raise ConfigError(f"agent {cfg.agent_id!r} exists", hint="use UpdateAgent")
    a = AgentRt(cfg)
    eng._agents[cfg.agent_id] = a
    for queue_id in cfg.queues:
        eng._wanted.setdefault(queue_id, {})[a.agent_id] = None
        q = eng._queues.get(queue_id)
        if q is not None:
            _join(eng, a, q, now)
            q.rebuild_rr()


def update_agent(eng: Engine, e: ev.UpdateAgent, now: float) -> None:
    cfg = e.config
    a = eng._agent(cfg.agent_id)
    available = a.state is _AS.AVAILABLE
    if available:  # leave every idle index; re-matched below with new skills and queues
        for q in a.queues:
            q.remove_idle(a)
    for queue_id in set(a.config.queues) - set(cfg.queues):
        eng._wanted.get(queue_id, {}).pop(a.agent_id, None)
    a.config, a.skills = cfg, dict(cfg.skills)
    left = [q for q in a.queues if q.queue_id not in cfg.queues]
    for q in left:
        _part(eng, a, q, now, index=False)
    for queue_id in cfg.queues:
        eng._wanted.setdefault(queue_id, {})[a.agent_id] = None
        joined = eng._queues.get(queue_id)
        if joined is not None and a.agent_id not in joined.members:
            _join(eng, a, joined, now, index=False)
    for q in a.queues:
        q.rebuild_rr()
    if available:
        eng._agent_ready(a, now)
    eng._check_leave(left, now)


def remove_agent(eng: Engine, e: ev.RemoveAgent, now: float) -> None:
    a = eng._agent(e.agent_id)
    if a.state is not _AS.LOGGED_OUT:
        raise InvalidTransitionError(
            f"agent {a.agent_id!r} is {a.state.value}", hint="log it out first"
        )
    for q in list(a.queues):
        _part(eng, a, q, now)
    for queue_id in a.config.queues:
        eng._wanted.get(queue_id, {}).pop(a.agent_id, None)
    del eng._agents[a.agent_id]


# --- agent actions -----------------------------------------------------------------------
def login(eng: Engine, e: ev.AgentLogin, now: float) -> None:
    a = eng._agent(e.agent_id)
    eng._agent_to(a, _AT.LOGIN, now)
    a.no_answer = 0
    a.idle_key = (now, eng._next_seq(), a.agent_id)
    eng._agent_ready(a, now)


def logout(eng: Engine, e: ev.AgentLogout, now: float) -> None:
    a = eng._agent(e.agent_id)
    if not eng._agent_to(a, _AT.LOGOUT, now):
        a.pending = ("logout", "")
        return
    a.pending = None
    eng._check_leave(a.queues, now)


def pause(eng: Engine, e: ev.AgentPause, now: float) -> None:
    a = eng._agent(e.agent_id)
    if not eng._agent_to(a, _AT.PAUSE, now, e.reason):
        if a.pending is None or a.pending[0] != "logout":  # logout wins over pause
            a.pending = ("pause", e.reason)
        return
    eng._check_leave(a.queues, now)


def unpause(eng: Engine, e: ev.AgentUnpause, now: float) -> None:
    a = eng._agent(e.agent_id)
    if a.pending is not None and a.pending[0] == "pause":
        a.pending = None  # never took effect
        return
    eng._agent_to(a, _AT.UNPAUSE, now)
    a.no_answer = 0
    eng._agent_ready(a, now)
