"""The outbound session of a queued callback: one attempt, from its place in line to the
end of the conversation (docs/callback.md).

    ROUTING --callback-queue--> QUEUED       waits in line under its own ACD entry; the
                                             agents it is offered to ring as for any call
    QUEUED --whisper--> CALLBACK_WHISPER      the agent answered: it hears "callback for
                                             <last four digits>"; the record is opened
    CALLBACK_WHISPER --prompt-done--> CALLBACK_DIALING   the customer is dialled through
                                             the trunk (via the edge), the agent waits
    CALLBACK_DIALING --connect--> CONNECTED   the customer answered: bridged and recorded
                                             like any call (the customer is the "caller")
    CALLBACK_DIALING / CALLBACK_WHISPER --caller-gone--> ENDED   no answer, busy, the
                                             agent left: the desk schedules the retry

A `Call` with the customer's leg as its caller leg, so hang-ups, recordings and the call
record are the inherited ones; what differs is how the conversation starts. Offers to
agents write no offer rows (the record exists only once an agent took the callback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd import commands as cmd
from acd import events as ev
from gateway.control import effects as fx
from gateway.control.call import Call, CallHost
from gateway.control.callback_dialog import digit_prompts
from gateway.control.callback_plan import CallbackPlan
from gateway.control.phases import Phase, Trigger, advance
from gateway.control.session import AgentLeg, AgentLegState, CallSession, Role
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.store.callbacks import CallbackTask

if TYPE_CHECKING:
    from gateway.control.callback_desk import CallbackDesk

FAILURES: dict[int, ce.CallbackFailure] = {486: "busy", 600: "busy", 603: "rejected",
                                           403: "rejected"}  # fmt: skip


def failure(code: int) -> ce.CallbackFailure:
    if code in FAILURES:
        return FAILURES[code]
    return "no-answer" if code in (0, 408, 480, 487) else "unreachable"


class CallbackCall(Call):
    def __init__(
        self, session: CallSession, host: CallHost, desk: CallbackDesk, task: CallbackTask,
        plan: CallbackPlan,
    ) -> None:  # fmt: skip
        super().__init__(session, host)
        self.desk, self.task, self.plan = desk, task, plan
        self._failed = False  # the attempt's failure was reported (agent left, then dial)
        advance(session, Trigger.CALLBACK_QUEUE)

    @property
    def waiting(self) -> bool:
        """In line, not yet taken by an agent (a supervisor may cancel or reschedule)."""
        return self.session.phase is Phase.QUEUED

    # ------------------------------------------------------------------ the ACD
    def acd_command(self, command: cmd.Command) -> None:
        s = self.session
        match command:
            case cmd.CancelOffer():
                self._cancel(command)
            case cmd.OfferCall() if s.phase is Phase.QUEUED:
                if self.plan.next_dial(self._host.now.wall) > self._host.now.wall:
                    self.desk.hold_until_window(self)  # withdraws the offer
                else:
                    self._offer_agent(command)
            case cmd.ConnectCall() if s.phase is Phase.QUEUED:
                self._whisper(command)
            case cmd.ConnectCall():  # gone before connect: free the agent
                self._host.feed_acd(ev.ConversationEnded(call_id=s.call_id))

    def _offer_agent(self, c: cmd.OfferCall) -> None:
        s, settings = self.session, self._host.settings
        if not any(a.state is not AgentLegState.ENDED for a in s.agent_legs.values()):
            s.worker_id = self.desk.pick_worker()  # no leg yet: the least loaded worker
        leg = AgentLeg(leg=s.next_agent_leg_name(), agent_id=c.agent_id, queue_id=c.queue_id)
        s.agent_legs[leg.leg] = leg
        self._host.bind_leg(leg.leg, self)
        self._send(
            p.Dial(
                uri=settings.agent_uri(c.agent_id), leg=leg.leg, proxy=settings.edge_proxy,
                caller_id=f"sip:{self.task.number}@{settings.domain}",  # the agent sees who
                headers={"X-Contactgw-Call": s.call_id, "X-Contactgw-Queue": c.queue_id,
                         "X-Contactgw-Callback": str(self.task.id)},
                timeout=c.timeout + 5.0,  # the engine's timer ends it first
            )
        )  # fmt: skip

    def _whisper(self, c: cmd.ConnectCall) -> None:
        s, now = self.session, self._host.now
        leg = next((a for a in s.agent_legs.values()
                    if a.agent_id == c.agent_id and a.state is AgentLegState.ANSWERED), None)  # fmt: skip
        if leg is None:  # the agent's leg vanished between answer and connect
            self._host.feed_acd(ev.ConversationEnded(call_id=c.call_id))
            return
        advance(s, Trigger.WHISPER)
        s.connected, s.arrived_at = leg, now.wall
        self._host.emit(
            fx.OpenRecord(
                s.call_id, "", now.wall, s.did or None, s.caller, s.trunk, s.worker_id, s.queue,
                initiation="callback", callback_of=str(self.task.call_id),
            )
        )  # fmt: skip
        # "callback for 0 0 0 0": the number's last four digits (the INVITE's From has it all)
        last4 = digit_prompts(self.task.number)[-4:]
        s.playing = str(self.desk.compose(["callback_whisper", *last4]))
        self._send(p.Play(leg=leg.leg, path=s.playing))

    # ------------------------------------------------------------------ worker reports
    def playback_done(self, e: p.PlaybackDone) -> None:
        s = self.session
        if s.phase is not Phase.CALLBACK_WHISPER or s.connected is None:
            super().playback_done(e)
            return
        if e.leg != s.connected.leg or e.path != s.playing:
            return
        advance(s, Trigger.PROMPT_DONE)
        s.playing = None
        self._send(
            p.Dial(
                uri=self.plan.dial_uri(self.task.number), leg=s.caller_leg,
                proxy=self._host.settings.edge_proxy,
                caller_id=self.plan.caller_id(self.task.did, self._host.settings.domain),
                headers={"X-Contactgw-Callback": str(self.task.id)},
                timeout=self.plan.options.ring_timeout,
            )
        )  # fmt: skip
        self.desk.dialing(self, s.connected.agent_id)

    def leg_changed(self, e: p.LegStateChanged) -> None:
        s = self.session
        if e.leg == s.caller_leg and s.phase is Phase.CALLBACK_DIALING:
            if e.state is p.LegState.CONFIRMED:
                self._customer_answered()
            elif e.state is p.LegState.DISCONNECTED:
                self._attempt_failed(failure(e.code), e.code)
                super().leg_changed(e)  # ENDED, the inherited accounting
            return
        super().leg_changed(e)
        agent = s.connected
        gone = agent is not None and e.leg == agent.leg and e.state is p.LegState.DISCONNECTED
        if gone and s.phase is Phase.CALLBACK_WHISPER:
            self._attempt_failed("agent-gone", None)
            self._caller_gone(0)
        elif gone and s.phase is Phase.CALLBACK_DIALING:
            self._attempt_failed("agent-gone", None)
            self._send(p.Hangup(leg=s.caller_leg, code=487, reason="agent left"))

    def command_failed(self, command: p.Command, error: WorkerError) -> None:
        s = self.session
        if isinstance(command, p.Dial) and command.leg == s.caller_leg:
            if s.phase is Phase.CALLBACK_DIALING:
                self._attempt_failed("unreachable", None)
                self._caller_gone(0)
            return
        if isinstance(command, p.Play) and s.phase is Phase.CALLBACK_WHISPER:
            assert s.connected is not None  # no whisper: dial at once
            self.playback_done(p.PlaybackDone(leg=s.connected.leg, path=command.path))
            return
        super().command_failed(command, error)

    # ------------------------------------------------------------------ outcomes
    def _customer_answered(self) -> None:
        s, now = self.session, self._host.now
        agent = s.connected
        assert agent is not None
        advance(s, Trigger.CONNECT)
        s.disposition, s.answered_at, s.agent_sip_code = "answered", now.wall, 200
        self._send(p.Bridge(a=s.caller_leg, b=agent.leg, linked=True))
        if self._host.settings.media_for(s.queue).record:
            for role, name in ((Role.CALLER, s.caller_leg), (Role.AGENT, agent.leg)):
                s.recordings[role] = self._recording_path(role)
                self._send(p.RecordStart(leg=name, path=s.recordings[role]))
        done = self.desk.completed(self, agent.agent_id)
        answered = ce.CallAnswered(s.call_id, s.queue or "", agent.agent_id, 0.0)
        self._host.emit(fx.MarkAnswered(s.call_id, agent.leg, agent.agent_id, now.wall,
                                        (answered, done)))  # fmt: skip

    def _attempt_failed(self, reason: ce.CallbackFailure, code: int | None) -> None:
        s = self.session
        if self._failed:
            return
        self._failed = True
        s.disposition, s.hangup_by, s.caller_sip_code = "failed", "system", code
        agent = s.connected
        if agent is not None and agent.state is not AgentLegState.ENDED:
            self._send(p.Hangup(leg=agent.leg, code=200, reason="callback not answered"))
        self._host.feed_acd(ev.ConversationEnded(call_id=s.call_id))
        self.desk.attempt_failed(self, reason, code)
