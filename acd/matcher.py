"""The matcher: which agent rings for which call, and the offers between them.

It owns the offer relation (`CallRt.offers`, `AgentRt.offers`, the no-answer count) and
the two sides of matching that keep work conserved (acd.engine's invariant 1):

- call side (`match_call`): a call entered a queue, its offers failed or its requirement
  relaxed: the queue's strategy picks among its idle eligible agents;
- agent side (`agent_ready`): an agent became AVAILABLE: it first applies a deferred
  pause/logout, else takes the best eligible QUEUED call over its queues (heavier queue
  weight, then higher priority, then earlier original arrival), else goes idle.

Within one step, the callers of a queue that the step left empty (leave-when-empty) are
moved on *before* anything is matched, so an agent never takes a later caller while an
earlier one is still on its way into the same queue.

Moving a call into a queue (`place`) and along the overflow chain belongs here too,
because every entry is followed by call-side matching. States change only through the
roster (agents) and the waitlist (calls).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from acd import commands as cmd
from acd.model import EngineSettings, Strategy
from acd.roster import Roster
from acd.runtime import AgentRt, CallRt, QueueRt
from acd.skills import eligible
from acd.states import AgentState, AgentTrigger, CallState, CallTrigger
from acd.strategies import pick
from acd.timers import OfferTimer, TimerHeap
from acd.waitlist import Waitlist

_AS, _AT, _CS, _CT = AgentState, AgentTrigger, CallState, CallTrigger


class Matcher:
    __slots__ = ("_agents", "_calls", "_out", "_rng", "_roster", "_seq", "_settings", "_timers")

    def __init__(
        self,
        settings: EngineSettings,
        roster: Roster,
        calls: Waitlist,
        timers: TimerHeap,
        out: list[cmd.Command],
        seq: Iterator[int],
    ) -> None:  # fmt: skip
        self._settings = settings
        self._roster = roster
        self._agents = roster.agents
        self._calls = calls
        self._timers = timers
        self._out = out
        self._seq = seq
        self._rng = random.Random(settings.seed)

    # ================================================================ queue entry
    def place(self, call: CallRt, q: QueueRt, now: float) -> None:
        """Admit `call` into `q` and match it, or send it along the overflow chain."""
        dest: QueueRt | None = q
        while dest is not None:
            refused = self._calls.admit(call, dest, now)
            if refused is None:
                self.match_call(call, now)
                return
            dest = self._calls.overflow(call, refused, now)

    def overflow(self, call: CallRt, reason: str, now: float) -> None:
        dest = self._calls.overflow(call, reason, now)
        if dest is not None:
            self.place(call, dest, now)

    def check_leave(self, queues: list[QueueRt], now: float) -> None:
        """Leave-when-empty: send the QUEUED callers of emptied queues to overflow."""
        for q in self._roster.emptied(list(queues)):
            for call in [c for c in q.waiting if c.state is _CS.QUEUED and not c.callback]:
                self.overflow(call, "empty", now)  # a callback waits for staff: no caller

    # ================================================================ call side
    def match_call(self, call: CallRt, now: float) -> None:
        """Call-side matching for a QUEUED call."""
        q = call.queue
        assert q is not None
        if not q.idle or (call.callback and now < call.not_before):
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
        if call.callback:  # one agent at a time, even in ring-all: never placed twice
            chosen = chosen[:1]
        if chosen:
            self._offer(call, chosen, now)

    # ================================================================ agent side
    def agent_ready(self, a: AgentRt, now: float) -> None:
        """`a` just became AVAILABLE: apply a deferred request, else find it work."""
        if a.pending is not None:
            pending = self._roster.take_pending(a)
            assert pending is not None
            self._roster.to(a, pending.trigger, now, pending.reason)
            self.check_leave(a.queues, now)
            return
        call = self._best_call_for(a, now)
        if call is not None:
            self._offer(call, [a], now)
            return
        self._roster.idle(a)

    def ready_all(self, agents: list[AgentRt], now: float) -> None:
        for a in agents:
            if a.state is _AS.AVAILABLE:
                self.agent_ready(a, now)

    def _best_call_for(self, a: AgentRt, now: float) -> CallRt | None:
        best: CallRt | None = None
        best_key: tuple[int, tuple[int, float, int]] | None = None
        skills = a.skills
        for q in a.queues:
            if not q.waiting or not q.capable(a):
                continue
            weight = -q.config.weight
            for call in q.waiting:  # sorted: the first eligible one is this queue's best
                if call.callback and now < call.not_before:
                    continue  # held back, keeping its place
                if call.state is _CS.QUEUED and eligible(skills, call.req):
                    key = (weight, call.key)
                    if best_key is None or key < best_key:
                        best, best_key = call, key
                    break
        return best

    # ================================================================ offers
    def _offer(self, call: CallRt, agents: list[AgentRt], now: float) -> None:
        q = call.queue
        assert q is not None
        timeout = q.config.offer_timeout
        for a in agents:
            token = next(self._seq)
            self._calls.to(call, _CT.OFFER)
            call.offers[a.agent_id] = token
            a.offers = call.call_id
            self._roster.to(a, _AT.OFFER, now)
            if q.config.strategy is Strategy.ROUND_ROBIN:
                q.rr_last = q.rr_order()[a.agent_id]
            self._out.append(cmd.OfferCall(call.call_id, a.agent_id, q.queue_id, timeout))
            self._timers.push(now + timeout, OfferTimer(call.call_id, a.agent_id, token))

    def answered(self, call: CallRt, a: AgentRt) -> None:
        """`a` answered its offer of `call`: the offer is over (not a failure)."""
        del call.offers[a.agent_id]
        a.offers = None
        a.no_answer = 0

    def offer_ended(
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
            self._calls.to(call, _CT.OFFERS_FAILED)
        limit_hit = False
        if failed:
            a.no_answer += 1
            limit_hit = a.no_answer >= self._settings.no_answer_pause_after
        if limit_hit:  # paused (or logged out): queues it leaves empty are emptied
            self._roster.auto_pause(a, now)  # first, so FIFO holds for their callers
            self.check_leave(a.queues, now)
        else:
            self._roster.to(a, _AT.OFFER_ENDED, now)
        if failed and call.state is _CS.QUEUED:
            self.match_call(call, now)
        if ready and a.state is _AS.AVAILABLE:
            self.agent_ready(a, now)

    def cancel_offers(self, call: CallRt, now: float, reason: str) -> list[AgentRt]:
        """Withdraw every offer of `call`; the freed agents are returned, not yet matched,
        so the caller can first move the call out of their reach (see `ready_all`)."""
        freed = [self._agents[agent_id] for agent_id in call.offers]
        for a in freed:
            self.offer_ended(call, a, now, reason=reason, failed=False, ready=False)
        return freed
