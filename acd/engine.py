"""The ACD engine: a deterministic, sans-IO state machine.

    engine = Engine(EngineSettings())
    commands = engine.handle(event, now)     # any acd.events event
    commands = engine.handle_timer(now)      # when now >= engine.next_deadline()

Theory of operation. Every `handle` first fires the timers that are due, then applies
the event (and fires timers again after a config change, which can make one due at
once). The engine keeps two invariants after every call:

1. *Work conservation*: no QUEUED call has an AVAILABLE agent that is eligible for it
   (a member of the call's queue with the skills of the call's current requirement).
   Matching therefore runs from both sides: call-side when a call enters a queue, its
   offer fails or its requirement relaxes (pick among the queue's idle eligible agents by
   the queue's strategy); agent-side when an agent becomes available (take the best
   eligible QUEUED call over its queues: heavier queue weight, then higher priority, then
   earlier original arrival).
2. *Ownership*: an agent is offered or holds at most one call; a call is in at most one
   queue; every call ends exactly once (connected-and-ended, abandoned, or diverted).

States move only through acd.states tables. A failed offer first re-matches the call
(without the agent who failed, which is not yet back in the idle index) and then offers
the agent work, so a ringing round moves on to other agents before coming back.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial
from typing import Any

from acd import admin, calls
from acd import commands as cmd
from acd import events as ev
from acd.engine_views import AgentView, CallView
from acd.errors import ClockError, UnknownEntityError
from acd.kpi import QueueKpis
from acd.model import (
    EngineSettings,
    LeavePolicy,
    Strategy,
)
from acd.runtime import AgentRt, CallRt, QueueRt
from acd.skills import eligible
from acd.states import (
    DEFER,
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    agent_next,
    call_next,
)
from acd.strategies import pick
from acd.timers import Timer, TimerHeap, TimerKind

_AS, _AT, _CS, _CT = AgentState, AgentTrigger, CallState, CallTrigger
_CONFIG_EVENTS = frozenset({ev.UpdateQueue, ev.RemoveQueue, ev.UpdateAgent})


class Engine:
    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._queues: dict[str, QueueRt] = {}
        self._agents: dict[str, AgentRt] = {}
        self._calls: dict[str, CallRt] = {}
        self._wanted: dict[str, dict[str, None]] = {}  # queue_id -> agents listing it
        self._timers = TimerHeap()
        self._rng = random.Random(self.settings.seed)
        self._now = -math.inf
        self._seq = 0
        self._out: list[cmd.Command] = []
        handlers: dict[type, Callable[[Engine, Any, float], None]] = {
            ev.AddQueue: admin.add_queue,
            ev.UpdateQueue: admin.update_queue,
            ev.RemoveQueue: admin.remove_queue,
            ev.AddAgent: admin.add_agent,
            ev.UpdateAgent: admin.update_agent,
            ev.RemoveAgent: admin.remove_agent,
            ev.AgentLogin: admin.login,
            ev.AgentLogout: admin.logout,
            ev.AgentPause: admin.pause,
            ev.AgentUnpause: admin.unpause,
            ev.WrapUpDone: calls.wrap_done_event,
            ev.CallArrived: calls.call_arrived,
            ev.CallerHungUp: calls.caller_hung_up,
            ev.OfferAnswered: calls.offer_answered,
            ev.OfferFailed: calls.offer_failed_event,
            ev.ConversationEnded: calls.conversation_ended,
            ev.Tick: lambda engine, e, now: None,
        }
        self._handlers: dict[type, Callable[[Any, float], None]] = {
            kind: partial(fn, self) for kind, fn in handlers.items()
        }

    # ================================================================ public API
    def handle(self, event: ev.Event, now: float) -> list[cmd.Command]:
        """Apply one event at time `now` (seconds, monotonic); return the commands."""
        self._clock(now)
        out = self._out = []
        self._fire_due(now)
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"not an ACD event: {event!r}")
        handler(event, now)
        if type(event) in _CONFIG_EVENTS:  # e.g. a shorter max_wait may be due at once
            self._fire_due(now)
        return out

    def handle_timer(self, now: float) -> list[cmd.Command]:
        """Fire every timer due at `now`."""
        return self.handle(ev.Tick(), now)

    def next_deadline(self) -> float | None:
        """When the engine next needs `handle_timer` (None: no timer pending)."""
        return self._timers.next_deadline(self._timer_live)

    def agent(self, agent_id: str) -> AgentView:
        a = self._agent(agent_id)
        return AgentView(
            a.agent_id, a.state, a.pause_reason if a.state is _AS.PAUSED else "",
            a.offers, a.call_id, tuple(q.queue_id for q in a.queues), a.pending,
        )  # fmt: skip

    def call(self, call_id: str) -> CallView | None:
        """The call, or None once it left the engine."""
        c = self._calls.get(call_id)
        if c is None:
            return None
        q = c.queue
        return CallView(
            c.call_id, c.state, q.queue_id if q else "", c.priority, c.arrival, c.req,
            tuple(c.offers), c.agent_id,
        )  # fmt: skip

    def waiting(self, queue_id: str) -> list[str]:
        """Unanswered calls of a queue, in service order (ringing ones included)."""
        return [c.call_id for c in self._queue(queue_id).waiting]

    def agent_ids(self) -> list[str]:
        return list(self._agents)

    def call_ids(self) -> list[str]:
        return list(self._calls)

    def queue_ids(self) -> list[str]:
        return list(self._queues)

    def queue_kpis(self, queue_id: str, now: float, window: float = 900.0) -> QueueKpis:
        """KPIs over the last `window` seconds (see acd.kpi for definitions)."""
        q = self._queue(queue_id)
        oldest = min((c.arrival for c in q.waiting), default=now)
        return q.stats.snapshot(
            queue_id, now, window, longest=now - oldest, waiting=len(q.waiting),
            n_staffed=q.n_staffed, n_busy=q.n_busy,
        )  # fmt: skip

    def estimated_wait(self, queue_id: str, position: int) -> float | None:
        """EWT = position x average handle time / max(1, staffed members); None until a
        call has been handled. The average is exponentially weighted (alpha 1/4)."""
        q = self._queue(queue_id)
        if q.aht_ewma is None:
            return None
        return position * q.aht_ewma / max(1, q.n_staffed)

    # ================================================================ plumbing
    def _clock(self, now: float) -> None:
        if now < self._now:
            raise ClockError(f"time went backwards: {now} < {self._now}")
        self._now = now

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _agent(self, agent_id: str) -> AgentRt:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownEntityError(f"unknown agent {agent_id!r}", hint="AddAgent first") from None

    def _queue(self, queue_id: str) -> QueueRt:
        try:
            return self._queues[queue_id]
        except KeyError:
            raise UnknownEntityError(f"unknown queue {queue_id!r}", hint="AddQueue first") from None

    def _timer_live(self, t: Timer) -> bool:
        _, _, kind, a, b, token = t
        if kind is TimerKind.WRAP:
            agent = self._agents.get(a)
            return agent is not None and agent.state is _AS.WRAP_UP and agent.state_token == token
        call = self._calls.get(a)
        if call is None:
            return False
        if kind is TimerKind.OFFER:
            return call.offers.get(b) == token
        return call.entry == token and call.state in (_CS.QUEUED, _CS.OFFERING)

    def _fire_due(self, now: float) -> None:
        while (t := self._timers.pop_due(now)) is not None:
            if not self._timer_live(t):
                continue
            # act at the deadline, not at the (possibly late) `now`: waits, idle times
            # and the next timers stay exact however late the gateway feeds time
            at, _, kind, a, b, _ = t
            if kind is TimerKind.OFFER:
                self._offer_ended(
                    self._calls[a], self._agents[b], at, reason="timeout", failed=True
                )
            elif kind is TimerKind.WRAP:
                calls.end_wrap(self, self._agents[a], at)
            elif kind is TimerKind.MAX_WAIT:
                call = self._calls[a]
                freed = self._cancel_offers(call, at, "max-wait")
                calls.overflow(self, call, "max-wait", at)
                self._ready_all(freed, at)
            elif kind is TimerKind.RELAX:
                calls.relax(self, self._calls[a], at)
            else:
                calls.announce(self, self._calls[a], at)

    # ================================================================ agent states
    def _agent_to(self, a: AgentRt, trigger: AgentTrigger, now: float, reason: str = "") -> bool:
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

    def _agent_ready(self, a: AgentRt, now: float) -> None:
        """`a` just became AVAILABLE: apply a deferred request, else find it work."""
        if a.pending is not None:
            kind, reason = a.pending
            a.pending = None
            self._agent_to(a, _AT.PAUSE if kind == "pause" else _AT.LOGOUT, now, reason)
            self._check_leave(a.queues, now)
            return
        call = self._best_call_for(a)
        if call is not None:
            self._offer(call, [a], now)
            return
        for q in a.queues:
            q.add_idle(a)

    def _best_call_for(self, a: AgentRt) -> CallRt | None:
        best: CallRt | None = None
        best_key: tuple[int, tuple[int, float, int]] | None = None
        skills = a.skills
        for q in a.queues:
            if not q.waiting or not q.capable(a):
                continue
            weight = -q.config.weight
            for call in q.waiting:  # sorted: the first eligible one is this queue's best
                if call.state is _CS.QUEUED and eligible(skills, call.req):
                    key = (weight, call.key)
                    if best_key is None or key < best_key:
                        best, best_key = call, key
                    break
        return best

    def _check_leave(self, queues: list[QueueRt], now: float) -> None:
        """Leave-when-empty: send the QUEUED callers of emptied queues to overflow."""
        for q in list(queues):
            policy = q.config.leave
            empty = (policy is LeavePolicy.IF_NO_LOGGED_IN and q.n_logged_in == 0) or (
                policy is LeavePolicy.IF_ALL_PAUSED and q.n_staffed == 0
            )
            if empty:
                for call in [c for c in q.waiting if c.state is _CS.QUEUED]:
                    calls.overflow(self, call, "empty", now)

    # ================================================================ matching and offers
    def _match_call(self, call: CallRt, now: float) -> None:
        """Call-side matching for a QUEUED call."""
        q = call.queue
        assert q is not None
        if not q.idle:
            return
        members, req = q.members, call.req
        strategy = q.config.strategy
        if strategy is Strategy.LONGEST_IDLE:  # hot path: the first eligible one wins
            for key in q.idle:
                agent = members[key[2]]
                if eligible(agent.skills, req):
                    self._offer(call, [agent], now)
                    return
            return
        candidates = []
        cap = q.config.ring_all_cap if strategy is Strategy.RING_ALL else len(q.idle)
        for key in q.idle:
            agent = members[key[2]]
            if eligible(agent.skills, req):
                candidates.append(agent)
                if len(candidates) >= cap:
                    break
        chosen = pick(q, candidates, self._rng)
        if chosen:
            self._offer(call, chosen, now)

    def _offer(self, call: CallRt, agents: list[AgentRt], now: float) -> None:
        q = call.queue
        assert q is not None
        timeout = q.config.offer_timeout
        for a in agents:
            token = self._next_seq()
            call.state = call_next(call.state, _CT.OFFER)
            call.offers[a.agent_id] = token
            a.offers = call.call_id
            self._agent_to(a, _AT.OFFER, now)
            if q.config.strategy is Strategy.ROUND_ROBIN:
                q.rr_last = q.rr_order()[a.agent_id]
            self._out.append(cmd.OfferCall(call.call_id, a.agent_id, q.queue_id, timeout))
            self._timers.push(now + timeout, TimerKind.OFFER, call.call_id, a.agent_id, token)

    def _offer_ended(
        self, call: CallRt, a: AgentRt, now: float, *, reason: str | None, failed: bool,
        ready: bool = True,
    ) -> None:  # fmt: skip
        """End one offer. `reason`: the CancelOffer to send (None when the gateway reported
        the failure); `failed`: the agent did not answer (counts towards auto-pause)."""
        del call.offers[a.agent_id]
        a.offers = None
        if reason is not None:
            self._out.append(cmd.CancelOffer(call.call_id, a.agent_id, reason))
        if call.state is _CS.OFFERING and not call.offers:
            call.state = call_next(call.state, _CT.OFFERS_FAILED)
        limit_hit = False
        if failed:
            a.no_answer += 1
            limit_hit = a.no_answer >= self.settings.no_answer_pause_after
        if limit_hit:
            self._agent_to(a, _AT.NO_ANSWER_LIMIT, now, "no-answer")
            if a.pending is not None and a.pending[0] == "logout":
                self._agent_to(a, _AT.LOGOUT, now)
            a.pending = None
        else:
            self._agent_to(a, _AT.OFFER_ENDED, now)
        if failed and call.state is _CS.QUEUED:
            self._match_call(call, now)
        if a.state is _AS.AVAILABLE:
            if ready:
                self._agent_ready(a, now)
        elif limit_hit:
            self._check_leave(a.queues, now)

    def _cancel_offers(self, call: CallRt, now: float, reason: str) -> list[AgentRt]:
        """Withdraw every offer of `call`; the freed agents are returned, not yet matched,
        so the caller can first move the call out of their reach (see `_ready_all`)."""
        freed = [self._agents[agent_id] for agent_id in call.offers]
        for a in freed:
            self._offer_ended(call, a, now, reason=reason, failed=False, ready=False)
        return freed

    def _ready_all(self, agents: list[AgentRt], now: float) -> None:
        for a in agents:
            if a.state is _AS.AVAILABLE:
                self._agent_ready(a, now)
