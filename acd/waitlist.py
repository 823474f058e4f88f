"""The waitlist: every call in the ACD, its place in a queue line, and its timers.

`Waitlist.to()` is the only place a call's state changes (the table in acd.states).
The waitlist admits calls into queues, moves them along the overflow chain, relaxes their
skill requirements, announces their position and lets them go (diverted, abandoned,
connected, done). It never picks an agent and never touches the offers between calls and
agents: that is the matcher's, which calls in here.

Each stay in a queue has an `entry` token: the call's max-wait, relaxation and
announcement timers carry it, and leaving the queue (or re-arming after a queue update)
bumps it, so older timers go stale.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from acd import commands as cmd
from acd import events as ev
from acd.errors import InvalidTransitionError
from acd.model import EngineSettings, JoinPolicy, QueueTarget, TerminalAction, TerminalTarget
from acd.runtime import AgentRt, CallRt, QueueRt
from acd.skills import relaxation, requirement
from acd.states import CallState, CallTrigger, call_next
from acd.timers import AnnounceTimer, MaxWaitTimer, RelaxTimer, TimerHeap

_CS, _CT = CallState, CallTrigger


class Waitlist:
    __slots__ = ("_out", "_queues", "_seq", "_settings", "_timers", "calls")

    def __init__(
        self,
        settings: EngineSettings,
        queues: Mapping[str, QueueRt],  # the roster's, read only
        timers: TimerHeap,
        out: list[cmd.Command],
        seq: Iterator[int],
    ) -> None:  # fmt: skip
        self.calls: dict[str, CallRt] = {}
        self._settings = settings
        self._queues = queues
        self._timers = timers
        self._out = out
        self._seq = seq

    def to(self, call: CallRt, trigger: CallTrigger) -> None:
        """The one place a call's state changes."""
        call.state = call_next(call.state, trigger)

    # ================================================================ arrival and entry
    def arrive(self, e: ev.CallArrived, now: float) -> CallRt:
        if e.call_id in self.calls:
            raise InvalidTransitionError(f"call {e.call_id!r} already in the ACD")
        arrival = now if e.arrival_time is None else e.arrival_time
        call = CallRt(e.call_id, e.priority, e.skills, arrival)
        self.calls[e.call_id] = call
        return call

    def admit(self, call: CallRt, q: QueueRt, now: float) -> str | None:
        """Put `call` in `q`'s line; or return why `q` refuses it (`full`, `empty`)."""
        cfg = q.config
        q.stats.arrival(now)
        call.queue = q
        if cfg.max_length is not None and len(q.waiting) >= cfg.max_length:
            return "full"
        if (cfg.join is JoinPolicy.IF_LOGGED_IN and q.n_logged_in == 0) or (
            cfg.join is JoinPolicy.IF_UNPAUSED and q.n_staffed == 0
        ):
            return "empty"
        self.to(call, _CT.ENQUEUE)
        call.entered = now
        call.relax_taken = 0
        call.req = requirement(
            cfg.required_skills, call.call_skills, cfg.relax_steps, 0, call.relaxed
        )
        call.key = (-call.priority, call.arrival, next(self._seq))
        position = q.enqueue(call)
        self._out.append(cmd.CallQueued(call.call_id, q.queue_id, position))
        self.arm(call, now)
        return None

    def arm(self, call: CallRt, now: float) -> None:
        """(Re)arm a queued call's timers; older ones go stale with the entry token."""
        q = call.queue
        assert q is not None
        cfg = q.config
        call.entry = token = next(self._seq)
        push, cid = self._timers.push, call.call_id
        if cfg.max_wait is not None and not call.callback:
            push(call.entered + cfg.max_wait, MaxWaitTimer(cid, token))
        if call.relax_taken < len(cfg.relax_steps):
            push(call.entered + cfg.relax_steps[call.relax_taken].after_seconds,
                 RelaxTimer(cid, token))  # fmt: skip
        if cfg.announce_every is not None and not call.callback:
            push(now + cfg.announce_every, AnnounceTimer(cid, token))

    def reconfigured(self, q: QueueRt, now: float) -> None:
        """`q` has a new config: recompute its calls' requirements, re-arm their timers
        (from when each entered; one may be due at once: the engine fires it)."""
        cfg = q.config
        for call in q.waiting:
            call.relax_taken = min(call.relax_taken, len(cfg.relax_steps))
            call.req = requirement(
                cfg.required_skills, call.call_skills, cfg.relax_steps, call.relax_taken,
                call.relaxed,
            )  # fmt: skip
            self.arm(call, now)

    def relax(self, call: CallRt) -> bool:
        """The call's next relaxation step; True when it now waits for a match."""
        q = call.queue
        assert q is not None
        cfg = q.config
        call.relax_taken += 1
        call.req = requirement(
            cfg.required_skills, call.call_skills, cfg.relax_steps, call.relax_taken,
            call.relaxed,
        )  # fmt: skip
        if call.relax_taken < len(cfg.relax_steps):
            after = cfg.relax_steps[call.relax_taken].after_seconds
            self._timers.push(call.entered + after, RelaxTimer(call.call_id, call.entry))
        return call.state is _CS.QUEUED

    def announce(self, call: CallRt, now: float) -> None:
        q = call.queue
        assert q is not None and q.config.announce_every is not None
        if call.state is _CS.QUEUED:  # not while an agent is ringing
            position = q.position(call)
            ewt = q.estimated_wait(position)
            self._out.append(cmd.Announce(call.call_id, q.queue_id, position, ewt))
        self._timers.push(now + q.config.announce_every, AnnounceTimer(call.call_id, call.entry))

    # ================================================================ leaving
    def _leave_queue(self, call: CallRt) -> None:
        if call.queue is not None:
            call.queue.dequeue(call)
        call.entry = next(self._seq)

    def overflow(self, call: CallRt, reason: str, now: float) -> QueueRt | None:
        """Take `call` out of its queue towards the overflow target: the next queue to
        try (`Overflowed` sent), or None when the call was diverted out of the ACD."""
        q = call.queue
        assert q is not None and not call.offers
        q.stats.overflow(now)
        self._leave_queue(call)
        target = q.config.overflow
        if isinstance(target, QueueTarget):
            dest = self._queues.get(target.queue_id)
            if dest is not None and call.hops < self._settings.max_overflow_hops:
                call.hops += 1  # its own skills keep the relaxation earned here (acd.skills)
                call.relaxed = call.relaxed.widen(
                    relaxation(q.config.relax_steps, call.relax_taken)
                )
                self._out.append(cmd.Overflowed(call.call_id, q.queue_id, dest.queue_id, reason))
                return dest
            reason = "overflow-loop" if dest is not None else "unknown-queue"
            target = None
        self.divert(call, q.queue_id, target, reason)
        return None

    def divert(self, call: CallRt, queue_id: str, target: TerminalTarget | None, why: str) -> None:
        action = target.action if target else TerminalAction.HANGUP
        self.to(call, _CT.DIVERT)
        del self.calls[call.call_id]
        self._out.append(
            cmd.Divert(call.call_id, queue_id, action, target.argument if target else "", why)
        )

    def abandon(self, call: CallRt, now: float) -> None:
        """The caller hung up before answer: the call is ABANDONED already (`to`) and its
        offers are cancelled (the matcher's); it leaves its queue and the ACD."""
        q = call.queue
        assert q is not None and call.state is _CS.ABANDONED and not call.offers
        self._leave_queue(call)
        del self.calls[call.call_id]
        wait = now - call.arrival
        q.stats.abandon(now, wait)
        self._out.append(cmd.CallAbandoned(call.call_id, q.queue_id, wait))

    def connect(self, call: CallRt, a: AgentRt, now: float) -> None:
        """`a` answered `call`: out of the line, into conversation."""
        self.to(call, _CT.ANSWER)
        q = call.queue
        assert q is not None
        self._leave_queue(call)
        call.agent_id = a.agent_id
        call.answered_at = now
        wait = now - call.arrival
        q.stats.answer(now, wait)
        q.calls_by_agent[a.agent_id] = q.calls_by_agent.get(a.agent_id, 0) + 1
        self._out.append(cmd.ConnectCall(call.call_id, a.agent_id, q.queue_id, wait))

    def end(self, call: CallRt) -> None:
        """The conversation is over: the call leaves the ACD."""
        self.to(call, _CT.END)
        del self.calls[call.call_id]
