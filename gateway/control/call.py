"""One caller's visit: its session and every decision that changes it.

A `Call` owns its `CallSession`. It is told what its worker reported, what the ACD
engine decided about it, which of its commands a worker refused and which of its
timers fired; it answers through a small `CallHost` (the switchboard): effects out,
events for the engine, timers, finalisation. Phase changes go through
`phases.advance` only. Nothing here reads a clock (`host.now`) or does I/O.
"""

from __future__ import annotations

import enum
import logging
from pathlib import Path
from typing import Protocol

from acd import commands as cmd
from acd import events as ev
from acd.model import TerminalAction
from gateway.control import call_events
from gateway.control import effects as fx
from gateway.control.announcements import PromptSet
from gateway.control.clock import Instant
from gateway.control.flow_settings import TERMINAL_PROMPTS, FlowSettings
from gateway.control.hold import record_facts
from gateway.control.phases import Phase, Trigger, advance
from gateway.control.session import AgentLeg, AgentLegState, CallSession, Role
from gateway.control.transfer_segments import (
    forget_file,
    mark_closed,
    open_segment,
    segment_records,
)
from gateway.control.wrapups import WrapupNote
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.logsafe import printable
from gateway.store.records import Disposition, OfferResult
from recordings.naming import recording_dir
from routing import Closed, ToQueue, Unknown, Voicemail

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
    CALLBACK_OFFER = "callback-offer"  # the switchboard's callback desk plays the offer


class CallHost(Protocol):
    """What a call needs from its owner for the current step."""

    settings: FlowSettings
    prompts: PromptSet

    @property
    def now(self) -> Instant: ...

    def emit(self, effect: fx.Effect, *, closing: bool = False) -> None:
        """`closing`: after the engine commands of this step (call.ended, records)."""

    def feed_acd(self, event: ev.Event) -> None: ...

    def set_timer(self, call: Call, kind: TimerKind, delay: float) -> None: ...

    def bind_leg(self, leg: str, call: Call) -> None: ...

    def queue_position(self, call: Call) -> int | None: ...

    def finalise(self, call: Call, trigger: Trigger) -> None: ...


class Call:
    def __init__(
        self, session: CallSession, host: CallHost, arrival: ev.CallArrived | None = None
    ) -> None:
        self.session = session
        self._host = host
        # for the ACD once the caller confirms (given: a call adopted before its ACK)
        self._arrival: ev.CallArrived | None = arrival

    @property
    def call_id(self) -> str:
        return self.session.call_id

    def _send(self, command: p.Command) -> None:
        s = self.session
        self._host.emit(fx.Send(s.call_id, s.worker_id, command))

    # ------------------------------------------------------------------ routing
    def route(self, decision: ToQueue | Closed | Unknown) -> None:
        settings = self._host.settings
        match decision:
            case ToQueue():
                self._enter_queue(decision)
            case Closed(action=Voicemail(mailbox=box)):
                self._start_voicemail("closed", answer=True, box=box or decision.queue)
            case Closed():
                prompt = getattr(decision.action, "prompt", None) or "closed"
                self._refuse(prompt, settings.closed_code, "closed")
            case Unknown():
                prompt = decision.action.prompt or "not_in_service"
                self._refuse(prompt, settings.unknown_did_code, "unknown_did")

    def _enter_queue(self, route: ToQueue) -> None:
        s, prompts = self.session, self._host.prompts
        advance(s, Trigger.QUEUE)
        greeting = self._host.settings.media_for(route.queue).greeting
        if greeting and prompts.exists(greeting):
            s.playing = str(prompts.path(greeting))
            self._send(p.Answer(leg=s.caller_leg, prompt=s.playing, loop=False))
        else:
            s.playing = self._music()
            self._send(p.Answer(leg=s.caller_leg, prompt=s.playing, loop=True))
        # Offered to agents only once the caller's ACK confirms the call: a 200 that is
        # never acknowledged (Timer H) must not take an agent.
        skills = {name: 1 for name in route.skills}
        self._arrival = ev.CallArrived(s.call_id, route.queue, route.priority, skills)

    def _refuse(self, prompt: str, code: int, why: Disposition) -> None:
        """Early media: the caller hears why, and the call is never answered (not billed)."""
        s = self.session
        advance(s, Trigger.REFUSE)
        s.disposition, s.final_code, s.hangup_by = why, code, "system"
        self._announce_then_end(prompt, answer_code=183)

    def _announce_then_end(self, prompt: str, answer_code: int | None) -> None:
        s, prompts = self.session, self._host.prompts
        if prompt and prompts.exists(prompt):
            s.playing = str(prompts.path(prompt))
            if answer_code is None:
                self._send(p.Play(leg=s.caller_leg, path=s.playing))
            else:
                self._send(p.Answer(leg=s.caller_leg, code=answer_code, prompt=s.playing))
        else:
            advance(s, Trigger.PROMPT_DONE)
            self._send(p.Hangup(leg=s.caller_leg, code=s.final_code))

    def _start_voicemail(self, why: Disposition, *, answer: bool, box: str | None) -> None:
        """`box`: the routing action's name, else the queue's (docs/voicemail.md)."""
        s = self.session
        advance(s, Trigger.VOICEMAIL)
        s.disposition, s.voicemail_box = why, box or s.queue
        s.playing = str(self._host.prompts.voicemail_intro())
        if answer:
            self._send(p.Answer(leg=s.caller_leg, prompt=s.playing))
        else:
            self._send(p.Play(leg=s.caller_leg, path=s.playing))

    def _music(self) -> str:
        return str(self._host.prompts.path(self._host.settings.media_for(self.session.queue).music))

    def _recording_path(self, role: Role) -> str:
        s = self.session
        folder = self._host.settings.recordings_dir / recording_dir(s.call_id, s.arrived_at)
        return str(Path(folder) / f"{role.value}.wav")

    # ------------------------------------------------------------------ worker reports
    def playback_done(self, e: p.PlaybackDone) -> None:
        s = self.session
        if s.caller_leg != e.leg or s.playing != e.path:
            return  # a stale event: something else has been played since
        s.playing = None
        match s.phase:
            case Phase.QUEUED | Phase.ANSWERING:
                s.playing = self._music()
                self._send(p.Play(leg=s.caller_leg, path=s.playing, loop=True))
            case Phase.ANNOUNCING:
                advance(s, Trigger.PROMPT_DONE)
                self._send(p.Hangup(leg=s.caller_leg, code=s.final_code))
            case Phase.VOICEMAIL_PROMPT:
                advance(s, Trigger.PROMPT_DONE)
                s.recordings[Role.VOICEMAIL] = self._recording_path(Role.VOICEMAIL)
                self._send(p.RecordStart(leg=s.caller_leg, path=s.recordings[Role.VOICEMAIL]))
                limit = self._host.settings.voicemail_max_seconds
                self._host.set_timer(self, TimerKind.VOICEMAIL_LIMIT, limit)

    def recording_closed(self, e: p.RecordingClosed) -> None:
        s = self.session
        role = next((r for r, path in s.recordings.items() if path == e.path), None)
        if role is not None:
            s.recordings_closed.add(role)
            self._maybe_finalise()
        elif mark_closed(s.segments, e.path):
            self._maybe_finalise()

    def rtp_quality(self, e: p.RtpQuality) -> None:
        s = self.session
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

    def leg_changed(self, e: p.LegStateChanged) -> None:
        s = self.session
        if e.leg == s.caller_leg:
            if e.state is p.LegState.DISCONNECTED:
                self._caller_gone(e.code)
            elif e.state is p.LegState.CONFIRMED and s.phase is Phase.ANSWERING:
                advance(s, Trigger.CONFIRMED)
                assert self._arrival is not None  # set on entering ANSWERING
                self._host.feed_acd(self._arrival)
            return
        leg = s.agent_legs.get(e.leg)
        if leg is None:
            return
        if e.state is p.LegState.CONFIRMED:
            self._agent_answered(leg)
        elif e.state is p.LegState.DISCONNECTED:
            self._agent_leg_ended(leg, e.code)

    def _agent_answered(self, leg: AgentLeg) -> None:
        s = self.session
        if leg.state is AgentLegState.CANCELLING:
            # The 200 crossed our CANCEL: the call is up at the phone now; end it.
            self._send(p.Hangup(leg=leg.leg, code=200, reason="offer withdrawn"))
            return
        if leg.state is not AgentLegState.RINGING:
            return
        leg.state, leg.answered = AgentLegState.ANSWERED, True
        if s.phase is Phase.QUEUED:
            self._host.feed_acd(ev.OfferAnswered(call_id=s.call_id, agent_id=leg.agent_id))
        else:  # the caller left or was diverted while the phone rang
            self._withdraw(leg, "offer withdrawn", "cancelled")

    def _agent_leg_ended(self, leg: AgentLeg, code: int) -> None:
        s = self.session
        previous, leg.state = leg.state, AgentLegState.ENDED
        if leg is s.connected:
            if s.phase is Phase.CONNECTED:  # the agent left first; the worker ends the caller
                s.hangup_by = "agent"
                advance(s, Trigger.AGENT_GONE)
                self._host.feed_acd(ev.ConversationEnded(call_id=s.call_id))
        elif previous is AgentLegState.RINGING:
            failure = offer_failure(code)
            s.agent_sip_code = code
            self._end_offer(leg, OFFER_FAILURE_RESULTS[failure], failure.value, code)
            if s.phase is Phase.QUEUED:
                self._host.feed_acd(ev.OfferFailed(s.call_id, leg.agent_id, failure))
        self._maybe_finalise()

    def _end_offer(
        self, leg: AgentLeg, result: OfferResult, why: ce.OfferFailureReason, code: int | None
    ) -> None:
        s = self.session
        failed = ce.CallOfferFailed(s.call_id, leg.queue_id, leg.agent_id, why, code)
        self._host.emit(fx.EndOffer(s.call_id, leg.leg, result, self._host.now.wall, code,
                                    events=(failed,)))  # fmt: skip

    def _caller_gone(self, code: int) -> None:
        s, now = self.session, self._host.now
        if s.phase in (Phase.ENDED, Phase.FINALISED):
            return
        s.caller_sip_code, s.ended_at = code, now.wall
        events: list[ce.Event] = []
        match s.phase:
            case Phase.CONNECTED:  # the worker's linked bridge ends the agent's leg
                s.hangup_by = s.hangup_by or "caller"
                self._host.feed_acd(ev.ConversationEnded(call_id=s.call_id))
            case Phase.QUEUED:
                s.hangup_by = "caller"
                s.disposition = "abandoned_ringing" if s.ringing() else "abandoned"
                position = self._host.queue_position(self)
                events.append(call_events.abandoned(s, position, now.wall))
                self._host.feed_acd(ev.CallerHungUp(call_id=s.call_id))
            case Phase.ANSWERING:  # never confirmed: pjsip gave up waiting for the ACK
                s.hangup_by = "caller" if code == 200 else "system"
                log.warning("call %s: the caller never confirmed the answer (%s)", s.call_id,
                            code)  # fmt: skip
            case _:
                s.hangup_by = s.hangup_by or "caller"
        if s.disposition is None:  # gone before routing decided anything
            s.disposition = "failed"
        advance(s, Trigger.CALLER_GONE)
        events.append(call_events.ended(s))
        self._host.emit(fx.Emit(s.call_id, tuple(events), now.wall), closing=True)
        self._host.set_timer(self, TimerKind.FINALISE, self._host.settings.finalize_timeout)
        self._maybe_finalise()

    def _withdraw(self, leg: AgentLeg, reason: str, result: OfferResult) -> None:
        code = 487 if leg.state is AgentLegState.RINGING else 200
        leg.state = AgentLegState.CANCELLING
        self._send(p.Hangup(leg=leg.leg, code=code, reason=reason))
        self._end_offer(leg, result, "no-answer" if result == "no_answer" else "cancelled", None)

    def command_failed(self, command: p.Command, error: WorkerError) -> None:
        s = self.session
        log.warning("call %s: %s failed: %s", s.call_id, type(command).__name__, printable(error))
        match command:
            case p.Dial(leg=str(name)) if name in s.agent_legs:
                leg = s.agent_legs[name]
                if leg.state is AgentLegState.RINGING:
                    leg.state = AgentLegState.ENDED
                    self._end_offer(leg, "failed", "unreachable", None)
                    if s.phase is Phase.QUEUED:
                        failure = ev.OfferFailure.UNREACHABLE
                        self._host.feed_acd(ev.OfferFailed(s.call_id, leg.agent_id, failure))
                elif leg.state is AgentLegState.CANCELLING:
                    leg.state = AgentLegState.ENDED
                self._maybe_finalise()
            case p.Bridge() if s.phase is Phase.CONNECTED:
                # No linked bridge, so nobody else will end the legs: we do.
                s.hangup_by = "agent"
                advance(s, Trigger.AGENT_GONE)
                self._host.feed_acd(ev.ConversationEnded(call_id=s.call_id))
                self._send(p.Hangup(leg=command.b, code=200, reason="bridge failed"))
                self._send(p.Hangup(leg=s.caller_leg, code=200, reason="bridge failed"))
            case p.RecordStart():
                role = next((r for r, path in s.recordings.items() if path == command.path), None)
                if role is not None:  # nothing will be written: do not wait for it
                    del s.recordings[role]
                    self._maybe_finalise()
                elif forget_file(s.segments, command.path):
                    self._maybe_finalise()

    def timer(self, kind: TimerKind) -> None:
        s = self.session
        if kind is TimerKind.VOICEMAIL_LIMIT and s.phase is Phase.VOICEMAIL_RECORDING:
            advance(s, Trigger.TIME_LIMIT)
            s.hangup_by = "system"
            self._send(p.Hangup(leg=s.caller_leg, code=200, reason="voicemail limit"))
        elif kind is TimerKind.FINALISE and s.phase is Phase.ENDED:
            log.warning("call %s: finalised without waiting any longer", s.call_id)
            self._host.finalise(self, Trigger.TIMED_OUT)

    # ------------------------------------------------------------------ ACD commands
    def acd_command(self, command: cmd.Command) -> None:
        s = self.session
        if isinstance(command, cmd.CancelOffer):
            self._cancel(command)  # also after the caller left: the ring must stop
            return
        if s.phase is not Phase.QUEUED:
            if isinstance(command, cmd.ConnectCall):  # gone before connect: free the agent
                self._host.feed_acd(ev.ConversationEnded(call_id=s.call_id))
            return  # the engine's own timers end whatever else it started
        match command:
            case cmd.OfferCall():
                self._offer(command)
            case cmd.ConnectCall():
                self._connect(command)
            case cmd.Announce():
                self._announce(command)
            case cmd.Divert():
                self._divert(command)
            case cmd.Overflowed():
                s.queue = command.to_queue
                moved = ce.CallOverflowed(s.call_id, command.to_queue, command.from_queue,
                                          command.reason)  # fmt: skip
                self._host.emit(fx.SetQueue(s.call_id, command.to_queue, self._host.now.wall,
                                            (moved,)))  # fmt: skip
            case cmd.CallQueued():
                if s.first_position is None:
                    s.first_position = command.position
                queued = ce.CallQueued(s.call_id, command.queue_id, command.position, s.priority)
                self._host.emit(fx.Emit(s.call_id, (queued,), self._host.now.wall))

    def _offer(self, c: cmd.OfferCall) -> None:
        s, settings = self.session, self._host.settings
        leg = AgentLeg(leg=s.next_agent_leg_name(), agent_id=c.agent_id, queue_id=c.queue_id)
        s.agent_legs[leg.leg] = leg
        self._host.bind_leg(leg.leg, self)
        offered = ce.CallOffered(s.call_id, c.queue_id, c.agent_id, c.timeout, s.dialled)
        self._host.emit(fx.StartOffer(s.call_id, leg.leg, c.agent_id, c.queue_id,
                                      self._host.now.wall, (offered,)))  # fmt: skip
        self._send(
            p.Dial(
                uri=settings.agent_uri(c.agent_id),
                leg=leg.leg,
                proxy=settings.edge_proxy,
                caller_id=f"sip:{s.caller or 'anonymous'}@{settings.domain}",
                headers={
                    "X-Contactgw-Call": s.call_id,
                    "X-Contactgw-Queue": c.queue_id,
                    **settings.call_info(s.call_id),
                },
                timeout=c.timeout + 5.0,  # the engine's timer ends it first
            )
        )

    def _cancel(self, c: cmd.CancelOffer) -> None:
        s = self.session
        result: OfferResult = "no_answer" if c.reason == "timeout" else "cancelled"
        for leg in list(s.agent_legs.values()):
            live = leg.state in (AgentLegState.RINGING, AgentLegState.ANSWERED)
            if leg.agent_id == c.agent_id and live and leg is not s.connected:
                self._withdraw(leg, c.reason, result)

    def _connect(self, c: cmd.ConnectCall) -> None:
        s, now = self.session, self._host.now
        leg = next(
            (
                a
                for a in s.agent_legs.values()
                if a.agent_id == c.agent_id and a.state is AgentLegState.ANSWERED
            ),
            None,
        )
        if leg is None:  # the agent's leg vanished between answer and connect
            self._host.feed_acd(ev.ConversationEnded(call_id=c.call_id))
            return
        advance(s, Trigger.CONNECT)
        s.connected, s.disposition, s.playing, s.agent_sip_code = leg, "answered", None, 200
        s.answered_at = now.wall
        self._send(p.Bridge(a=s.caller_leg, b=leg.leg, linked=True))
        if self._host.settings.media_for(s.queue).record:
            if s.requeued_by is not None and s.recordings:
                self._requeued_segment(s, leg.leg, c.agent_id, s.requeued_by)
            for role, name in ((Role.CALLER, s.caller_leg), (Role.AGENT, leg.leg)):
                if role in s.recordings:  # re-queued by a transfer: never overwrite a file
                    continue
                s.recordings[role] = self._recording_path(role)
                self._send(p.RecordStart(leg=name, path=s.recordings[role]))
        s.requeued_by = None
        answered = ce.CallAnswered(s.call_id, c.queue_id, c.agent_id, round(c.wait_seconds, 3))
        self._host.emit(fx.MarkAnswered(s.call_id, leg.leg, c.agent_id, now.wall, (answered,)))

    def _requeued_segment(self, s: CallSession, leg: str, agent: str, by: tuple[str, str]) -> None:
        """A caller re-queued by a blind transfer reached its next agent: segment N, its
        own recording pair, like a transfer's direct target (transfer_segments.py)."""
        transfer_id, previous_agent = by
        folder = self._host.settings.recordings_dir / recording_dir(s.call_id, s.arrived_at)
        files = open_segment(
            s.segments, agent=agent, leg=leg, at=self._host.now.wall,
            transfer_id=transfer_id, previous_agent=previous_agent, folder=folder,
            caller_leg=s.caller_leg,
        )  # fmt: skip
        for name, path in files:  # the worker closes the caller's previous file itself
            self._send(p.RecordStart(leg=name, path=path))

    def _announce(self, c: cmd.Announce) -> None:
        s = self.session
        if s.playing is not None and s.playing != self._music():
            return  # never cut the greeting or a previous announcement short
        media = self._host.settings.media_for(s.queue)
        s.playing = str(
            self._host.prompts.position_and_wait(
                c.position if media.announce_position else 0,
                c.ewt_seconds if media.announce_ewt else None,
            )
        )
        self._send(p.Play(leg=s.caller_leg, path=s.playing, loop=False))

    def _divert(self, c: cmd.Divert) -> None:
        """The call leaves the ACD: voicemail, or an announcement then hang-up."""
        s = self.session
        s.hangup_by = "system"
        if c.action is TerminalAction.VOICEMAIL:
            self._start_voicemail("voicemail", answer=False, box=c.argument)
            return
        advance(s, Trigger.DIVERT)
        s.disposition, s.final_code = "overflow", 200
        self._announce_then_end(c.argument or TERMINAL_PROMPTS[c.action], answer_code=None)

    # ------------------------------------------------------------------ finalisation
    def _maybe_finalise(self) -> None:
        if self.session.phase is Phase.ENDED and self.session.settled():
            self._host.finalise(self, Trigger.SETTLED)

    def close_record(
        self, *, complete: bool, wrapup: dict[str, float] | None,
        notes: tuple[WrapupNote, ...] = (),
    ) -> fx.CloseRecord:  # fmt: skip
        """The record's final write: every leg's code and RTP report, the recordings (the
        driver makes the stereo file first), and call.completed if nothing is pending."""
        s = self.session
        assert s.disposition is not None and s.ended_at is not None  # set by _caller_gone
        return fx.CloseRecord(
            call_id=s.call_id,
            ended_at=s.ended_at,
            disposition=s.disposition,
            queue=s.queue,
            caller=s.caller or None,
            did=s.did or None,
            hangup_by=s.hangup_by,
            caller_sip_code=s.caller_sip_code,
            agent_sip_code=s.agent_sip_code,
            rtp_quality={r.value: dict(stats) for r, stats in s.rtp.items()} or None,
            recordings={r.value: path for r, path in s.recordings.items()},
            voicemail_box=s.voicemail_box,
            segments=segment_records(
                s.call_id, s.answered_at, {r.value: p for r, p in s.recordings.items()}, s.segments
            ),
            **record_facts(s, self._host.now.mono),  # hold, monitoring, PCI (docs/in-call.md)
            events=(call_events.completed(s, wrapup, notes),) if complete else (),
            last=complete,
        )
