"""The switchboard: every call and the ACD feed, owned by one object.

Theory of operation
-------------------
Inputs come in through four doors, each given the current `Instant`:

* `worker_event(worker_id, event, now)` — what a worker reported (`p.Event`);
* `command_failed(call_id, command, error, now)` — a worker refused a command we sent;
* `feed(acd_event, now)` — an agent action from the API or presence;
* `handle_timer(now)` — `next_deadline()` was reached (ACD timers and the calls').

Each returns the effects to carry out (`effects.py`); the switchboard does no I/O and
reads no clock, so stepped-clock tests drive it exactly. It routes each input to the
`Call` it concerns (by leg or call id), which decides; a session's phase changes only
through `phases.advance` (the one table). Events for the ACD engine go to a queue that
is drained after the current input: every command of one engine step is carried out
before the next event is fed, so no handler ever sees half-applied engine state.
`call.ended` and the closing of records are emitted after the step's engine commands,
so they follow the events those commands cause (offers withdrawn, ...).

Hang-up policy: the worker owns the hang-up of a bridged pair (the bridge is linked:
when either leg ends, the worker ends the other at once, with no round trip and even
with no control plane). A call ends a leg only on its own decisions: a refusal or
announcement that is over, a withdrawn offer, the voicemail time limit, a bridge that
failed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from acd import commands as cmd
from acd import events as ev
from acd.callback_events import CallbackKept, CallbackRemoved
from acd.engine import Engine
from acd.errors import AcdError
from gateway.control import adoption, call_events, session_note
from gateway.control import effects as fx
from gateway.control.agent_times import AgentTimes
from gateway.control.announcements import PromptSet
from gateway.control.call import Call, TimerKind
from gateway.control.callback_desk import CallbackDesk
from gateway.control.caller_name import display_name
from gateway.control.clock import Instant
from gateway.control.flow_settings import FlowSettings
from gateway.control.hold_desk import InCallDesk
from gateway.control.phases import LIVE, Phase, Trigger, advance
from gateway.control.session import CallSession
from gateway.control.transfer import TransferDesk, TransferSettings
from gateway.control.wrapups import Wrapups
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.logsafe import printable
from routing import Closed, RoutingTable, ToQueue, Unknown, Voicemail, resolve, uri_user

log = logging.getLogger(__name__)
T = TypeVar("T")


class CallIndex:
    """Live calls by our call id and by leg name (legs are unique across the pool:
    worker ids prefix incoming legs, and the legs we dial carry the call id)."""

    def __init__(self) -> None:
        self._by_call: dict[str, Call] = {}
        self._by_leg: dict[str, Call] = {}

    def add(self, call: Call) -> None:
        self._by_call[call.call_id] = call
        self._by_leg[call.session.caller_leg] = call

    def bind_leg(self, leg: str, call: Call) -> None:
        self._by_leg[leg] = call

    def by_call(self, call_id: str) -> Call | None:
        return self._by_call.get(call_id)

    def by_leg(self, leg: str) -> Call | None:
        return self._by_leg.get(leg)

    def remove(self, call: Call) -> None:
        self._by_call.pop(call.call_id, None)
        s = call.session
        for leg in [s.caller_leg, *s.agent_legs, *(m.leg for m in s.monitors)]:
            self._by_leg.pop(leg, None)

    def sessions(self) -> Iterator[CallSession]:
        return iter([c.session for c in self._by_call.values()])

    def __len__(self) -> int:
        return len(self._by_call)


class Switchboard:
    """Owns the calls, the engine feed and the timers; implements `CallHost`."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: FlowSettings,
        prompts: PromptSet,
        routing: Callable[[], RoutingTable],
        new_call_id: Callable[[], uuid.UUID] = uuid.uuid4,
        transfers: TransferSettings | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.prompts = prompts
        self.calls = CallIndex()
        self._routing = routing
        self._new_call_id = new_call_id
        self._timers: list[tuple[float, int, str, TimerKind]] = []  # heap
        self._timer_seq = itertools.count()
        self._acd_inbox: deque[ev.Event] = deque()
        self._agent_times = AgentTimes()
        self.wrapups = Wrapups()  # agents' wrap-up codes and notes, until call.completed
        self._effects: list[fx.Effect] = []
        self._closing: list[fx.Effect] = []
        self._now = Instant(0.0, datetime.fromtimestamp(0, UTC))
        self.transfers = TransferDesk(self, transfers or TransferSettings())
        self.callbacks = CallbackDesk(self)  # queued callbacks (callback_desk.py)
        self.incall = InCallDesk(self, settings.pci_codes)  # hold, monitor, PCI (hold_desk.py)
        self.transfers.unhold = lambda call: self.incall.resume(call, "api", "transfer")
        self._noted: dict[str, Phase] = {}  # the phase of each call's last Annotate
        self._snapshots: dict[str, list[p.LegSnapshot]] = {}  # by worker, until SnapshotDone

    # ------------------------------------------------------------------ the doors
    def worker_event(self, worker_id: str, event: p.Event, now: Instant) -> list[fx.Effect]:
        return self._step(now, lambda: self._on_worker_event(worker_id, event))

    def command_failed(
        self, call_id: str, command: p.Command, error: WorkerError, now: Instant
    ) -> list[fx.Effect]:
        def route() -> None:
            call = self.calls.by_call(call_id)
            if isinstance(command, p.Annotate):  # a note is only for a restart: no call flow
                return
            if call is None or self.incall.command_failed(call, command, error):
                return
            if not self.transfers.command_failed(call, command, error):
                call.command_failed(command, error)

        return self._step(now, route)

    def feed(self, event: ev.Event, now: Instant) -> list[fx.Effect]:
        return self._step(now, lambda: self._acd_inbox.append(event))

    def handle_timer(self, now: Instant) -> list[fx.Effect]:
        return self._step(now, self._fire_timers)

    def act(self, now: Instant, action: Callable[[], T]) -> tuple[T, list[fx.Effect]]:
        """An API request on the calls (transfers): its answer and the effects. `action`
        raises (a `ControlError`) before it changes anything."""
        answer: list[T] = []
        effects = self._step(now, lambda: answer.append(action()))
        return answer[0], effects

    def agent_since(self, agent: str) -> float | None:
        """When (monotonic) `agent` entered its current state (the wallboard's time in
        state); None: no change seen since the gateway started."""
        return self._agent_times.since(agent)

    def agent_call(self, agent: str) -> str | None:
        """The call an agent is being offered, talking on or wrapping up (the desktop)."""
        view = self.engine.agent(agent)
        return view.call_id or view.offered_call

    def open_session(self, call_id: str) -> CallSession | None:
        """A call whose call.completed is still to come: up, or finalised while its
        agent wraps up (the agent desktop's wrap-up goes into that event)."""
        call = self.calls.by_call(call_id)
        return call.session if call is not None else self._agent_times.awaiting_session(call_id)

    def next_deadline(self) -> float | None:
        ours = self._timers[0][0] if self._timers else None
        engine = self.engine.next_deadline()
        return min((d for d in (ours, engine) if d is not None), default=None)

    def _step(self, now: Instant, action: Callable[[], None]) -> list[fx.Effect]:
        self._now = now
        action()
        while self._acd_inbox:
            event = self._acd_inbox.popleft()
            try:
                commands = self.engine.handle(event, now.mono)
            except AcdError as exc:
                log.warning("ACD refused %s: %s", printable(repr(event)), exc)
                continue
            for command in commands:
                self._on_acd_command(command)
        self._annotate()
        effects = self._effects + self._closing
        self._effects, self._closing = [], []
        return effects

    # ------------------------------------------------------------------ CallHost
    @property
    def now(self) -> Instant:
        return self._now

    def emit(self, effect: fx.Effect, *, closing: bool = False) -> None:
        (self._closing if closing else self._effects).append(effect)

    def new_id(self) -> uuid.UUID:
        return self._new_call_id()

    def feed_acd(self, event: ev.Event) -> None:
        self._acd_inbox.append(event)

    def set_timer(self, call: Call, kind: TimerKind, delay: float) -> None:
        entry = (self._now.mono + delay, next(self._timer_seq), call.call_id, kind)
        heapq.heappush(self._timers, entry)

    def bind_leg(self, leg: str, call: Call) -> None:
        self.calls.bind_leg(leg, call)

    def queue_position(self, call: Call) -> int | None:
        queue = call.session.queue
        waiting = self.engine.waiting(queue) if queue in self.engine.queue_ids() else []
        return waiting.index(call.call_id) + 1 if call.call_id in waiting else None

    def finalise(self, call: Call, trigger: Trigger) -> None:
        """Forget the call and close its record, once, complete."""
        advance(call.session, trigger)
        self.calls.remove(call)
        complete, wrapup = self._agent_times.finalised(call.session)
        notes = self.wrapups.take(call.call_id) if complete else ()
        self.emit(call.close_record(complete=complete, wrapup=wrapup, notes=notes), closing=True)

    # ------------------------------------------------------------------ adoption
    def _annotate(self) -> None:
        """One Annotate per phase change of a live call: the worker keeps the session
        with the caller's leg for a control plane that adopts it (session_note.py)."""
        for s in self.calls.sessions():
            if self._noted.get(s.call_id) is not s.phase and s.caller_leg and s.phase in LIVE:
                self._noted[s.call_id] = s.phase
                note = session_note.to_note(s, self._now.mono)
                self.emit(fx.Send(s.call_id, s.worker_id, p.Annotate(s.caller_leg, note)))
        if len(self._noted) > len(self.calls):
            self._noted = {k: v for k, v in self._noted.items() if self.calls.by_call(k)}

    def _adopt(self, worker_id: str, snapshots: list[p.LegSnapshot]) -> None:
        """A resumed worker's calls, rebuilt (adoption.py), then its replayed events."""
        music = lambda queue: str(self.prompts.path(self.settings.media_for(queue).music))
        done = adoption.rebuild(worker_id, snapshots, self._now, music)
        for a in done.calls:
            call = Call(a.session, self, a.arrival)
            self.calls.add(call)
            for leg in a.session.agent_legs:
                self.calls.bind_leg(leg, call)
            if a.noted is not None:  # the worker has that note: a new one only if it moved
                self._noted[call.call_id] = a.noted
        for call_id, command in done.commands:
            self.emit(fx.Send(call_id or "", worker_id, command))
        self._acd_inbox.extend(done.acd)
        log.warning(
            "worker %s adopted: %d legs, %d calls continue, %d back in line, %d awaiting "
            "the ACK, %d ended", worker_id, len(snapshots), done.count("continued"),
            done.count("requeued"), done.count("confirming"), done.count("finished"),
        )  # fmt: skip

    # ------------------------------------------------------------------ dispatch
    def _fire_timers(self) -> None:
        now = self._now.mono
        while self._timers and self._timers[0][0] <= now:
            _, _, call_id, kind = heapq.heappop(self._timers)
            if (call := self.calls.by_call(call_id)) is None:
                continue
            if kind is TimerKind.CALLBACK_OFFER:
                self.callbacks.offer_due(call)
            else:
                call.timer(kind)
        for command in self.engine.handle_timer(now):
            self._on_acd_command(command)

    def _on_worker_event(self, worker_id: str, event: p.Event) -> None:
        match event:
            case p.IncomingCall():
                self._arrived(worker_id, event)
            case p.LegStateChanged() | p.PlaybackDone() | p.RecordingClosed() | p.RtpQuality():
                call = self.calls.by_leg(event.leg)
                if call is None:
                    return
                match event:
                    case p.LegStateChanged():
                        self.callbacks.leg_changed(call, event)
                        if self.incall.leg_changed(call, event):
                            return  # a supervisor's leg
                        if not self.transfers.leg_changed(call, event):
                            call.leg_changed(event)
                    case p.PlaybackDone():
                        call.playback_done(event)
                    case p.RecordingClosed():
                        call.recording_closed(event)
                    case p.RtpQuality():
                        call.rtp_quality(event)
            case p.DtmfDigit():
                log.info("DTMF %s on %s", printable(event.digit), event.leg)
                if (call := self.calls.by_leg(event.leg)) is not None:
                    self.callbacks.dtmf(call, event.digit)
                    self.incall.dtmf(call, event)  # PCI codes, supervisor's 4/5/6
            case p.LegHold():
                if (call := self.calls.by_leg(event.leg)) is not None:
                    self.incall.leg_hold(call, event)
            case p.CallRejected():
                log.info(
                    "worker %s refused INVITE %s: %s",
                    worker_id,
                    printable(event.call_id),
                    event.code,
                )
                self.emit(fx.CountRefusedInvite(worker_id, event.code))
            case p.TransferRequested():
                if (call := self.calls.by_leg(event.leg)) is not None:
                    self.transfers.refer(call, event)
            case p.Capacity():
                self.transfers.capacity(worker_id, event)  # a transfer needs a free leg
                self.incall.capacity(worker_id, event)  # and so does a supervisor
            case p.RegistrationState():
                pass  # the trunks' business
            case p.LegSnapshot():  # a resumed worker's legs, then SnapshotDone (adoption.py)
                self._snapshots.setdefault(worker_id, []).append(event)
            case p.SnapshotDone():
                self._adopt(worker_id, self._snapshots.pop(worker_id, []))

    def _on_acd_command(self, command: cmd.Command) -> None:
        if isinstance(command, cmd.AgentStateChanged):
            self._agent_state_changed(command)
            return
        if isinstance(command, cmd.CallAbandoned):
            return  # the call reported it when the caller's leg went
        if isinstance(command, CallbackKept | CallbackRemoved):
            self.callbacks.notice(command)
            return
        call = self.calls.by_call(command.call_id)
        if call is not None:
            call.acd_command(command)
            if isinstance(command, cmd.CallQueued):
                self.callbacks.queued(call)
        elif isinstance(command, cmd.ConnectCall):  # gone before connect: free the agent
            self.feed_acd(ev.ConversationEnded(call_id=command.call_id))

    def _arrived(self, worker_id: str, e: p.IncomingCall) -> None:
        now = self._now.wall
        # The edge names the trunk that admitted the call; some carriers put the DID in To.
        request_uri = None if e.trunk in self.settings.did_from_to else e.request_uri
        decision = resolve(request_uri, e.to_uri, self._routing(), now)
        queue = decision.queue if isinstance(decision, ToQueue | Closed) else None
        number = decision.did if isinstance(decision, Unknown) else decision.did_e164
        did = number or uri_user(e.request_uri) or ""
        s = CallSession(
            call_id=str(self._new_call_id()),
            sip_call_id=e.call_id,
            worker_id=worker_id,
            caller_leg=e.leg,
            did=did,
            caller=uri_user(e.pai or e.from_uri) or "",
            trunk=e.trunk,
            arrived_at=now,
            queue=queue,
            caller_name=display_name(e.from_uri),
        )
        route: ce.RouteKind
        match decision:
            case ToQueue():
                route, s.priority = "queue", decision.priority
            case Closed(action=Voicemail()):
                route = "voicemail"
            case Closed():
                route = "closed"
            case Unknown():
                route = "unknown"
        call = Call(s, self)
        self.calls.add(call)
        self.emit(
            fx.OpenRecord(
                s.call_id, e.call_id, now, did or None, s.caller or None, e.trunk, worker_id, queue,
                events=(call_events.received(s, route),), caller_name=s.caller_name,
            )
        )  # fmt: skip
        log.info("call %s from %s to %s on %s: %s",
                 s.call_id, printable(s.caller), printable(did), worker_id, route)  # fmt: skip
        call.route(decision)

    def _agent_state_changed(self, c: cmd.AgentStateChanged) -> None:
        view = self.engine.agent(c.agent_id)
        call_id = view.call_id or view.offered_call
        spent, completed = self._agent_times.changed(
            c.agent_id, c.old, c.new, call_id, self._now.mono
        )
        change = ce.AgentStateChanged(
            agent=c.agent_id, state=c.new.value, previous_state=c.old.value,
            seconds_in_previous=spent, reason=c.reason or None, call_id=call_id,
        )  # fmt: skip
        self.emit(
            fx.LogAgentState(c.agent_id, c.new.value, c.reason or None, self._now.wall, (change,))
        )
        if completed is not None:  # a finalised call's wrap-up is over: its last event
            s, wrapup = completed
            summary = call_events.completed(s, wrapup, self.wrapups.take(s.call_id))
            self.emit(fx.Emit(s.call_id, (summary,), self._now.wall, last=True))
