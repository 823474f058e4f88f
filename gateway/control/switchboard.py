"""The switchboard: every call session and the ACD feed, owned by one object.

Theory of operation
-------------------
Inputs come in through four doors, each given the current `Instant`:

* `worker_event(worker_id, event, now)` — what a worker reported (`p.Event`);
* `command_failed(call_id, command, error, now)` — a worker refused a command we sent;
* `feed(acd_event, now)` — an agent action from the API or presence;
* `handle_timer(now)` — `next_deadline()` was reached (ACD timers and our own).

Each returns the effects to carry out (`effects.py`); the switchboard does no I/O and
reads no clock, so stepped-clock tests drive it exactly. A session's phase changes only
through `phases.advance` (the one table). Events for the ACD engine go to a queue that
is drained after the current step: every command of one engine step is carried out
before the next event is fed, so no handler ever sees half-applied engine state.

Hang-up policy: the worker owns the hang-up of a bridged pair (the bridge is linked:
when either leg ends, the worker ends the other at once, with no round trip and even
with no control plane). The switchboard ends a leg only on its own decisions: a
refusal or announcement that is over, a withdrawn offer, the voicemail time limit, a
bridge that failed.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from acd import commands as cmd
from acd import events as ev
from acd.engine import Engine
from acd.errors import AcdError
from acd.model import TerminalAction
from gateway.control import effects as fx
from gateway.control.announcements import PromptSet
from gateway.control.clock import Instant
from gateway.control.flow_settings import TERMINAL_PROMPTS, FlowSettings
from gateway.control.phases import Phase, Trigger, advance
from gateway.control.session import (
    AgentLeg,
    AgentLegState,
    CallSession,
    Role,
    SessionIndex,
)
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.store.records import Disposition, OfferResult
from recordings.naming import recording_dir
from routing import Closed, RoutingTable, ToQueue, Unknown, Voicemail, resolve, uri_user

log = logging.getLogger(__name__)

OFFER_FAILURE_RESULTS: dict[ev.OfferFailure, OfferResult] = {
    ev.OfferFailure.NO_ANSWER: "no_answer",
    ev.OfferFailure.BUSY: "rejected",
    ev.OfferFailure.REJECTED: "rejected",
    ev.OfferFailure.UNREACHABLE: "failed",
}


def offer_failure(code: int) -> ev.OfferFailure:
    """How an agent leg's final SIP code counts against the offer."""
    if code in (486, 600):
        return ev.OfferFailure.BUSY
    if code in (603, 403):
        return ev.OfferFailure.REJECTED
    if code in (408, 480, 487, 0):
        return ev.OfferFailure.NO_ANSWER
    return ev.OfferFailure.UNREACHABLE


class TimerKind(enum.Enum):
    VOICEMAIL_LIMIT = "voicemail-limit"
    FINALISE = "finalise"


class Switchboard:
    def __init__(
        self,
        *,
        engine: Engine,
        settings: FlowSettings,
        prompts: PromptSet,
        routing: Callable[[], RoutingTable],
        new_call_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sessions = SessionIndex()
        self._prompts = prompts
        self._routing = routing
        self._new_call_id = new_call_id
        self._timers: list[tuple[float, int, str, TimerKind]] = []  # heap
        self._timer_seq = itertools.count()
        self._acd_inbox: deque[ev.Event] = deque()
        self._effects: list[fx.Effect] = []
        self._now = Instant(0.0, datetime.fromtimestamp(0, UTC))

    # ------------------------------------------------------------------ the doors
    def worker_event(self, worker_id: str, event: p.Event, now: Instant) -> list[fx.Effect]:
        return self._step(now, lambda: self._on_worker_event(worker_id, event))

    def command_failed(
        self, call_id: str, command: p.Command, error: WorkerError, now: Instant
    ) -> list[fx.Effect]:
        return self._step(now, lambda: self._on_command_failed(call_id, command, error))

    def feed(self, event: ev.Event, now: Instant) -> list[fx.Effect]:
        return self._step(now, lambda: self._acd_inbox.append(event))

    def handle_timer(self, now: Instant) -> list[fx.Effect]:
        return self._step(now, self._fire_timers)

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
                log.warning("ACD refused %r: %s", event, exc)
                continue
            for command in commands:
                self._on_acd_command(command)
        effects, self._effects = self._effects, []
        return effects

    def _emit(self, effect: fx.Effect) -> None:
        self._effects.append(effect)

    def _send(self, s: CallSession, command: p.Command) -> None:
        self._emit(fx.Send(s.call_id, s.worker_id, command))

    def _fire_timers(self) -> None:
        now = self._now.mono
        while self._timers and self._timers[0][0] <= now:
            _, _, call_id, kind = heapq.heappop(self._timers)
            s = self.sessions.by_call(call_id)
            if s is None:
                continue
            if kind is TimerKind.VOICEMAIL_LIMIT and s.phase is Phase.VOICEMAIL_RECORDING:
                advance(s, Trigger.TIME_LIMIT)
                s.hangup_by = "system"
                self._send(s, p.Hangup(leg=s.caller_leg, code=200, reason="voicemail limit"))
            elif kind is TimerKind.FINALISE and s.phase is Phase.ENDED:
                log.warning("call %s: finalised without waiting any longer", call_id)
                self._finalise(s, Trigger.TIMED_OUT)
        for command in self.engine.handle_timer(now):
            self._on_acd_command(command)

    def _set_timer(self, s: CallSession, kind: TimerKind, delay: float) -> None:
        entry = (self._now.mono + delay, next(self._timer_seq), s.call_id, kind)
        heapq.heappush(self._timers, entry)

    # ------------------------------------------------------------------ worker events
    def _on_worker_event(self, worker_id: str, event: p.Event) -> None:
        match event:
            case p.IncomingCall():
                self._arrived(worker_id, event)
            case p.LegStateChanged():
                self._leg_changed(event)
            case p.PlaybackDone():
                self._playback_done(event)
            case p.RecordingClosed():
                self._recording_closed(event)
            case p.RtpQuality():
                self._rtp_quality(event)
            case p.DtmfDigit():
                log.info("DTMF %s on %s", event.digit, event.leg)
            case p.CallRejected():
                log.info("worker %s refused INVITE %s: %s", worker_id, event.call_id, event.code)
                self._emit(fx.CountRefusedInvite(worker_id, event.code))
            case p.Capacity() | p.RegistrationState():
                pass  # the pool's and the trunks' business

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
        )
        self.sessions.add(s)
        self._emit(
            fx.OpenRecord(
                s.call_id, e.call_id, now, did or None, s.caller or None, e.trunk, worker_id, queue
            )
        )
        log.info("call %s from %s to %s on %s: %s", s.call_id, s.caller, did, worker_id,
                 type(decision).__name__)  # fmt: skip
        match decision:
            case ToQueue():
                self._enter_queue(s, decision)
            case Closed(action=Voicemail()):
                self._start_voicemail(s, "closed", answer=True)
            case Closed():
                prompt = getattr(decision.action, "prompt", None) or "closed"
                self._refuse(s, prompt, self.settings.closed_code, "closed")
            case Unknown():
                prompt = decision.action.prompt or "not_in_service"
                self._refuse(s, prompt, self.settings.unknown_did_code, "unknown_did")

    def _enter_queue(self, s: CallSession, route: ToQueue) -> None:
        advance(s, Trigger.QUEUE)
        greeting = self.settings.media_for(route.queue).greeting
        if greeting and self._prompts.exists(greeting):
            s.playing = str(self._prompts.path(greeting))
            self._send(s, p.Answer(leg=s.caller_leg, prompt=s.playing, loop=False))
        else:
            s.playing = self._music(s)
            self._send(s, p.Answer(leg=s.caller_leg, prompt=s.playing, loop=True))
        skills = {name: 1 for name in route.skills}
        self._acd_inbox.append(ev.CallArrived(s.call_id, route.queue, route.priority, skills))

    def _refuse(self, s: CallSession, prompt: str, code: int, why: Disposition) -> None:
        """Early media: the caller hears why, and the call is never answered (not billed)."""
        advance(s, Trigger.REFUSE)
        s.disposition, s.final_code, s.hangup_by = why, code, "system"
        self._announce_then_end(s, prompt, answer_code=183)

    def _announce_then_end(self, s: CallSession, prompt: str, answer_code: int | None) -> None:
        if prompt and self._prompts.exists(prompt):
            s.playing = str(self._prompts.path(prompt))
            if answer_code is None:
                self._send(s, p.Play(leg=s.caller_leg, path=s.playing))
            else:
                self._send(s, p.Answer(leg=s.caller_leg, code=answer_code, prompt=s.playing))
        else:
            advance(s, Trigger.PROMPT_DONE)
            self._send(s, p.Hangup(leg=s.caller_leg, code=s.final_code))

    def _start_voicemail(self, s: CallSession, why: Disposition, *, answer: bool) -> None:
        advance(s, Trigger.VOICEMAIL)
        s.disposition = why
        s.playing = str(self._prompts.voicemail_intro())
        if answer:
            self._send(s, p.Answer(leg=s.caller_leg, prompt=s.playing))
        else:
            self._send(s, p.Play(leg=s.caller_leg, path=s.playing))

    def _music(self, s: CallSession) -> str:
        return str(self._prompts.path(self.settings.media_for(s.queue).music))

    def _recording_path(self, s: CallSession, role: Role) -> str:
        folder = self.settings.recordings_dir / recording_dir(s.call_id, s.arrived_at)
        return str(Path(folder) / f"{role.value}.wav")

    def _playback_done(self, e: p.PlaybackDone) -> None:
        s = self.sessions.by_leg(e.leg)
        if s is None or s.caller_leg != e.leg or s.playing != e.path:
            return  # a stale event: something else has been played since
        s.playing = None
        match s.phase:
            case Phase.QUEUED:
                s.playing = self._music(s)
                self._send(s, p.Play(leg=s.caller_leg, path=s.playing, loop=True))
            case Phase.ANNOUNCING:
                advance(s, Trigger.PROMPT_DONE)
                self._send(s, p.Hangup(leg=s.caller_leg, code=s.final_code))
            case Phase.VOICEMAIL_PROMPT:
                advance(s, Trigger.PROMPT_DONE)
                s.recordings[Role.VOICEMAIL] = self._recording_path(s, Role.VOICEMAIL)
                self._send(s, p.RecordStart(leg=s.caller_leg, path=s.recordings[Role.VOICEMAIL]))
                self._set_timer(s, TimerKind.VOICEMAIL_LIMIT, self.settings.voicemail_max_seconds)

    def _recording_closed(self, e: p.RecordingClosed) -> None:
        s = self.sessions.by_leg(e.leg)
        if s is None:
            return
        role = next((r for r, path in s.recordings.items() if path == e.path), None)
        if role is not None:
            s.recordings_closed.add(role)
            self._maybe_finalise(s)

    def _rtp_quality(self, e: p.RtpQuality) -> None:
        s = self.sessions.by_leg(e.leg)
        if s is None:
            return
        if e.leg == s.caller_leg:
            role = Role.CALLER
        elif s.connected is not None and e.leg == s.connected.leg:
            role = Role.AGENT
        else:
            return  # an agent leg that only rang
        s.rtp[role] = {
            "rx_packets": e.rx_packets,
            "rx_loss": e.rx_loss,
            "rx_jitter_ms": e.rx_jitter_ms,
            "tx_packets": e.tx_packets,
            "tx_loss": e.tx_loss,
        }

    # ------------------------------------------------------------------ leg states
    def _leg_changed(self, e: p.LegStateChanged) -> None:
        s = self.sessions.by_leg(e.leg)
        if s is None:
            return
        if e.leg == s.caller_leg:
            if e.state is p.LegState.DISCONNECTED:
                self._caller_gone(s, e.code)
            return
        leg = s.agent_legs.get(e.leg)
        if leg is None:
            return
        if e.state is p.LegState.CONFIRMED:
            self._agent_answered(s, leg)
        elif e.state is p.LegState.DISCONNECTED:
            self._agent_leg_ended(s, leg, e.code)

    def _agent_answered(self, s: CallSession, leg: AgentLeg) -> None:
        if leg.state is AgentLegState.CANCELLING:
            # The 200 crossed our CANCEL: the call is up at the phone now; end it.
            self._send(s, p.Hangup(leg=leg.leg, code=200, reason="offer withdrawn"))
            return
        if leg.state is not AgentLegState.RINGING:
            return
        leg.state, leg.answered = AgentLegState.ANSWERED, True
        if s.phase is Phase.QUEUED:
            self._acd_inbox.append(ev.OfferAnswered(call_id=s.call_id, agent_id=leg.agent_id))
        else:  # the caller left or was diverted while the phone rang
            self._withdraw(s, leg, "offer withdrawn", "cancelled")

    def _agent_leg_ended(self, s: CallSession, leg: AgentLeg, code: int) -> None:
        previous, leg.state = leg.state, AgentLegState.ENDED
        if leg is s.connected:
            if s.phase is Phase.CONNECTED:  # the agent left first; the worker ends the caller
                s.hangup_by = "agent"
                advance(s, Trigger.AGENT_GONE)
                self._acd_inbox.append(ev.ConversationEnded(call_id=s.call_id))
        elif previous is AgentLegState.RINGING:
            failure = offer_failure(code)
            s.agent_sip_code = code
            self._emit(
                fx.EndOffer(s.call_id, leg.leg, OFFER_FAILURE_RESULTS[failure], self._now.wall,
                            code)
            )  # fmt: skip
            if s.phase is Phase.QUEUED:
                self._acd_inbox.append(ev.OfferFailed(s.call_id, leg.agent_id, failure))
        self._maybe_finalise(s)

    def _caller_gone(self, s: CallSession, code: int) -> None:
        if s.phase in (Phase.ENDED, Phase.FINALISED):
            return
        s.caller_sip_code, s.ended_at = code, self._now.wall
        match s.phase:
            case Phase.CONNECTED:  # the worker's linked bridge ends the agent's leg
                s.hangup_by = s.hangup_by or "caller"
                self._acd_inbox.append(ev.ConversationEnded(call_id=s.call_id))
            case Phase.QUEUED:
                s.hangup_by = "caller"
                s.disposition = "abandoned_ringing" if s.ringing() else "abandoned"
                self._acd_inbox.append(ev.CallerHungUp(call_id=s.call_id))
            case _:
                s.hangup_by = s.hangup_by or "caller"
        if s.disposition is None:  # gone before routing decided anything
            s.disposition = "failed"
        advance(s, Trigger.CALLER_GONE)
        self._set_timer(s, TimerKind.FINALISE, self.settings.finalize_timeout)
        self._maybe_finalise(s)

    def _withdraw(self, s: CallSession, leg: AgentLeg, reason: str, result: OfferResult) -> None:
        code = 487 if leg.state is AgentLegState.RINGING else 200
        leg.state = AgentLegState.CANCELLING
        self._send(s, p.Hangup(leg=leg.leg, code=code, reason=reason))
        self._emit(fx.EndOffer(s.call_id, leg.leg, result, self._now.wall))

    # ------------------------------------------------------------------ worker refusals
    def _on_command_failed(self, call_id: str, command: p.Command, error: WorkerError) -> None:
        s = self.sessions.by_call(call_id)
        if s is None:
            return
        log.warning("call %s: %s failed: %s", call_id, type(command).__name__, error)
        match command:
            case p.Dial(leg=str(name)) if name in s.agent_legs:
                leg = s.agent_legs[name]
                if leg.state is AgentLegState.RINGING:
                    leg.state = AgentLegState.ENDED
                    self._emit(fx.EndOffer(s.call_id, name, "failed", self._now.wall))
                    if s.phase is Phase.QUEUED:
                        failure = ev.OfferFailure.UNREACHABLE
                        self._acd_inbox.append(ev.OfferFailed(call_id, leg.agent_id, failure))
                elif leg.state is AgentLegState.CANCELLING:
                    leg.state = AgentLegState.ENDED
                self._maybe_finalise(s)
            case p.Bridge() if s.phase is Phase.CONNECTED:
                # No linked bridge, so nobody else will end the legs: we do.
                s.hangup_by = "agent"
                advance(s, Trigger.AGENT_GONE)
                self._acd_inbox.append(ev.ConversationEnded(call_id=s.call_id))
                self._send(s, p.Hangup(leg=command.b, code=200, reason="bridge failed"))
                self._send(s, p.Hangup(leg=s.caller_leg, code=200, reason="bridge failed"))
            case p.RecordStart():
                role = next((r for r, path in s.recordings.items() if path == command.path), None)
                if role is not None:  # nothing will be written: do not wait for it
                    del s.recordings[role]
                    self._maybe_finalise(s)

    # ------------------------------------------------------------------ ACD commands
    def _on_acd_command(self, command: cmd.Command) -> None:
        match command:
            case cmd.OfferCall():
                self._offer(command)
            case cmd.CancelOffer():
                self._cancel(command)
            case cmd.ConnectCall():
                self._connect(command)
            case cmd.Announce():
                self._announce(command)
            case cmd.Divert():
                self._divert(command)
            case cmd.Overflowed():
                self._overflowed(command)
            case cmd.AgentStateChanged():
                reason = command.reason or None
                self._emit(
                    fx.LogAgentState(command.agent_id, command.new.value, reason, self._now.wall)
                )
            case cmd.CallQueued() | cmd.CallAbandoned():
                pass  # the session already knows; metrics come from the engine's views

    def _queued(self, call_id: str) -> CallSession | None:
        s = self.sessions.by_call(call_id)
        return s if s is not None and s.phase is Phase.QUEUED else None

    def _offer(self, c: cmd.OfferCall) -> None:
        s = self._queued(c.call_id)
        if s is None:
            return  # the engine's offer timer ends it
        leg = AgentLeg(leg=s.next_agent_leg_name(), agent_id=c.agent_id, queue_id=c.queue_id)
        s.agent_legs[leg.leg] = leg
        self.sessions.bind_leg(leg.leg, s)
        self._emit(fx.StartOffer(s.call_id, leg.leg, c.agent_id, c.queue_id, self._now.wall))
        self._send(
            s,
            p.Dial(
                uri=self.settings.agent_uri(c.agent_id),
                leg=leg.leg,
                proxy=self.settings.edge_proxy,
                caller_id=f"sip:{s.caller or 'anonymous'}@{self.settings.domain}",
                headers={"X-Contactgw-Call": s.call_id, "X-Contactgw-Queue": c.queue_id},
                timeout=c.timeout + 5.0,  # the engine's timer ends it first
            ),
        )

    def _cancel(self, c: cmd.CancelOffer) -> None:
        s = self.sessions.by_call(c.call_id)
        if s is None:
            return
        result: OfferResult = "no_answer" if c.reason == "timeout" else "cancelled"
        for leg in list(s.agent_legs.values()):
            live = leg.state in (AgentLegState.RINGING, AgentLegState.ANSWERED)
            if leg.agent_id == c.agent_id and live and leg is not s.connected:
                self._withdraw(s, leg, c.reason, result)

    def _connect(self, c: cmd.ConnectCall) -> None:
        s = self._queued(c.call_id)
        leg = None
        if s is not None:
            leg = next(
                (
                    a
                    for a in s.agent_legs.values()
                    if a.agent_id == c.agent_id and a.state is AgentLegState.ANSWERED
                ),
                None,
            )
        if s is None or leg is None:  # gone between answer and connect: free the agent
            self._acd_inbox.append(ev.ConversationEnded(call_id=c.call_id))
            return
        advance(s, Trigger.CONNECT)
        s.connected, s.disposition, s.playing, s.agent_sip_code = leg, "answered", None, 200
        self._send(s, p.Bridge(a=s.caller_leg, b=leg.leg, linked=True))
        if self.settings.media_for(s.queue).record:
            for role, name in ((Role.CALLER, s.caller_leg), (Role.AGENT, leg.leg)):
                s.recordings[role] = self._recording_path(s, role)
                self._send(s, p.RecordStart(leg=name, path=s.recordings[role]))
        self._emit(fx.MarkAnswered(s.call_id, leg.leg, c.agent_id, self._now.wall))

    def _announce(self, c: cmd.Announce) -> None:
        s = self._queued(c.call_id)
        if s is None or (s.playing is not None and s.playing != self._music(s)):
            return  # never cut the greeting or a previous announcement short
        media = self.settings.media_for(s.queue)
        s.playing = str(
            self._prompts.position_and_wait(
                c.position if media.announce_position else 0,
                c.ewt_seconds if media.announce_ewt else None,
            )
        )
        self._send(s, p.Play(leg=s.caller_leg, path=s.playing, loop=False))

    def _overflowed(self, c: cmd.Overflowed) -> None:
        s = self._queued(c.call_id)
        if s is not None:
            s.queue = c.to_queue
            self._emit(fx.SetQueue(s.call_id, c.to_queue))

    def _divert(self, c: cmd.Divert) -> None:
        """The call leaves the ACD: voicemail, or an announcement then hang-up."""
        s = self._queued(c.call_id)
        if s is None:
            return
        s.hangup_by = "system"
        if c.action is TerminalAction.VOICEMAIL:
            self._start_voicemail(s, "voicemail", answer=False)
            return
        advance(s, Trigger.DIVERT)
        s.disposition, s.final_code = "overflow", 200
        self._announce_then_end(s, c.argument or TERMINAL_PROMPTS[c.action], answer_code=None)

    # ------------------------------------------------------------------ finalisation
    def _maybe_finalise(self, s: CallSession) -> None:
        if s.phase is Phase.ENDED and s.settled():
            self._finalise(s, Trigger.SETTLED)

    def _finalise(self, s: CallSession, trigger: Trigger) -> None:
        """Close the record once, complete: every leg's code and RTP report, the
        recordings (the driver makes the stereo file first). Forget the session."""
        advance(s, trigger)
        self.sessions.remove(s)
        assert s.disposition is not None and s.ended_at is not None  # set by _caller_gone
        self._emit(
            fx.CloseRecord(
                call_id=s.call_id,
                ended_at=s.ended_at,
                disposition=s.disposition,
                queue=s.queue,
                hangup_by=s.hangup_by,
                caller_sip_code=s.caller_sip_code,
                agent_sip_code=s.agent_sip_code,
                rtp_quality={r.value: dict(stats) for r, stats in s.rtp.items()} or None,
                recordings={r.value: path for r, path in s.recordings.items()},
            )
        )
