"""The ACD engine: a deterministic, sans-IO state machine.

    engine = Engine(EngineSettings())
    commands = engine.handle(event, now)     # any acd.events event
    commands = engine.handle_timer(now)      # when now >= engine.next_deadline()

Theory of operation. Every `handle` first fires the timers that are due, then applies
the event (and fires timers again after a config change, which can make one due at
once). The engine keeps two invariants after every call:

1. *Work conservation*: no QUEUED call has an AVAILABLE agent that is eligible for it
   (a member of the call's queue with the skills of the call's current requirement).
   Matching therefore runs from both sides (acd.matcher).
2. *Ownership*: an agent is offered or holds at most one call; a call is in at most one
   queue; every call ends exactly once (connected-and-ended, abandoned, or diverted).

The engine is a façade over parts that each own their data; imports go one way
(the engine builds all three and hands them the shared command list and counter):

    engine ──► matcher ──► waitlist ──► runtime, timers, skills, states, kpi, model
                  └──────► roster ───┘    (neither knows the other)

- `Roster` (acd.roster): queues, agents, membership; the one place agent state changes.
- `Waitlist` (acd.waitlist): calls, queue lines, call timers; the one place call state
  changes.
- `Matcher` (acd.matcher): the offers between calls and agents, and both sides of
  matching.
- `Engine` (here): the public API, the event and timer handlers that sequence the parts,
  and the read-only views. Commands go to one list the parts share; `handle` hands a copy
  back and empties it.

A failed offer first re-matches the call (without the agent who failed, which is not yet
back in the idle index) and then offers the agent work, so a ringing round moves on to
other agents before coming back.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from acd import commands as cmd
from acd import events as ev
from acd.callback import CallbackDesk
from acd.callback_events import (
    CallbackCancelled,
    CallbackDueTimer,
    CallbackQueued,
    CallbackRequested,
    CallbackRescheduled,
)
from acd.engine_views import AgentView, CallView, agent_view, call_view
from acd.errors import ClockError, InvalidTransitionError
from acd.kpi import QueueKpis
from acd.matcher import Matcher
from acd.model import EngineSettings
from acd.roster import Roster
from acd.runtime import AgentRt
from acd.states import AgentState, AgentTrigger, CallState, CallTrigger, Pending, agent_next
from acd.timers import MaxWaitTimer, OfferTimer, RelaxTimer, Timer, TimerHeap, WrapTimer
from acd.waitlist import Waitlist

_AS, _AT, _CS, _CT = AgentState, AgentTrigger, CallState, CallTrigger
_CONFIG_EVENTS = frozenset({ev.UpdateQueue, ev.RemoveQueue, ev.UpdateAgent})
_LIVE_CALL = (_CS.QUEUED, _CS.OFFERING)


class Engine:
    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._out: list[cmd.Command] = []
        self._timers = TimerHeap()
        seq = itertools.count(1)
        self._roster = roster = Roster(self.settings, self._out, seq)
        self._calls = calls = Waitlist(self.settings, roster.queues, self._timers, self._out, seq)
        self._matcher = Matcher(self.settings, roster, calls, self._timers, self._out, seq)
        desk = CallbackDesk(roster.queues, calls, self._matcher, self._timers, self._out, seq)
        self._now = -math.inf
        self._desk_due = desk.due
        self._direct: dict[str, str] = {}  # call id -> agent: a transfer's target on it
        self._handlers: dict[type, Callable[[Any, float], None]] = {
            ev.AddQueue: self._add_queue,
            ev.UpdateQueue: self._update_queue,
            ev.RemoveQueue: self._remove_queue,
            ev.AddAgent: lambda e, now: roster.add_agent(e.config, now),
            ev.UpdateAgent: self._update_agent,
            ev.RemoveAgent: lambda e, now: roster.remove_agent(roster.agent(e.agent_id), now),
            ev.AgentLogin: self._login,
            ev.AgentLogout: self._logout,
            ev.AgentPause: self._pause,
            ev.AgentUnpause: self._unpause,
            ev.WrapUpDone: self._wrap_done,
            ev.CallArrived: self._call_arrived,
            ev.CallerHungUp: self._caller_hung_up,
            ev.OfferAnswered: self._offer_answered,
            ev.OfferFailed: self._offer_failed,
            ev.ConversationEnded: self._conversation_ended,
            ev.DirectCallAnswered: self._direct_answered,
            ev.ConversationAdopted: self._conversation_adopted,
            ev.Tick: lambda e, now: None,
            CallbackRequested: desk.requested,
            CallbackQueued: desk.queued,
            CallbackCancelled: desk.cancelled,
            CallbackRescheduled: desk.rescheduled,
        }

    # ================================================================ public API
    def handle(self, event: ev.Event, now: float) -> list[cmd.Command]:
        """Apply one event at time `now` (seconds, monotonic); return the commands."""
        if now < self._now:
            raise ClockError(f"time went backwards: {now} < {self._now}")
        self._now = now
        out = self._out
        out.clear()  # left over if the previous event raised
        self._fire_due(now)
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"not an ACD event: {event!r}")
        handler(event, now)
        if type(event) in _CONFIG_EVENTS:  # e.g. a shorter max_wait may be due at once
            self._fire_due(now)
        done = out[:]
        out.clear()
        return done

    def handle_timer(self, now: float) -> list[cmd.Command]:
        """Fire every timer due at `now`."""
        return self.handle(ev.Tick(), now)

    def next_deadline(self) -> float | None:
        """When the engine next needs `handle_timer` (None: no timer pending)."""
        return self._timers.next_deadline(self._live)

    def agent(self, agent_id: str) -> AgentView:
        return agent_view(self._roster.agent(agent_id))

    def call(self, call_id: str) -> CallView | None:
        """The call, or None once it left the engine."""
        c = self._calls.calls.get(call_id)
        return None if c is None else call_view(c)

    def waiting(self, queue_id: str) -> list[str]:
        """Unanswered calls of a queue, in service order (ringing ones included)."""
        return [c.call_id for c in self._roster.queue(queue_id).waiting]

    def agent_ids(self) -> list[str]:
        return list(self._roster.agents)

    def call_ids(self) -> list[str]:
        return list(self._calls.calls)

    def queue_ids(self) -> list[str]:
        return list(self._roster.queues)

    def queue_kpis(self, queue_id: str, now: float, window: float = 900.0) -> QueueKpis:
        """KPIs over the last `window` seconds (see acd.kpi for definitions)."""
        q = self._roster.queue(queue_id)
        oldest = min((c.arrival for c in q.waiting), default=now)
        return q.stats.snapshot(
            queue_id, now, window, longest=now - oldest, waiting=len(q.waiting),
            n_staffed=q.n_staffed, n_busy=q.n_busy,
        )  # fmt: skip

    def estimated_wait(self, queue_id: str, position: int) -> float | None:
        """EWT = position x average handle time / max(1, staffed members); None until a
        call has been handled. The average is exponentially weighted (alpha 1/4)."""
        return self._roster.queue(queue_id).estimated_wait(position)

    # ================================================================ timers
    def _live(self, t: Timer) -> bool:
        if isinstance(t, WrapTimer):
            a = self._roster.agents.get(t.agent_id)
            return a is not None and a.state is _AS.WRAP_UP and a.state_token == t.state_token
        call = self._calls.calls.get(t.call_id)
        if call is None:
            return False
        if isinstance(t, OfferTimer):
            return call.offers.get(t.agent_id) == t.offer
        return call.entry == t.entry and call.state in _LIVE_CALL

    def _fire_due(self, now: float) -> None:
        while (entry := self._timers.pop_due(now)) is not None:
            # act at the deadline, not at the (possibly late) `now`: waits, idle times
            # and the next timers stay exact however late the gateway feeds time
            at, _, t = entry
            if not self._live(t):
                continue
            if isinstance(t, WrapTimer):
                self._finish(self._roster.agents[t.agent_id], at, _AT.WRAP_DONE)
                continue
            call, matcher = self._calls.calls[t.call_id], self._matcher
            if isinstance(t, OfferTimer):
                agent = self._roster.agents[t.agent_id]
                matcher.offer_ended(call, agent, at, reason="timeout", failed=True)
            elif isinstance(t, MaxWaitTimer):
                freed = matcher.cancel_offers(call, at, "max-wait")
                matcher.overflow(call, "max-wait", at)
                matcher.ready_all(freed, at)
            elif isinstance(t, CallbackDueTimer):
                self._desk_due(t, at)
            elif isinstance(t, RelaxTimer):
                if self._calls.relax(call):
                    matcher.match_call(call, at)
            else:
                self._calls.announce(call, at)

    # ================================================================ configuration
    def _add_queue(self, e: ev.AddQueue, now: float) -> None:
        self._roster.add_queue(e.config, now)

    def _update_queue(self, e: ev.UpdateQueue, now: float) -> None:
        """Waiting calls stay, with their positions (see docs/acd.md)."""
        q = self._roster.queue(e.config.queue_id)
        q.reconfigure(e.config)
        self._calls.reconfigured(q, now)
        for call in [c for c in q.waiting if c.state is _CS.QUEUED]:
            if call.state is _CS.QUEUED:  # an earlier match may have taken its agent
                self._matcher.match_call(call, now)
        self._matcher.check_leave([q], now)

    def _remove_queue(self, e: ev.RemoveQueue, now: float) -> None:
        q = self._roster.queue(e.queue_id)
        self._roster.remove_queue(q, now)  # before overflowing: no call comes back into it
        freed: list[AgentRt] = []
        for call in list(q.waiting):
            freed += self._matcher.cancel_offers(call, now, "queue-removed")
            self._matcher.overflow(call, "queue-removed", now)
        self._matcher.ready_all(freed, now)

    def _update_agent(self, e: ev.UpdateAgent, now: float) -> None:
        a = self._roster.agent(e.config.agent_id)
        available = a.state is _AS.AVAILABLE
        left = self._roster.update_agent(a, e.config, now)
        self._matcher.check_leave(left, now)  # first: their callers may come its way
        if available:  # re-matched with its new skills and queues
            self._matcher.agent_ready(a, now)

    # ================================================================ agent actions
    def _login(self, e: ev.AgentLogin, now: float) -> None:
        a = self._roster.agent(e.agent_id)
        self._roster.login(a, now)
        self._matcher.agent_ready(a, now)

    def _logout(self, e: ev.AgentLogout, now: float) -> None:
        a = self._roster.agent(e.agent_id)
        if self._roster.logout(a, now):  # else deferred
            self._matcher.check_leave(a.queues, now)

    def _pause(self, e: ev.AgentPause, now: float) -> None:
        a = self._roster.agent(e.agent_id)
        if self._roster.pause(a, e.reason, now):  # else deferred
            self._matcher.check_leave(a.queues, now)

    def _unpause(self, e: ev.AgentUnpause, now: float) -> None:
        a = self._roster.agent(e.agent_id)
        if self._roster.unpause(a, now):  # else it only cancelled a deferred pause
            self._matcher.agent_ready(a, now)

    def _wrap_done(self, e: ev.WrapUpDone, now: float) -> None:
        a = self._roster.agent(e.agent_id)
        agent_next(a.state, _AT.WRAP_DONE)  # raises unless in wrap-up
        self._finish(a, now, _AT.WRAP_DONE)

    def _finish(self, a: AgentRt, now: float, trigger: AgentTrigger) -> None:
        """The agent is done with its call: record handle time, become available."""
        self._roster.finish(a, trigger, now)
        self._matcher.agent_ready(a, now)

    # ================================================================ call events
    def _call_arrived(self, e: ev.CallArrived, now: float) -> None:
        call = self._calls.arrive(e, now)
        q = self._roster.queues.get(e.queue_id)
        if q is None:
            self._calls.divert(call, e.queue_id, None, "unknown-queue")
            return
        self._matcher.place(call, q, now)

    def _caller_hung_up(self, e: ev.CallerHungUp, now: float) -> None:
        call = self._calls.calls.get(e.call_id)
        if call is None:
            return  # already diverted or finished: a harmless race
        if call.state is _CS.CONNECTED:  # after answer: the conversation is over
            self._conversation_ended(ev.ConversationEnded(e.call_id), now)
            return
        self._calls.to(call, _CT.CALLER_HANG_UP)  # queued or ringing: abandoned
        freed = self._matcher.cancel_offers(call, now, "caller-hung-up")
        self._calls.abandon(call, now)
        self._matcher.ready_all(freed, now)

    def _offer_answered(self, e: ev.OfferAnswered, now: float) -> None:
        call = self._calls.calls.get(e.call_id)
        if call is None or e.agent_id not in call.offers:
            self._out.append(cmd.CancelOffer(e.call_id, e.agent_id, "stale"))
            return
        a = self._roster.agents[e.agent_id]
        self._matcher.answered(call, a)
        assert call.queue is not None
        self._roster.connect(a, call.call_id, call.queue, now)
        self._calls.connect(call, a, now)
        freed = self._matcher.cancel_offers(call, now, "answered-elsewhere")
        self._matcher.ready_all(freed, now)

    def _offer_failed(self, e: ev.OfferFailed, now: float) -> None:
        call = self._calls.calls.get(e.call_id)
        if call is None or e.agent_id not in call.offers:
            return  # the engine already withdrew this offer
        agent = self._roster.agents[e.agent_id]
        self._matcher.offer_ended(call, agent, now, reason=None, failed=True)

    def _conversation_adopted(self, e: ev.ConversationAdopted, now: float) -> None:
        """Straight into conversation, through the usual transitions (offer, answer) but
        never the line; one AgentStateChanged (old -> on-call, "adopted") for the steps."""
        a, q = self._roster.agent(e.agent_id), self._roster.queue(e.queue_id)
        old, mark = a.state, len(self._out)
        if e.call_id in self._calls.calls:
            raise InvalidTransitionError(f"call {e.call_id!r} already in the ACD")
        if a.state is _AS.LOGGED_OUT:
            self._roster.login(a, now)
        if a.state is not _AS.AVAILABLE:
            raise InvalidTransitionError(f"agent {e.agent_id!r} is {a.state.value}")
        call = self._calls.arrive(ev.CallArrived(e.call_id, e.queue_id, e.priority,
                                                 arrival_time=e.arrival_time), now)  # fmt: skip
        call.queue = q
        self._calls.to(call, _CT.ENQUEUE)
        self._calls.to(call, _CT.OFFER)
        self._roster.to(a, _AT.OFFER, now)
        self._roster.connect(a, call.call_id, q, now)
        self._calls.to(call, _CT.ANSWER)
        call.agent_id, call.answered_at = a.agent_id, now
        del self._out[mark:]
        self._out.append(cmd.AgentStateChanged(a.agent_id, old, a.state, "adopted"))

    def _direct_answered(self, e: ev.DirectCallAnswered, now: float) -> None:
        """Through the usual transitions (unpause, offer, answer) but without a call in the
        line; one AgentStateChanged (old -> on-call, "transfer") for the steps."""
        a = self._roster.agent(e.agent_id)
        if a.state not in (_AS.AVAILABLE, _AS.PAUSED) or e.call_id in self._direct:
            return  # busy with a call of its own: it is not ours to time
        old, mark = a.state, len(self._out)
        if a.state is _AS.PAUSED:
            self._roster.to(a, _AT.UNPAUSE, now)
        self._roster.to(a, _AT.OFFER, now)
        self._roster.to(a, _AT.ANSWER, now)
        a.call_id, a.call_queue, a.answered_at = e.call_id, self._roster.queues.get(e.queue_id), now
        if e.resume_pause and a.pending is None:
            a.pending = Pending(_AT.PAUSE, e.resume_pause)  # replayed after the wrap-up
        self._direct[e.call_id] = a.agent_id
        del self._out[mark:]
        self._out.append(cmd.AgentStateChanged(a.agent_id, old, a.state, "transfer"))

    def _conversation_ended(self, e: ev.ConversationEnded, now: float) -> None:
        call = self._calls.calls.get(e.call_id)
        if call is None and e.call_id in self._direct:  # a transfer's target's call
            a = self._roster.agents.get(self._direct.pop(e.call_id))
        elif call is None or call.state is not _CS.CONNECTED:
            return  # unknown or not yet answered: nothing to end (caller races)
        else:
            self._calls.end(call)
            a = self._roster.agents.get(call.agent_id or "")
        if a is None or a.call_id != e.call_id or a.state is not _AS.ON_CALL:
            return  # the agent was removed meanwhile
        wrap_up = self._roster.hang_up(a, now)
        if wrap_up:
            self._timers.push(now + wrap_up, WrapTimer(a.agent_id, a.state_token))
        else:
            self._finish(a, now, _AT.HANG_UP_NO_WRAP)
