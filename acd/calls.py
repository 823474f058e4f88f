"""Call flow: entering and leaving queues (admission, overflow, divert), relaxation and
announcement timers, and the call events the gateway reports.

These functions are the engine's own methods in all but name (split from acd.engine for
size); they take the engine first and use its private state and helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd import commands as cmd
from acd import events as ev
from acd.errors import InvalidTransitionError
from acd.model import JoinPolicy, QueueTarget, TerminalAction, TerminalTarget
from acd.runtime import AgentRt, CallRt, QueueRt
from acd.skills import relaxation, requirement
from acd.states import AgentState, AgentTrigger, CallState, CallTrigger, agent_next, call_next
from acd.timers import TimerKind

if TYPE_CHECKING:
    from acd.engine import Engine

_AS, _AT, _CS, _CT = AgentState, AgentTrigger, CallState, CallTrigger
EWT_ALPHA = 0.25  # weight of the newest handle time in the EWT average (Asterisk: 1/4)


# --- queue entry/exit ----------------------------------------------------------------
def enter(eng: Engine, call: CallRt, q: QueueRt, now: float) -> None:
    """Admit `call` into `q` (or send it on to the overflow target)."""
    cfg = q.config
    q.stats.arrival(now)
    call.queue = q
    full = cfg.max_length is not None and len(q.waiting) >= cfg.max_length
    empty = (cfg.join is JoinPolicy.IF_LOGGED_IN and q.n_logged_in == 0) or (
        cfg.join is JoinPolicy.IF_UNPAUSED and q.n_staffed == 0
    )
    if full or empty:
        overflow(eng, call, "full" if full else "empty", now)
        return
    call.state = call_next(call.state, _CT.ENQUEUE)
    call.entered = now
    call.relax_taken = 0
    call.req = requirement(cfg.required_skills, call.call_skills, cfg.relax_steps, 0, call.relaxed)
    call.key = (-call.priority, call.arrival, eng._next_seq())
    position = q.enqueue(call)
    eng._out.append(cmd.CallQueued(call.call_id, q.queue_id, position))
    arm(eng, call, now)
    eng._match_call(call, now)


def arm(eng: Engine, call: CallRt, now: float) -> None:
    """(Re)arm a queued call's timers; older ones go stale with the entry token."""
    q = call.queue
    assert q is not None
    cfg = q.config
    call.entry = eng._next_seq()
    push, cid, tok = eng._timers.push, call.call_id, call.entry
    if cfg.max_wait is not None:
        push(call.entered + cfg.max_wait, TimerKind.MAX_WAIT, cid, "", tok)
    if call.relax_taken < len(cfg.relax_steps):
        after = cfg.relax_steps[call.relax_taken].after_seconds
        push(call.entered + after, TimerKind.RELAX, cid, "", tok)
    if cfg.announce_every is not None:
        push(now + cfg.announce_every, TimerKind.ANNOUNCE, cid, "", tok)


def leave_queue(eng: Engine, call: CallRt) -> None:
    if call.queue is not None:
        call.queue.dequeue(call)
    call.entry = eng._next_seq()


def overflow(eng: Engine, call: CallRt, reason: str, now: float) -> None:
    q = call.queue
    assert q is not None and not call.offers
    q.stats.overflow(now)
    leave_queue(eng, call)
    target = q.config.overflow
    if isinstance(target, QueueTarget):
        dest = eng._queues.get(target.queue_id)
        if dest is not None and call.hops < eng.settings.max_overflow_hops:
            call.hops += 1  # its own skills keep the relaxation earned here (acd.skills)
            call.relaxed = call.relaxed.widen(relaxation(q.config.relax_steps, call.relax_taken))
            eng._out.append(cmd.Overflowed(call.call_id, q.queue_id, dest.queue_id, reason))
            enter(eng, call, dest, now)
            return
        reason = "overflow-loop" if dest is not None else "unknown-queue"
        target = None
    divert(eng, call, q.queue_id, target, reason)


def divert(
    eng: Engine, call: CallRt, queue_id: str, target: TerminalTarget | None, why: str
) -> None:
    action = target.action if target else TerminalAction.HANGUP
    call.state = call_next(call.state, _CT.DIVERT)
    del eng._calls[call.call_id]
    eng._out.append(
        cmd.Divert(call.call_id, queue_id, action, target.argument if target else "", why)
    )


def relax(eng: Engine, call: CallRt, now: float) -> None:
    q = call.queue
    assert q is not None
    cfg = q.config
    call.relax_taken += 1
    call.req = requirement(
        cfg.required_skills, call.call_skills, cfg.relax_steps, call.relax_taken, call.relaxed
    )
    if call.relax_taken < len(cfg.relax_steps):
        after = cfg.relax_steps[call.relax_taken].after_seconds
        eng._timers.push(call.entered + after, TimerKind.RELAX, call.call_id, "", call.entry)
    if call.state is _CS.QUEUED:
        eng._match_call(call, now)


def announce(eng: Engine, call: CallRt, now: float) -> None:
    q = call.queue
    assert q is not None and q.config.announce_every is not None
    if call.state is _CS.QUEUED:  # not while an agent is ringing
        position = q.position(call)
        ewt = eng.estimated_wait(q.queue_id, position)
        eng._out.append(cmd.Announce(call.call_id, q.queue_id, position, ewt))
    eng._timers.push(
        now + q.config.announce_every, TimerKind.ANNOUNCE, call.call_id, "", call.entry
    )


# --- call events ---------------------------------------------------------------------
def call_arrived(eng: Engine, e: ev.CallArrived, now: float) -> None:
    if e.call_id in eng._calls:
        raise InvalidTransitionError(f"call {e.call_id!r} already in the ACD")
    arrival = now if e.arrival_time is None else e.arrival_time
    call = CallRt(e.call_id, e.priority, e.skills, arrival)
    eng._calls[e.call_id] = call
    q = eng._queues.get(e.queue_id)
    if q is None:
        divert(eng, call, e.queue_id, None, "unknown-queue")
        return
    enter(eng, call, q, now)


def caller_hung_up(eng: Engine, e: ev.CallerHungUp, now: float) -> None:
    call = eng._calls.get(e.call_id)
    if call is None:
        return  # already diverted or finished: a harmless race
    if call.state is _CS.CONNECTED:
        conversation_ended(eng, ev.ConversationEnded(e.call_id), now)
        return
    q = call.queue
    assert q is not None
    freed = eng._cancel_offers(call, now, "caller-hung-up")
    call.state = call_next(call.state, _CT.CALLER_HANG_UP)
    leave_queue(eng, call)
    del eng._calls[call.call_id]
    wait = now - call.arrival
    q.stats.abandon(now, wait)
    eng._out.append(cmd.CallAbandoned(call.call_id, q.queue_id, wait))
    eng._ready_all(freed, now)


def offer_answered(eng: Engine, e: ev.OfferAnswered, now: float) -> None:
    call = eng._calls.get(e.call_id)
    if call is None or e.agent_id not in call.offers:
        eng._out.append(cmd.CancelOffer(e.call_id, e.agent_id, "stale"))
        return
    a = eng._agents[e.agent_id]
    del call.offers[a.agent_id]
    a.offers = None
    a.no_answer = 0
    call.state = call_next(call.state, _CT.ANSWER)
    eng._agent_to(a, _AT.ANSWER, now)
    q = call.queue
    assert q is not None
    leave_queue(eng, call)
    call.agent_id = a.agent_id
    a.call_id = call.call_id
    a.call_queue = q
    a.answered_at = call.answered_at = now
    wait = now - call.arrival
    q.stats.answer(now, wait)
    q.calls_by_agent[a.agent_id] = q.calls_by_agent.get(a.agent_id, 0) + 1
    eng._out.append(cmd.ConnectCall(call.call_id, a.agent_id, q.queue_id, wait))
    eng._ready_all(eng._cancel_offers(call, now, "answered-elsewhere"), now)


def offer_failed_event(eng: Engine, e: ev.OfferFailed, now: float) -> None:
    call = eng._calls.get(e.call_id)
    if call is None or e.agent_id not in call.offers:
        return  # the engine already withdrew this offer
    eng._offer_ended(call, eng._agents[e.agent_id], now, reason=None, failed=True)


def conversation_ended(eng: Engine, e: ev.ConversationEnded, now: float) -> None:
    call = eng._calls.get(e.call_id)
    if call is None or call.state is not _CS.CONNECTED:
        return  # unknown or not yet answered: nothing to end (caller races)
    call.state = call_next(call.state, _CT.END)
    del eng._calls[call.call_id]
    a = eng._agents.get(call.agent_id or "")
    if a is None or a.call_id != call.call_id:
        return  # the agent was removed meanwhile
    a.talk_time += now - a.answered_at
    q = call.queue
    assert q is not None
    if q.config.wrap_up > 0:
        eng._agent_to(a, _AT.HANG_UP, now)
        eng._timers.push(now + q.config.wrap_up, TimerKind.WRAP, a.agent_id, "", a.state_token)
    else:
        finish(eng, a, q, now, _AT.HANG_UP_NO_WRAP)


def wrap_done_event(eng: Engine, e: ev.WrapUpDone, now: float) -> None:
    a = eng._agent(e.agent_id)
    agent_next(a.state, _AT.WRAP_DONE)  # raises unless in wrap-up
    end_wrap(eng, a, now)


def end_wrap(eng: Engine, a: AgentRt, now: float) -> None:
    finish(eng, a, a.call_queue, now, _AT.WRAP_DONE)


def finish(eng: Engine, a: AgentRt, q: QueueRt | None, now: float, trigger: AgentTrigger) -> None:
    """The agent is done with its call: record handle time, become available."""
    if q is not None:
        handle = now - a.answered_at
        q.stats.handled(now, handle)
        q.aht_ewma = (
            handle if q.aht_ewma is None else q.aht_ewma + EWT_ALPHA * (handle - q.aht_ewma)
        )
    a.call_id = None
    a.call_queue = None
    eng._agent_to(a, trigger, now)
    a.idle_key = (now, eng._next_seq(), a.agent_id)
    eng._agent_ready(a, now)
