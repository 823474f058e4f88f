"""The call flow, worker-event half: what the control plane does when a worker reports.

Theory of operation
-------------------
An incoming leg is routed (routing.resolve) into one of three paths:

* a queue: answer with the queue's greeting, then music on hold; the call enters the
  ACD, whose commands (acd_actions.py) dial agents, bridge, announce and divert;
* closed or unknown number: early media (183) with the announcement, then a final
  error response (480 / 404) when it ends, so the carrier does not bill an answer;
* voicemail (closed action): answer, prompt and beep, then record the caller.

Agent legs report back here too: "confirmed" is the agent answering (fed to the ACD
as OfferAnswered), a failure before answer becomes OfferFailed, a hang-up after
answer ends the conversation. A session is finalised (call record closed, stereo
recording made) once the caller's leg is gone, every agent leg has ended and every
recording started has been closed by its worker (or a timeout passed: a worker that
died cannot report, and its WAV headers are repaired by the supervisor).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict
from pathlib import Path

from acd import events as ev
from gateway.control.acd_driver import AcdDriver
from gateway.control.context import CallContext
from gateway.control.recording import finalize_recordings
from gateway.control.sessions import AgentLeg, CallSession, Phase
from gateway.ipc import protocol as p
from gateway.store.records import Disposition, OfferResult
from gateway.supervisor.handle import CommandFailed
from recordings.naming import recording_dir
from routing import Closed, ToQueue, Unknown, Voicemail, resolve, uri_user

log = logging.getLogger(__name__)


OFFER_RESULTS: dict[ev.OfferFailure, OfferResult] = {
    ev.OfferFailure.NO_ANSWER: "no_answer",
    ev.OfferFailure.BUSY: "rejected",
    ev.OfferFailure.REJECTED: "rejected",
    ev.OfferFailure.UNREACHABLE: "failed",
}


def offer_failure(code: int) -> ev.OfferFailure:
    if code in (486, 600):
        return ev.OfferFailure.BUSY
    if code in (603, 403):
        return ev.OfferFailure.REJECTED
    if code in (408, 480, 487, 0):
        return ev.OfferFailure.NO_ANSWER
    return ev.OfferFailure.UNREACHABLE


class CallFlow:
    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acd: AcdDriver | None = None  # set by the daemon once the engine runs
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ dispatch
    def on_worker_event(self, worker_id: str, event: object) -> None:
        match event:
            case p.IncomingCall():
                self._incoming(worker_id, event)
            case p.LegState():
                self._leg_state(event)
            case p.PlaybackDone():
                self._playback_done(event)
            case p.RecordingClosed():
                self._recording_closed(event)
            case p.RtpQuality():
                self._rtp_quality(event)
            case p.DtmfDigit():
                log.info("DTMF %s on %s", event.digit, event.leg)
            case p.CallRejected():
                log.warning(
                    "worker %s refused call %s: %s %s",
                    worker_id,
                    event.call_id,
                    event.code,
                    event.reason,
                )
                self.ctx.metrics.call_ended(disposition="failed", queue=None)

    def send(self, s: CallSession, cmd: object) -> None:
        async def step() -> None:
            try:
                await self.ctx.pool.command(s.worker_id, cmd)
            except CommandFailed as exc:
                # Hanging up a leg the worker already ended (linked bridge, race with the
                # far end's BYE) is the intended outcome, not an error.
                if isinstance(cmd, p.Hangup) and exc.code == p.E_NO_SUCH_LEG:
                    return
                raise

        s.media.then(step)

    def feed(self, event: ev.Event) -> None:
        assert self.acd is not None
        self.acd.feed(event)

    # ------------------------------------------------------------------ arrival
    def _incoming(self, worker_id: str, e: p.IncomingCall) -> None:
        ctx = self.ctx
        now = ctx.wall_clock()
        # The edge names the trunk that admitted the call; some carriers put the DID in To.
        request_uri = None if e.trunk in ctx.settings.did_from_to else e.request_uri
        decision = resolve(request_uri, e.to_uri, ctx.routing(), now)
        did = (
            getattr(decision, "did_e164", None)
            or getattr(decision, "did", None)
            or uri_user(e.request_uri)
            or ""
        )
        caller = uri_user(e.pai or e.from_uri) or ""
        call_uuid = ctx.new_call_id()
        s = CallSession(
            call_id=str(call_uuid),
            sip_call_id=e.call_id,
            worker_id=worker_id,
            caller_leg=e.leg,
            did=did,
            caller=caller,
            arrived_at=now,
        )
        ctx.sessions.add(s)
        queue = decision.queue if isinstance(decision, ToQueue | Closed) else None
        s.cdr.then(
            lambda: ctx.cdr.record_call_arrived(
                call_id=call_uuid,
                sip_call_id=e.call_id,
                arrived_at=now,
                did=did or None,
                caller=caller or None,
                trunk=e.trunk,
                worker=worker_id,
                queue=queue,
            )
        )
        log.info(
            "call %s from %s to %s on %s: %s",
            s.call_id,
            caller,
            did,
            worker_id,
            type(decision).__name__,
        )
        match decision:
            case ToQueue():
                self._enter_queue(s, decision)
            case Closed(action=Voicemail()):
                s.queue = decision.queue
                self.start_voicemail(s, "closed", answer=True)
            case Closed():
                s.queue = decision.queue
                prompt = getattr(decision.action, "prompt", None) or "closed"
                self._reject_with_announcement(s, prompt, ctx.settings.closed_code, "closed")
            case Unknown():
                prompt = decision.action.prompt or "not_in_service"
                self._reject_with_announcement(
                    s, prompt, ctx.settings.unknown_did_code, "unknown_did"
                )

    def music(self, s: CallSession) -> str:
        """The hold music of the caller's queue."""
        return str(self.ctx.prompts.path(self.ctx.settings.media_for(s.queue).music))

    def _enter_queue(self, s: CallSession, route: ToQueue) -> None:
        s.queue, s.phase = route.queue, Phase.QUEUED
        greeting = self.ctx.settings.media_for(route.queue).greeting
        if greeting and self.ctx.prompts.exists(greeting):
            s.playing = str(self.ctx.prompts.path(greeting))
            self.send(s, p.Answer(leg=s.caller_leg, prompt=s.playing, loop=False))
        else:
            s.playing = self.music(s)
            self.send(s, p.Answer(leg=s.caller_leg, prompt=s.playing, loop=True))
        self.feed(
            ev.CallArrived(
                call_id=s.call_id,
                queue_id=route.queue,
                priority=route.priority,
                skills={name: 1 for name in route.skills},
            )
        )

    def _reject_with_announcement(
        self, s: CallSession, prompt: str, code: int, disposition: Disposition
    ) -> None:
        """Early media: the caller hears why, and the call is never answered."""
        s.phase, s.disposition, s.hangup_code = Phase.ANNOUNCING, disposition, code
        s.hangup_by = "system"
        if self.ctx.prompts.exists(prompt):
            s.playing = str(self.ctx.prompts.path(prompt))
            self.send(s, p.Answer(leg=s.caller_leg, code=183, prompt=s.playing))
        else:
            self.send(s, p.Hangup(leg=s.caller_leg, code=code))

    def start_voicemail(self, s: CallSession, disposition: Disposition, answer: bool) -> None:
        s.phase, s.disposition = Phase.VOICEMAIL, disposition
        intro = self.ctx.prompts.voicemail_intro()
        s.playing = str(intro)
        if answer:
            self.send(s, p.Answer(leg=s.caller_leg, prompt=s.playing))
        else:
            self.send(s, p.Play(leg=s.caller_leg, path=s.playing))

    # ------------------------------------------------------------------ media events
    def _playback_done(self, e: p.PlaybackDone) -> None:
        s = self.ctx.sessions.by_leg(e.leg)
        if s is None or s.caller_leg != e.leg or s.playing != e.path or s.caller_gone:
            return  # a stale event: something else has been played since
        s.playing = None
        if s.phase is Phase.QUEUED:
            s.playing = self.music(s)
            self.send(s, p.Play(leg=s.caller_leg, path=s.playing, loop=True))
        elif s.phase is Phase.ANNOUNCING:
            self.send(s, p.Hangup(leg=s.caller_leg, code=s.hangup_code))
        elif s.phase is Phase.VOICEMAIL:
            path = self.recording_dir(s) / "voicemail.wav"
            s.recordings["voicemail"] = str(path)
            self.send(s, p.RecordStart(leg=s.caller_leg, path=str(path)))
            self._loop.call_later(self.ctx.settings.voicemail_max_seconds, self._end_voicemail, s)

    def _end_voicemail(self, s: CallSession) -> None:
        if not s.caller_gone:
            s.hangup_by = "system"
            self.send(s, p.Hangup(leg=s.caller_leg, code=200))

    def recording_dir(self, s: CallSession) -> Path:
        path = self.ctx.settings.recordings_dir / recording_dir(s.call_id, s.arrived_at)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _recording_closed(self, e: p.RecordingClosed) -> None:
        s = self.ctx.sessions.by_leg(e.leg)
        if s is None:
            return
        role = next((r for r, path in s.recordings.items() if path == e.path), None)
        if role is not None:
            s.recordings_closed.add(role)
            self.maybe_finalize(s)

    def _rtp_quality(self, e: p.RtpQuality) -> None:
        s = self.ctx.sessions.by_leg(e.leg)
        if s is not None:
            role = "caller" if e.leg == s.caller_leg else "agent"
            stats = asdict(e)
            stats.pop("leg", None)
            s.rtp[role] = stats

    # ------------------------------------------------------------------ leg states
    def _leg_state(self, e: p.LegState) -> None:
        s = self.ctx.sessions.by_leg(e.leg)
        if s is None:
            return
        if e.leg == s.caller_leg:
            if e.state == "disconnected":
                self._caller_gone(s, e.code)
            return
        leg = s.agent_legs.get(e.leg)
        if leg is None:
            return
        if e.state == "confirmed":
            self._agent_answered(s, leg)
        elif e.state == "disconnected":
            self._agent_leg_ended(s, leg, e.code)

    def _agent_answered(self, s: CallSession, leg: AgentLeg) -> None:
        leg.answered = True
        if leg.cancelled or s.caller_gone:
            self.send(s, p.Hangup(leg=leg.leg, code=200, reason="offer cancelled"))
            return
        self.feed(ev.OfferAnswered(call_id=s.call_id, agent_id=leg.agent_id))

    def _agent_leg_ended(self, s: CallSession, leg: AgentLeg, code: int) -> None:
        leg.ended = True
        if not leg.cancelled:
            s.agent_sip_code = code
        if s.connected_leg == leg.leg:
            if not s.caller_gone:
                s.hangup_by = s.hangup_by or "agent"
            self.conversation_over(s)
            # The worker's linked bridge hangs the caller up; say so explicitly in case
            # the bridge was not linked yet when the agent left.
            if not s.caller_gone:
                self.send(s, p.Hangup(leg=s.caller_leg, code=200))
        elif not leg.answered and not leg.cancelled:
            failure = offer_failure(code)
            self.record_offer_end(s, leg, OFFER_RESULTS[failure], code)
            if not s.caller_gone:
                self.feed(ev.OfferFailed(call_id=s.call_id, agent_id=leg.agent_id, reason=failure))
        self.maybe_finalize(s)

    def record_offer_end(
        self, s: CallSession, leg: AgentLeg, result: OfferResult, code: int | None = None
    ) -> None:
        at = self.ctx.wall_clock()

        async def step() -> None:
            if leg.offer_id is not None:
                await self.ctx.cdr.record_offer_ended(
                    offer_id=leg.offer_id,
                    result=result,
                    ended_at=at,
                    sip_code=code,
                )

        s.cdr.then(step)

    def conversation_over(self, s: CallSession) -> None:
        if not s.conversation_ended:
            s.conversation_ended = True
            self.feed(ev.ConversationEnded(call_id=s.call_id))

    def _caller_gone(self, s: CallSession, code: int) -> None:
        if s.caller_gone:
            return
        s.caller_gone, s.sip_code = True, code
        if s.phase is Phase.CONNECTED:
            s.hangup_by = s.hangup_by or "caller"
            self.conversation_over(s)
            if s.connected_leg:  # the linked bridge does it too; BYE is idempotent
                self.send(s, p.Hangup(leg=s.connected_leg, code=200))
        elif s.phase is Phase.QUEUED:
            s.hangup_by = "caller"
            s.disposition = "abandoned_ringing" if s.ringing_legs() else "abandoned"
            self.feed(ev.CallerHungUp(call_id=s.call_id))
        if s.disposition is None:  # gone before routing decided anything
            s.disposition = "failed"
        s.phase = Phase.ENDED
        self._close_record(s, s.disposition)
        self._loop.call_later(self.ctx.settings.finalize_timeout, self.finalize, s)
        self.maybe_finalize(s)

    def _close_record(self, s: CallSession, disposition: Disposition) -> None:
        ctx, call_uuid = self.ctx, uuid.UUID(s.call_id)
        ended_at, agent_code = ctx.wall_clock(), s.agent_sip_code
        ctx.metrics.call_ended(disposition=disposition, queue=s.queue)
        rtp = dict(s.rtp) if s.rtp else None
        s.cdr.then(
            lambda: ctx.cdr.record_ended(
                call_id=call_uuid,
                ended_at=ended_at,
                disposition=disposition,
                hangup_by=s.hangup_by,
                caller_sip_code=s.sip_code,
                agent_sip_code=agent_code,
                rtp_quality=rtp,
            )
        )

    # ------------------------------------------------------------------ finalisation
    def maybe_finalize(self, s: CallSession) -> None:
        if not s.caller_gone or s.finalized:
            return
        if any(not leg.ended for leg in s.agent_legs.values()):
            return
        if set(s.recordings) - s.recordings_closed:
            return
        self.finalize(s)

    def finalize(self, s: CallSession) -> None:
        """Make the stereo file, store the paths, forget the session (runs once)."""
        if s.finalized:
            return
        s.finalized = True
        self.ctx.sessions.remove(s)  # the caller's and the agents' legs too
        if not s.recordings:
            return
        ctx = self.ctx

        async def step() -> None:
            stereo = await asyncio.to_thread(
                finalize_recordings, s.recordings, ctx.settings.make_stereo
            )
            await ctx.cdr.record_recordings(
                call_id=uuid.UUID(s.call_id),
                stereo=stereo,
                caller=s.recordings.get("caller") or s.recordings.get("voicemail"),
                agent=s.recordings.get("agent"),
            )

        s.cdr.then(step)
