"""The call flow, ACD half: carrying out the engine's commands on workers and records.

The engine decides (who rings, when to give up, where a call overflows); this module
only translates each command into worker commands, call-record writes and metrics.
Offers become agent legs dialled by the caller's own worker through the edge (the
bridge is in-process, so both legs must live on one worker).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from acd import commands as cmd
from acd import events as ev
from acd.model import TerminalAction
from gateway.control.callflow import CallFlow
from gateway.control.context import TERMINAL_PROMPTS
from gateway.control.sessions import AgentLeg, CallSession, Phase
from gateway.ipc import protocol as p
from gateway.store.records import OfferResult
from gateway.supervisor.handle import CommandFailed

log = logging.getLogger(__name__)

AgentStateListener = Callable[[cmd.AgentStateChanged], None]


class AcdActions:
    """The sink for AcdDriver: one method per engine command."""

    def __init__(self, flow: CallFlow, on_agent_state: AgentStateListener) -> None:
        self.flow = flow
        self.ctx = flow.ctx
        self._on_agent_state = on_agent_state

    def __call__(self, command: cmd.Command) -> None:
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
                self._on_agent_state(command)
            case cmd.CallQueued() | cmd.CallAbandoned():
                pass  # the flow already knows; metrics come from the engine's views

    def _session(self, call_id: str) -> CallSession | None:
        s = self.ctx.sessions.by_call(call_id)
        return None if s is None or s.caller_gone else s

    # ------------------------------------------------------------------ offers
    def _offer(self, c: cmd.OfferCall) -> None:
        s = self._session(c.call_id)
        if s is None:
            return
        ctx, now = self.ctx, self.ctx.wall_clock()
        leg = AgentLeg(leg=s.next_agent_leg_name(), agent_id=c.agent_id)
        s.agent_legs[leg.leg] = leg
        ctx.sessions.bind_leg(leg.leg, s)
        dial = p.Dial(
            uri=ctx.settings.agent_uri(c.agent_id),
            leg=leg.leg,
            proxy=ctx.settings.edge_proxy,
            caller_id=f"sip:{s.caller or 'anonymous'}@{ctx.settings.domain}",
            headers={"X-Contactgw-Call": s.call_id, "X-Contactgw-Queue": c.queue_id},
            timeout=c.timeout + 5.0,
        )  # the engine's timer ends it first

        async def dial_agent() -> None:
            try:
                await ctx.pool.command(s.worker_id, dial)
            except CommandFailed as exc:
                log.warning("call %s: dialling %s failed: %s", s.call_id, c.agent_id, exc)
                leg.ended = True
                if not s.caller_gone and not leg.cancelled:
                    self.flow.feed(
                        ev.OfferFailed(
                            call_id=s.call_id,
                            agent_id=c.agent_id,
                            reason=ev.OfferFailure.UNREACHABLE,
                        )
                    )
                self.flow.maybe_finalize(s)

        s.media.then(dial_agent)

        async def record() -> None:
            leg.offer_id = await ctx.cdr.record_offer(
                call_id=uuid.UUID(s.call_id), agent=c.agent_id, offered_at=now, queue=c.queue_id
            )

        s.cdr.then(record)

    def _cancel(self, c: cmd.CancelOffer) -> None:
        s = self.ctx.sessions.by_call(c.call_id)
        if s is None:
            return
        for leg in list(s.agent_legs.values()):
            if leg.agent_id != c.agent_id or leg.ended or leg.cancelled:
                continue
            if s.connected_leg == leg.leg:
                continue
            leg.cancelled = True
            self.flow.send(s, p.Hangup(leg=leg.leg, code=487, reason=c.reason))
            result: OfferResult = "no_answer" if c.reason == "timeout" else "cancelled"
            self.flow.record_offer_end(s, leg, result)

    # ------------------------------------------------------------------ connect
    def _connect(self, c: cmd.ConnectCall) -> None:
        s = self._session(c.call_id)
        if s is None:
            return
        leg = next(
            (
                a
                for a in s.agent_legs.values()
                if a.agent_id == c.agent_id and a.answered and not a.ended
            ),
            None,
        )
        if leg is None:  # the agent's leg vanished between answer and connect
            self.flow.feed(ev.ConversationEnded(call_id=c.call_id))
            return
        ctx, now = self.ctx, self.ctx.wall_clock()
        s.phase, s.connected_leg, s.agent_id = Phase.CONNECTED, leg.leg, c.agent_id
        s.disposition, s.playing = "answered", None
        self.flow.send(s, p.Bridge(a=s.caller_leg, b=leg.leg, linked=True))
        if ctx.settings.media_for(s.queue).record:
            directory = self.flow.recording_dir(s)
            s.recordings["caller"] = str(directory / "caller.wav")
            s.recordings["agent"] = str(directory / "agent.wav")
            self.flow.send(s, p.RecordStart(leg=s.caller_leg, path=s.recordings["caller"]))
            self.flow.send(s, p.RecordStart(leg=leg.leg, path=s.recordings["agent"]))

        async def record() -> None:
            await ctx.cdr.record_answered(
                call_id=uuid.UUID(s.call_id),
                agent=c.agent_id,
                answered_at=now,
                offer_id=leg.offer_id,
            )

        s.cdr.then(record)

    # ------------------------------------------------------------------ while waiting
    def _announce(self, c: cmd.Announce) -> None:
        s = self._session(c.call_id)
        if s is None or s.phase is not Phase.QUEUED:
            return
        if s.playing is not None and s.playing != self.flow.music(s):
            return  # never cut the greeting or a previous announcement short
        media = self.ctx.settings.media_for(s.queue)
        s.playing = str(
            self.ctx.prompts.position_and_wait(
                c.position if media.announce_position else 0,
                c.ewt_seconds if media.announce_ewt else None,
            )
        )
        self.flow.send(s, p.Play(leg=s.caller_leg, path=s.playing, loop=False))

    def _overflowed(self, c: cmd.Overflowed) -> None:
        s = self._session(c.call_id)
        if s is None:
            return
        s.queue = c.to_queue
        s.cdr.then(
            lambda: self.ctx.cdr.record_queued(call_id=uuid.UUID(s.call_id), queue=c.to_queue)
        )

    def _divert(self, c: cmd.Divert) -> None:
        """The call leaves the ACD: voicemail, or an announcement then hang-up."""
        s = self._session(c.call_id)
        if s is None:
            return
        s.hangup_by = "system"
        if c.action is TerminalAction.VOICEMAIL:
            self.flow.start_voicemail(s, "voicemail", answer=False)
            return
        s.phase, s.disposition = Phase.ANNOUNCING, "overflow"
        prompt = c.argument or TERMINAL_PROMPTS[c.action]
        if prompt and self.ctx.prompts.exists(prompt):
            s.hangup_code = 200
            s.playing = str(self.ctx.prompts.path(prompt))
            self.flow.send(s, p.Play(leg=s.caller_leg, path=s.playing))
        else:
            self.flow.send(s, p.Hangup(leg=s.caller_leg, code=200))
