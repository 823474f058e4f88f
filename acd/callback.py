"""Queued callbacks: a caller who asked to be called back keeps its place in line.

A callback entry is an ordinary call record of the waitlist (`CallRt.callback`), so it
keeps its key `(-priority, arrival, seq)`, counts in the position and EWT of the callers
behind it, and is matched by the queue's own rules. What differs (docs/callback.md):

- nobody is on the line, so it has no max-wait and no announcements;
- it is offered to one agent at a time, even in ring-all: the agent answering is what
  makes the gateway dial the customer, so it must never be placed twice;
- `not_before` holds it back (a retry's interval, the dialling window): until then it
  keeps its place but is skipped by matching; a `CallbackDueTimer` wakes it.

Once an agent answers, the entry leaves the ACD like any connected call; a retry comes
back through `CallbackQueued` with the original arrival time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from acd import commands as cmd
from acd.callback_events import (
    CallbackCancelled,
    CallbackDueTimer,
    CallbackKept,
    CallbackQueued,
    CallbackRemoved,
    CallbackRequested,
    CallbackRescheduled,
)
from acd.errors import InvalidTransitionError
from acd.matcher import Matcher
from acd.runtime import CallRt, QueueRt
from acd.skills import requirement
from acd.states import CallState, CallTrigger
from acd.timers import TimerHeap
from acd.waitlist import Waitlist

_CS, _CT = CallState, CallTrigger


def held_back(call: CallRt, now: float) -> bool:
    """A callback entry that may not be offered yet."""
    return call.callback and now < call.not_before


class CallbackDesk:
    __slots__ = ("_calls", "_matcher", "_out", "_queues", "_seq", "_timers")

    def __init__(
        self,
        queues: Mapping[str, QueueRt],  # the roster's, read only
        calls: Waitlist,
        matcher: Matcher,
        timers: TimerHeap,
        out: list[cmd.Command],
        seq: Iterator[int],
    ) -> None:  # fmt: skip
        self._queues = queues
        self._calls = calls
        self._matcher = matcher
        self._timers = timers
        self._out = out
        self._seq = seq

    def requested(self, e: CallbackRequested, now: float) -> None:
        call = self._calls.calls.get(e.call_id)
        if call is None or call.state not in (_CS.QUEUED, _CS.OFFERING) or call.callback:
            raise InvalidTransitionError(f"call {e.call_id!r} is not waiting in a queue")
        renamed = e.callback_id != call.call_id  # the caller's session ends: a new name
        if renamed and e.callback_id in self._calls.calls:
            raise InvalidTransitionError(f"call {e.callback_id!r} already in the ACD")
        freed = self._matcher.cancel_offers(call, now, "callback")
        if renamed:
            del self._calls.calls[call.call_id]
            call.call_id = e.callback_id
            self._calls.calls[call.call_id] = call
        self._make_callback(call, e.not_before, now)
        self._matcher.match_call(call, now)
        self._matcher.ready_all(freed, now)

    def queued(self, e: CallbackQueued, now: float) -> None:
        if e.call_id in self._calls.calls:
            raise InvalidTransitionError(f"call {e.call_id!r} already in the ACD")
        q = self._queues.get(e.queue_id)
        call = CallRt(e.call_id, e.priority, e.skills, e.arrival_time)
        if q is None:
            self._out.append(CallbackRemoved(e.call_id, e.queue_id, "unknown-queue"))
            return
        # Straight into the line: a callback already counted as an arrival and is never
        # refused for a full or empty queue (it was admitted when the caller waited).
        self._calls.calls[call.call_id] = call
        call.queue = q
        self._calls.to(call, _CT.ENQUEUE)
        call.entered = now
        call.req = requirement(q.config.required_skills, call.call_skills, q.config.relax_steps,
                               0, call.relaxed)  # fmt: skip
        call.key = (-call.priority, call.arrival, next(self._seq))
        q.enqueue(call)
        self._make_callback(call, e.not_before, now)
        self._matcher.match_call(call, now)

    def rescheduled(self, e: CallbackRescheduled, now: float) -> None:
        call = self._pending(e.call_id)
        freed = self._matcher.cancel_offers(call, now, "callback-held")
        self._make_callback(call, e.not_before, now)
        self._matcher.match_call(call, now)
        self._matcher.ready_all(freed, now)

    def _pending(self, call_id: str) -> CallRt:
        call = self._calls.calls.get(call_id)
        if call is None or not call.callback or call.state not in (_CS.QUEUED, _CS.OFFERING):
            raise InvalidTransitionError(f"call {call_id!r} is no pending callback")
        return call

    def cancelled(self, e: CallbackCancelled, now: float) -> None:
        call = self._pending(e.call_id)
        freed = self._matcher.cancel_offers(call, now, "callback-cancelled")
        q = call.queue
        assert q is not None
        q.dequeue(call)
        call.entry = next(self._seq)
        self._calls.to(call, _CT.DIVERT)
        del self._calls.calls[call.call_id]
        self._out.append(CallbackRemoved(call.call_id, q.queue_id, "cancelled"))
        self._matcher.ready_all(freed, now)

    def due(self, t: CallbackDueTimer, now: float) -> None:
        call = self._calls.calls[t.call_id]
        if call.state is _CS.QUEUED:
            self._matcher.match_call(call, now)

    def _make_callback(self, call: CallRt, not_before: float | None, now: float) -> None:
        q = call.queue
        assert q is not None
        call.callback = True
        call.not_before = now if not_before is None else not_before
        self._calls.arm(call, now)  # drops max-wait/announcements (acd.waitlist)
        if call.not_before > now:
            self._timers.push(call.not_before, CallbackDueTimer(call.call_id, call.entry))
        self._out.append(CallbackKept(call.call_id, q.queue_id, q.position(call)))
