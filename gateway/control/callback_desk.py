"""The switchboard's queued callbacks: the offer to waiting callers, their confirmation,
one outbound session per attempt, retries, the window, and the supervisors' changes
(docs/callback.md). No I/O: store writes are `CallbackChange` effects, run in order.

Caller side (the caller's own `Call`): `offer_after` seconds after it entered the queue
the caller hears the offer; its key takes the call's ACD entry over as a held callback
(`CallbackRequested`, renamed to the first attempt's id, held until confirmed: it keeps
its place, agents ringing for it are freed); the dialogue (callback_dialog.py) reads the
number back and confirms; then the row is stored with callback.requested, the entry is
released (`CallbackRescheduled` to now, or the window's opening) and the caller hears
goodbye. A caller who hangs up mid-dialogue leaves the line (abandoned).

Outbound side: each attempt is a `CallbackCall` (callback_call.py) named by its ACD
entry id, which is the attempt's call record id. A failed attempt is retried
`retry_interval` later, up to `retries` more times, from the original arrival time: a
retry goes back to its old place and is held there until due (the policy in
docs/callback.md). A starting gateway re-creates one attempt per active row (`restore`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from acd import commands as cmd
from acd.callback_events import (
    CallbackCancelled,
    CallbackQueued,
    CallbackRemoved,
    CallbackRequested,
    CallbackRescheduled,
)
from gateway.control import effects as fx
from gateway.control.announcements import concatenate
from gateway.control.call import Call, TimerKind
from gateway.control.callback_call import CallbackCall
from gateway.control.callback_dialog import CallbackDialog, key_prompt
from gateway.control.callback_plan import CallbackPlan
from gateway.control.errors import Conflict, NotFound
from gateway.control.phases import Phase, Trigger, advance
from gateway.control.session import CallSession
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.store import callbacks as cbs
from gateway.store.callbacks import CallbackTask

if TYPE_CHECKING:
    from gateway.control.switchboard import Switchboard

log = logging.getLogger(__name__)
RETRY_OFFER = 5.0  # seconds: the offer waits for a greeting or announcement to end


class CallbackDesk:
    def __init__(self, board: Switchboard) -> None:
        self._board = board
        self.workers: Callable[[], Sequence[str]] = lambda: ()  # the daemon's live workers
        self.attempts: dict[str, CallbackCall] = {}  # callback id -> its current attempt
        self._dialogs: dict[str, tuple[CallbackDialog, str, str]] = {}  # call -> (, cb, entry)
        self._armed: weakref.WeakSet[Call] = weakref.WeakSet()  # offer timer set
        self._heard: weakref.WeakSet[Call] = weakref.WeakSet()  # offer played: key works

    # ------------------------------------------------------------------ caller side
    def queued(self, call: Call) -> None:
        """The call entered a queue (CallQueued): arm the offer once per call."""
        plan = self._board.settings.callback_for(call.session.queue)
        if plan is None or isinstance(call, CallbackCall) or call in self._armed:
            return
        self._armed.add(call)
        self._board.set_timer(call, TimerKind.CALLBACK_OFFER, plan.options.offer_after)

    def offer_due(self, call: Call) -> None:
        s, board = call.session, self._board
        plan = board.settings.callback_for(s.queue)
        if plan is None or s.phase is not Phase.QUEUED:
            return
        music = str(board.prompts.path(board.settings.media_for(s.queue).music))
        if s.playing not in (None, music):  # never cut the greeting or an announcement
            board.set_timer(call, TimerKind.CALLBACK_OFFER, RETRY_OFFER)
            return
        self._play(call, ["callback_offer", key_prompt(plan.options.key)])
        self._heard.add(call)

    def dtmf(self, call: Call, digit: str) -> None:
        s = call.session
        plan = self._board.settings.callback_for(s.queue)
        if plan is None or isinstance(call, CallbackCall):
            return
        if s.phase is Phase.QUEUED and call in self._heard and digit == plan.options.key:
            callback_id, entry = str(self._board.new_id()), str(self._board.new_id())
            # held (not_before = inf) while the caller confirms: the place is kept
            self._board.feed_acd(CallbackRequested(s.call_id, math.inf, entry))
            advance(s, Trigger.CALLBACK_KEY)
            dialog = CallbackDialog(s.caller, plan.region)
            self._dialogs[s.call_id] = (dialog, callback_id, entry)
            self._play(call, dialog.start())
        elif s.phase is Phase.CALLBACK_OFFER and s.call_id in self._dialogs:
            dialog, callback_id, entry = self._dialogs[s.call_id]
            step = dialog.digit(digit)
            if step.play:
                self._play(call, step.play)
            if step.confirmed is not None:
                self._confirm(call, plan, callback_id, entry, step.confirmed)

    def leg_changed(self, call: Call, e: p.LegStateChanged) -> None:
        """Before the call sees it: a caller who leaves mid-dialogue leaves the line."""
        s = call.session
        gone = e.leg == s.caller_leg and e.state is p.LegState.DISCONNECTED
        if gone and s.phase is Phase.CALLBACK_OFFER and s.call_id in self._dialogs:
            _, _, entry = self._dialogs.pop(s.call_id)
            self._board.feed_acd(CallbackCancelled(entry))
            s.disposition, s.hangup_by = "abandoned", "caller"

    def _confirm(
        self, call: Call, plan: CallbackPlan, callback_id: str, entry: str, number: str
    ) -> None:
        s, now = call.session, self._board.now
        del self._dialogs[s.call_id]
        assert s.queue is not None
        task = CallbackTask(
            id=uuid.UUID(callback_id), call_id=uuid.UUID(s.call_id), queue=s.queue,
            number=number, did=s.did or None, priority=s.priority, arrived_at=s.arrived_at,
            requested_at=now.wall,
        )  # fmt: skip
        waiting = (
            self._board.engine.waiting(s.queue) if s.queue in self._board.engine.queue_ids() else []
        )
        position = waiting.index(entry) + 1 if entry in waiting else None
        event = ce.CallbackRequested(callback_id, s.call_id, s.queue, number, position)
        self._board.emit(fx.CallbackChange(callback_id, now.wall, task=task, events=(event,)))
        s.disposition, s.hangup_by, s.final_code = "callback", "system", 200
        advance(s, Trigger.CALLBACK_CONFIRM)  # ANNOUNCING: goodbye (already playing), hang up
        self._attempt(task, plan, entry, fresh=False)

    # ------------------------------------------------------------------ attempts
    def _attempt(
        self, task: CallbackTask, plan: CallbackPlan, entry: str, *, fresh: bool
    ) -> CallbackCall:
        """The session for ACD entry `entry`: in line at the original arrival (`fresh`:
        a new entry; else the caller's, renamed) and held until it may be dialled."""
        board, now = self._board, self._board.now
        s = CallSession(
            call_id=entry, sip_call_id="", worker_id=self.pick_worker(),
            caller_leg=f"{entry}-c", did=(plan.options.caller_id or task.did or "").lstrip("+"),
            caller=task.number, trunk=plan.options.trunk, arrived_at=now.wall,
            queue=task.queue, priority=task.priority,
        )  # fmt: skip
        call = CallbackCall(s, board, self, task, plan)
        board.calls.add(call)
        self.attempts[str(task.id)] = call
        due = self._mono(plan.next_dial(max(now.wall, task.not_before or now.wall)))
        if fresh:
            arrival = self._mono(task.arrived_at)
            board.feed_acd(
                CallbackQueued(entry, task.queue, arrival, task.priority, not_before=due)
            )
        else:
            board.feed_acd(CallbackRescheduled(entry, due))
        return call

    def hold_until_window(self, call: CallbackCall) -> None:
        """Offered outside the dialling window: back to its place until it opens."""
        opening = call.plan.next_dial(self._board.now.wall)
        self._board.feed_acd(CallbackRescheduled(call.call_id, self._mono(opening)))

    def dialing(self, call: CallbackCall, agent: str) -> None:
        now, task = self._board.now.wall, call.task
        call.task = cbs.dialing(task, agent, uuid.UUID(call.call_id), now)
        event = ce.CallbackDialing(str(task.id), str(task.call_id), task.queue, agent,
                                   task.number, call.task.attempts, call.call_id)  # fmt: skip
        self._change(task, lambda t: cbs.dialing(t, agent, uuid.UUID(call.call_id), now), event)

    def completed(self, call: CallbackCall, agent: str) -> ce.CallbackCompleted:
        now, task = self._board.now.wall, call.task
        self.attempts.pop(str(task.id), None)
        call.task = cbs.completed(task, now)
        event = ce.CallbackCompleted(str(task.id), str(task.call_id), task.queue, agent,
                                     task.attempts, call.call_id)  # fmt: skip
        self._change(task, lambda t: cbs.completed(t, now))
        return event

    def attempt_failed(
        self, call: CallbackCall, reason: ce.CallbackFailure, code: int | None
    ) -> None:
        now, task = self._board.now.wall, call.task
        if self.attempts.get(str(task.id)) is not call:
            return  # reported already (an agent who left, then the customer's leg)
        del self.attempts[str(task.id)]
        if task.state != "dialing":  # the agent left during the whisper: not an attempt
            self._attempt(task, call.plan, str(self._board.new_id()), fresh=True)
            return
        options = call.plan.options
        retry_at = None
        if task.attempts <= options.retries:
            retry_at = call.plan.next_dial(now + timedelta(seconds=options.retry_interval))
        result = f"{reason} {code}" if code else reason
        event = ce.CallbackFailed(str(task.id), str(task.call_id), task.queue, task.attempts,
                                  reason, code, retry_at)  # fmt: skip
        self._change(task, lambda t: cbs.attempt_failed(t, result, retry_at, now), event)
        if retry_at is not None:
            retry = cbs.attempt_failed(task, result, retry_at, now)
            self._attempt(retry, call.plan, str(self._board.new_id()), fresh=True)

    # ------------------------------------------------------------------ supervisors, restart
    def cancel(self, callback_id: str, by: str) -> CallbackTask:
        call = self._waiting(callback_id)
        task = cbs.cancel(call.task, by, self._board.now.wall)
        self._board.feed_acd(CallbackCancelled(call.call_id))
        self._board.calls.remove(call)
        del self.attempts[callback_id]
        event = ce.CallbackCancelled(callback_id, str(task.call_id), task.queue, by)
        now = self._board.now.wall
        self._change(task, lambda t: cbs.cancel(t, by, now), event)
        return task

    def reschedule(self, callback_id: str, at: datetime, by: str) -> CallbackTask:
        call, now = self._waiting(callback_id), self._board.now.wall
        call.task = task = cbs.reschedule(call.task, at, by, now)
        due = call.plan.next_dial(max(at, now))
        self._board.feed_acd(CallbackRescheduled(call.call_id, self._mono(due)))
        self._change(task, lambda t: cbs.reschedule(t, at, by, now))
        return task

    def restore(self, tasks: Sequence[CallbackTask]) -> int:
        """A starting gateway: each active callback back at its place, once."""
        placed = 0
        for task in tasks:
            plan = self._board.settings.callback_for(task.queue)
            if plan is None or str(task.id) in self.attempts:
                log.warning("callback %s: queue %s offers no callbacks now; left pending",
                            task.id, task.queue)  # fmt: skip
                continue
            self._attempt(task, plan, str(self._board.new_id()), fresh=True)
            placed += 1
        return placed

    def notice(self, command: CallbackRemoved | cmd.Command) -> None:
        if isinstance(command, CallbackRemoved) and command.reason != "cancelled":
            log.warning("callback entry %s left queue %s: %s", command.call_id,
                        command.queue_id, command.reason)  # fmt: skip

    # ------------------------------------------------------------------ helpers
    def _waiting(self, callback_id: str) -> CallbackCall:
        call = self.attempts.get(callback_id)
        if call is None:
            raise NotFound(f"callback {callback_id} is not pending")
        if not call.waiting:
            raise Conflict(f"callback {callback_id} is being dialled ({call.session.phase.value})")
        return call

    def _change(
        self, task: CallbackTask, step: Callable[[CallbackTask], CallbackTask],
        event: ce.Event | None = None,
    ) -> None:  # fmt: skip
        self._board.emit(fx.CallbackChange(str(task.id), self._board.now.wall, step=step,
                                           events=(event,) if event else ()))  # fmt: skip

    def _mono(self, wall: datetime) -> float:
        now = self._board.now
        return now.mono + (wall - now.wall).total_seconds()

    def pick_worker(self) -> str:
        """The live worker with the fewest sessions (a callback needs two legs in one)."""
        load: dict[str, int] = dict.fromkeys(self.workers(), 0)
        for s in self._board.calls.sessions():
            if s.worker_id in load:
                load[s.worker_id] += 1
        return min(load, key=lambda w: (load[w], w)) if load else "w1"

    def compose(self, names: list[str]) -> Path:
        """One WAV of several prompts (the worker plays one file per command), cached."""
        prompts = self._board.prompts
        key = hashlib.sha256("|".join(names).encode()).hexdigest()[:16]
        out = prompts.cache_dir / f"callback_{key}.wav"
        if not out.is_file():
            prompts.cache_dir.mkdir(parents=True, exist_ok=True)
            concatenate([prompts.path(n) for n in names], out)
        return out

    def _play(self, call: Call, names: list[str]) -> None:
        s = call.session
        s.playing = str(self.compose(names))
        self._board.emit(fx.Send(s.call_id, s.worker_id, p.Play(leg=s.caller_leg, path=s.playing)))
