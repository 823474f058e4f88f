"""Blind and attended transfers of a connected call: every decision (docs/transfer.md).

Theory of operation
-------------------
A transfer starts from the API (`start`) or from the agent's phone (`refer`: the
worker accepted a REFER and is placing the new leg). Either way the caller's leg never
moves: the target's leg is placed on the caller's worker, because a bridge joins legs
of one process only, so a transfer needs one free leg there. That is checked before
anything changes (the worker's last capacity report): no free leg fails the transfer
cleanly (API 409; a REFER gets a failure NOTIFY from the worker) and the caller stays
bridged with the agent. We neither reserve a leg per conversation (it would halve a
worker's callers for a feature most calls never use) nor move the call (media cannot
leave a pjsua2 process).

    blind     unbridge caller/agent, music to the caller, the agent released
              (wrap-up); the target rings; answered: caller <-> target; failed: the
              caller is re-queued with its original arrival time
    attended  unbridge, music to the caller (held); the target rings; answered: agent
              <-> target (consultation); complete: caller <-> target, agent released;
              cancel or the target failing: the caller is back with the agent
    queue     (blind only) the agent released, the caller re-queued in that queue with
              its original arrival time and `priority_bump`

A transfer only ever ends with the caller bridged to someone or back in a queue, never
in silence. The phase table has the rows (CONNECTED -> TRANSFERRING -> CONNECTED |
QUEUED); nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from acd import events as ev
from acd.engine import Engine
from acd.states import AgentState
from gateway.control import effects as fx
from gateway.control.announcements import PromptSet
from gateway.control.call import Call, offer_failure
from gateway.control.clock import Instant
from gateway.control.errors import Conflict, InvalidRequest, NotFound
from gateway.control.flow_settings import FlowSettings
from gateway.control.phases import Phase, Trigger, advance
from gateway.control.session import AgentLeg, AgentLegState, CallSession
from gateway.control.transfer_model import (
    Flow,
    Request,
    State,
    Target,
    TargetKind,
    Transfer,
)
from gateway.control.transfer_segments import current_segment, offset_into, open_segment
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.logsafe import printable
from recordings.naming import recording_dir
from routing import uri_user

log = logging.getLogger(__name__)

RING_TIMEOUT = 30.0  # the target's leg is cancelled (408) by the worker after this
TRANSFER_PAUSE = "transfer"  # the pause reason of an agent busy with a transferred call


@dataclass(frozen=True, slots=True)
class TransferSettings:
    """How an external number is dialled: `sip:<number>@<trunk host>`, the trunk the call
    came in on (else the first): the edge relays a non-domain URI where it points
    (route[FROM_WORKER]). No trunk: `sip:<number>@<domain>` (a registered user, if any)."""

    trunk_hosts: dict[str, str] = field(default_factory=dict)  # trunk name -> host[:port]
    queue_prefix: str = "queue-"  # a REFER to sip:queue-<name>@<domain> re-queues

    @staticmethod
    def from_trunks(registrars: dict[str, str]) -> TransferSettings:
        """`registrars`: trunk name -> its registrar URI (`sip:host:port;params`)."""
        hosts = {
            name: uri.split(":", 1)[1].split(";", 1)[0].split("@")[-1]
            for name, uri in registrars.items()
        }
        return TransferSettings(trunk_hosts=hosts)

    def number_uri(self, number: str, trunk: str | None, domain: str) -> str:
        host = self.trunk_hosts.get(trunk or "") or next(iter(self.trunk_hosts.values()), domain)
        return f"sip:{number}@{host}"


class TransferHost(Protocol):
    settings: FlowSettings
    prompts: PromptSet
    engine: Engine

    @property
    def now(self) -> Instant: ...

    def emit(self, effect: fx.Effect, *, closing: bool = False) -> None: ...

    def feed_acd(self, event: ev.Event) -> None: ...

    def bind_leg(self, leg: str, call: Call) -> None: ...


@dataclass(slots=True)
class TransferDesk:
    host: TransferHost
    settings: TransferSettings = field(default_factory=TransferSettings)
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    transfers: dict[str, Transfer] = field(default_factory=dict)  # by transfer id
    _live: dict[str, Transfer] = field(default_factory=dict)  # by call id
    _by_leg: dict[str, Transfer] = field(default_factory=dict)  # by target leg
    _arrival: dict[str, float] = field(default_factory=dict)  # call -> ACD arrival (mono)
    _capacity: dict[str, tuple[int, int]] = field(default_factory=dict)  # worker -> legs
    _calls: dict[str, Call] = field(default_factory=dict)  # calls with a live transfer
    _held: dict[str, str] = field(default_factory=dict)  # target leg -> agent kept from the ACD
    # target leg -> (agent, the pause to return to after its wrap-up; "": none): the
    # agents that take the call through the ACD's DirectCallAnswered once connected
    _targets: dict[str, tuple[str, str]] = field(default_factory=dict)
    # takes a held call off hold first (desk phones hold before they REFER): the in-call
    # desk's resume, wired by the switchboard; None: a held call cannot be transferred
    unhold: Callable[[Call], None] | None = None

    # ------------------------------------------------------------------ the doors
    def start(self, call: Call, req: Request) -> Transfer:
        """A transfer asked for through the API; raises what the API reports (4xx)."""
        s = call.session
        agent = self._check(call, req)
        self._check_capacity(s, req.target)
        self._off_hold(call)  # checked: now things change
        t = self._open(call, req, agent)
        if req.target.kind is TargetKind.QUEUE:
            self._release_agent(call, t, hang_up=True)
            self._requeue(call, t, req.target.value, Trigger.REQUEUE)
            self._finish(call, t, State.COMPLETED)
            return t
        self._hold_caller(call)
        t.leg = self._dial(call, t)
        if t.flow is Flow.BLIND:
            self._release_agent(call, t, hang_up=True)
        return t

    def complete(self, transfer_id: str, by_agent: str | None = None) -> Transfer:
        t, call = self._find(transfer_id, by_agent)
        if t.flow is not Flow.ATTENDED or t.state is not State.CONSULTING:
            raise Conflict(
                f"transfer {t.id} is {t.flow} and {t.state}: only an attended transfer "
                "whose target answered can be completed"
            )
        self._connect_target(call, t)
        return t

    def cancel(self, transfer_id: str, by_agent: str | None = None) -> Transfer:
        t, call = self._find(transfer_id, by_agent)
        if not t.live or t.agent_released:
            raise Conflict(
                f"transfer {t.id} is {t.state}"
                + (" and the agent was released" if t.agent_released else "")
                + ": nothing to cancel"
            )
        self._hang_up_target(call, t, "transfer cancelled")
        self._back_to_agent(call, t)
        self._fail(call, t, "cancelled", None, "back-to-agent", State.CANCELLED)
        return t

    def get(self, transfer_id: str) -> Transfer:
        t = self.transfers.get(transfer_id)
        if t is None:
            raise NotFound(f"no transfer {transfer_id!r}")
        return t

    def capacity(self, worker_id: str, report: p.Capacity) -> None:
        self._capacity[worker_id] = (report.legs, report.max_legs)

    def refer(self, call: Call, e: p.TransferRequested) -> None:
        """The agent's phone sent REFER; the worker is placing `e.new_leg` (or could not)."""
        s = call.session
        connected = s.connected
        if connected is not None and connected.leg == e.leg:
            self._off_hold(call)
        if s.phase is not Phase.CONNECTED or connected is None or connected.leg != e.leg:
            log.info("call %s: REFER on %s ignored in %s", s.call_id, e.leg, s.phase.value)
            if e.new_leg:
                self._send(s, p.Hangup(leg=e.new_leg, code=200, reason="not transferable"))
            return
        target = self._refer_target(e.refer_to)
        flow = Flow.ATTENDED if e.replaces else Flow.BLIND
        req = Request(flow, target, origin="refer") if target else None
        if req is None:  # a URI we cannot name: dial it anyway, as an external party
            req = Request(flow, Target(TargetKind.NUMBER, printable(e.refer_to)[:64]),
                          origin="refer")  # fmt: skip
        t = self._open(call, req, connected.agent_id)
        if not e.new_leg:  # no free leg: the phone was told; the caller stays with the agent
            self._fail(call, t, f"no free leg on worker {s.worker_id}", e.code, "back-to-agent")
            advance(s, Trigger.TRANSFERRED)
            return
        if target is not None and target.kind is TargetKind.QUEUE:
            self._send(s, p.Hangup(leg=e.new_leg, code=200, reason="to a queue"))
            self._release_agent(call, t, hang_up=True)
            self._requeue(call, t, target.value, Trigger.REQUEUE)
            self._finish(call, t, State.COMPLETED)
            return
        self._hold_caller(call)
        t.leg = e.new_leg
        self._adopt(call, t, e.new_leg)
        # Blind: the phone hangs up once NOTIFY says the target answered; attended: the
        # target's phone swaps its consultation call for ours (Replaces) and answers.

    def leg_changed(self, call: Call, e: p.LegStateChanged) -> bool:
        """Events of a transfer's legs; True when handled (the call must not see it)."""
        s = call.session
        if e.state is p.LegState.DISCONNECTED and e.leg in self._targets:
            self._free_target_agent(e.leg)  # it never took the call
        t = self._live.get(s.call_id)
        if t is None:
            return False
        if e.leg == s.caller_leg:
            if e.state is p.LegState.DISCONNECTED:
                self._caller_left(call, t)
            return False  # the call ends the session
        if e.leg == t.leg:
            if e.state is p.LegState.CONFIRMED:
                self._target_answered(call, t)
            elif e.state is p.LegState.DISCONNECTED:
                self._target_ended(call, t, e.code)
            return True
        if e.leg == t.from_leg and e.state is p.LegState.DISCONNECTED:
            self._agent_left(call, t)
        return False

    def command_failed(self, call: Call, command: p.Command, error: WorkerError) -> bool:
        t = self._live.get(call.session.call_id)
        if t is None or not isinstance(command, p.Dial) or t.leg is None or command.leg != t.leg:
            return False
        log.warning("call %s: transfer %s: dial failed: %s", t.call_id, t.id, printable(error))
        leg = call.session.agent_legs.get(t.leg)
        if leg is not None:
            leg.state = AgentLegState.ENDED
        if t.leg in self._targets:
            self._free_target_agent(t.leg)
        reason = f"no free leg on worker {call.session.worker_id}" if error.code in (
            "capacity", "draining") else f"dial failed: {error.code}"  # fmt: skip
        self._target_failed(call, t, reason, None)
        return True

    # ------------------------------------------------------------------ checks
    def _check(self, call: Call, req: Request) -> str:
        s = call.session
        if s.call_id in self._live:
            raise Conflict(f"call {s.call_id} has a transfer in progress")
        if req.by_agent is not None and (
            s.connected is None or s.connected.agent_id != req.by_agent
        ):
            raise NotFound(f"no call {s.call_id!r} connected to agent {req.by_agent!r}")
        held = s.phase is Phase.HELD and self.unhold is not None
        if (s.phase is not Phase.CONNECTED and not held) or s.connected is None:
            raise Conflict(f"call {s.call_id} is {s.phase.value}, not connected to an agent")
        agent = s.connected.agent_id
        engine = self.host.engine
        match req.target.kind:
            case TargetKind.AGENT:
                if req.target.value not in engine.agent_ids():
                    raise InvalidRequest(f"target.agent: no agent {req.target.value!r}")
                if req.target.value == agent:
                    raise InvalidRequest(f"target.agent: {agent} is the agent on the call")
            case TargetKind.QUEUE:
                if req.target.value not in engine.queue_ids():
                    raise InvalidRequest(f"target.queue: no queue {req.target.value!r}")
            case TargetKind.NUMBER:
                pass
        return agent

    def _off_hold(self, call: Call) -> None:
        if call.session.phase is Phase.HELD and self.unhold is not None:
            self.unhold(call)

    def _check_capacity(self, s: CallSession, target: Target) -> None:
        if target.kind is TargetKind.QUEUE:
            return  # nothing is dialled
        legs, most = self._capacity.get(s.worker_id, (0, 1 << 30))
        if legs >= most:
            raise Conflict(
                f"no free leg on worker {s.worker_id} ({legs} of {most} in use): the "
                "target's leg must be placed on the caller's worker (a bridge joins legs "
                "of one process); the caller stays with the agent"
            )

    def _find(self, transfer_id: str, by_agent: str | None) -> tuple[Transfer, Call]:
        t = self.get(transfer_id)
        if by_agent is not None and by_agent != t.from_agent:
            raise NotFound(f"no transfer {transfer_id!r} of agent {by_agent!r}")
        call = self._call_of(t)
        return t, call

    def _call_of(self, t: Transfer) -> Call:
        call = self._calls.get(t.call_id)
        if call is None or self._live.get(t.call_id) is not t:
            raise Conflict(f"transfer {t.id} is {t.state}: nothing left to complete or cancel")
        return call

    # ------------------------------------------------------------------ steps
    def _open(self, call: Call, req: Request, agent: str) -> Transfer:
        s = call.session
        assert s.connected is not None
        if s.call_id not in self._arrival:
            view = self.host.engine.call(s.call_id)
            self._arrival[s.call_id] = view.arrival_time if view is not None else self.host.now.mono
        t = Transfer(
            id=self.new_id(), call_id=s.call_id, flow=req.flow, target=req.target,
            from_agent=agent, from_leg=s.connected.leg, origin=req.origin,
            priority_bump=req.priority_bump,
        )  # fmt: skip
        self.transfers[t.id] = t
        self._live[s.call_id] = t
        self._calls[s.call_id] = call
        started = ce.TransferStarted(
            t.id, s.call_id, s.queue, t.flow.value, t.target.kind.value, t.target.value,
            agent, t.origin, t.priority_bump,
        )  # fmt: skip
        self._emit(s, started)
        if req.target.kind is not TargetKind.QUEUE:
            advance(s, Trigger.TRANSFER)
        return t

    def _hold_caller(self, call: Call) -> None:
        s = call.session
        assert s.connected is not None
        self._send(s, p.Unbridge(a=s.caller_leg, b=s.connected.leg))
        s.playing = self._music(s)
        self._send(s, p.Play(leg=s.caller_leg, path=s.playing, loop=True))

    def _dial(self, call: Call, t: Transfer) -> str:
        s, settings = call.session, self.host.settings
        leg = f"{s.call_id}-t{len(self.transfers)}"
        uri = (
            settings.agent_uri(t.target.value)
            if t.target.kind is TargetKind.AGENT
            else self.settings.number_uri(t.target.value, s.trunk, settings.domain)
        )
        self._adopt(call, t, leg)
        self._send(
            s,
            p.Dial(
                uri=uri, leg=leg, proxy=settings.edge_proxy,
                caller_id=f"sip:{s.caller or 'anonymous'}@{settings.domain}",
                headers={"X-Contactgw-Call": s.call_id, "X-Contactgw-Transfer": t.id},
                timeout=RING_TIMEOUT,
            ),
        )  # fmt: skip
        return leg

    def _adopt(self, call: Call, t: Transfer, leg: str) -> None:
        s = call.session
        # a number's party is named by the number in the record and the events
        s.agent_legs[leg] = AgentLeg(leg=leg, agent_id=t.target.value, queue_id=s.queue or "")
        self._by_leg[leg] = t
        self.host.bind_leg(leg, call)
        if t.target.kind is TargetKind.AGENT:
            self._hold_target_agent(t.target.value, leg)

    def _hold_target_agent(self, agent: str, leg: str) -> None:
        """A target agent reached outside the ACD must not be offered a queue call while
        its phone rings for the transfer: it is paused (reason `transfer`), if it was
        available. Once connected, the ACD has it on the call (`_take_call`)."""
        view = self.host.engine.agent(agent)
        if view.state is AgentState.AVAILABLE:
            self.host.feed_acd(ev.AgentPause(agent, TRANSFER_PAUSE))
            self._held[leg] = agent
            self._targets[leg] = (agent, "")
        elif view.state is AgentState.PAUSED:
            self._targets[leg] = (agent, view.pause_reason)

    def _take_call(self, s: CallSession, leg: str) -> None:
        """The target agent talks with the caller: on call in the ACD (no queue call
        offered), then the call's queue's wrap-up when it ends, then back to available or
        to the pause it had (asterisk issue 607). A busy or logged-out agent: no timing."""
        target = self._targets.pop(leg, None)
        self._held.pop(leg, None)  # the pause is replaced by the call
        if target is not None:
            agent, resume = target
            self.host.feed_acd(ev.DirectCallAnswered(s.call_id, s.queue or "", agent, resume))

    def _free_target_agent(self, leg: str) -> None:
        self._targets.pop(leg)
        agent = self._held.pop(leg, None)
        if agent is None:
            return  # it was paused before: it stays so
        view = self.host.engine.agent(agent)
        if view.state is AgentState.PAUSED and view.pause_reason == TRANSFER_PAUSE:
            self.host.feed_acd(ev.AgentUnpause(agent))

    def _release_agent(self, call: Call, t: Transfer, *, hang_up: bool) -> None:
        """The transferring agent is done: its leg goes, it enters wrap-up (issue 607)."""
        s = call.session
        if t.agent_released:
            return
        t.agent_released = True
        old = s.agent_legs.get(t.from_leg)
        if hang_up and old is not None and old.state is not AgentLegState.ENDED:
            self._send(s, p.Unbridge(a=s.caller_leg, b=t.from_leg))
            self._send(s, p.Hangup(leg=t.from_leg, code=200, reason="transferred"))
        self.host.feed_acd(ev.ConversationEnded(call_id=s.call_id))

    def _requeue(self, call: Call, t: Transfer, queue: str, trigger: Trigger) -> None:
        s = call.session
        advance(s, trigger)
        s.requeued_by = (t.id, t.from_agent)  # the next agent answering opens a segment
        s.connected = None
        if queue != s.queue:
            moved = ce.CallOverflowed(s.call_id, queue, s.queue or "", "transfer")
            self.host.emit(fx.SetQueue(s.call_id, queue, self.host.now.wall, (moved,)))
            s.queue = queue
        s.priority += t.priority_bump
        s.playing = self._music(s)
        self._send(s, p.Play(leg=s.caller_leg, path=s.playing, loop=True))
        arrival = self._arrival.get(s.call_id)
        self.host.feed_acd(ev.CallArrived(s.call_id, queue, s.priority, arrival_time=arrival))

    def _target_answered(self, call: Call, t: Transfer) -> None:
        s = call.session
        leg = s.agent_legs.get(t.leg or "")
        if leg is None or t.state is not State.RINGING:
            return
        leg.state, leg.answered = AgentLegState.ANSWERED, True
        agent_up = not t.agent_released and self._agent_up(s, t)
        if t.flow is Flow.ATTENDED and agent_up and t.origin == "api":
            t.state = State.CONSULTING  # the agent and the target talk; the caller holds
            self._send(s, p.Bridge(a=t.from_leg, b=leg.leg, linked=False))
            return
        self._connect_target(call, t)

    def _connect_target(self, call: Call, t: Transfer) -> None:
        s = call.session
        leg = s.agent_legs[t.leg or ""]
        if t.state is State.CONSULTING:
            self._send(s, p.Unbridge(a=t.from_leg, b=leg.leg))
        s.playing = None
        self._send(s, p.Bridge(a=s.caller_leg, b=leg.leg, linked=True))
        self._release_agent(call, t, hang_up=True)  # the ACD ends its conversation first
        self._take_call(s, leg.leg)
        s.connected, s.agent_sip_code = leg, 200
        self._open_segment(s, t, leg.leg)
        advance(s, Trigger.TRANSFERRED)
        self._finish(call, t, State.COMPLETED)

    def _open_segment(self, s: CallSession, t: Transfer, leg: str) -> None:
        """The caller now talks to the target: segment N, its own recording pair."""
        settings = self.host.settings
        folder = None
        if settings.media_for(s.queue).record and s.recordings:
            folder = Path(settings.recordings_dir) / recording_dir(s.call_id, s.arrived_at)
        files = open_segment(
            s.segments, agent=t.target.value, leg=leg, at=self.host.now.wall,
            transfer_id=t.id, previous_agent=t.from_agent, folder=folder,
            caller_leg=s.caller_leg,
        )  # fmt: skip
        for name, path in files:  # the worker closes the caller's previous file itself
            self._send(s, p.RecordStart(leg=name, path=path))
        if files and s.pci.paused:  # a PCI pause goes on in the new segment's files
            now, old = self.host.now.wall, s.pci.spans[-1].segment
            end = offset_into(s.answered_at, s.segments, old, now)
            s.pci.carry_over(end, current_segment(s.segments), now)
            for name, _ in files:
                self._send(s, p.RecordPause(leg=name))

    def _target_ended(self, call: Call, t: Transfer, code: int) -> None:
        s = call.session
        leg = s.agent_legs.get(t.leg or "")
        if leg is not None:
            leg.state = AgentLegState.ENDED
        if t.state is State.CONSULTING:  # the target hung up on the agent: back to it
            self._back_to_agent(call, t)
            self._fail(call, t, "target hung up", code, "back-to-agent")
            return
        self._target_failed(call, t, offer_failure(code).value, code)

    def _target_failed(self, call: Call, t: Transfer, reason: str, code: int | None) -> None:
        s = call.session
        attended = t.flow is Flow.ATTENDED
        if attended and not t.agent_released and self._agent_up(s, t):
            self._back_to_agent(call, t)
            self._fail(call, t, reason, code, "back-to-agent")
        elif s.queue is not None:
            self._release_agent(call, t, hang_up=True)
            self._fail(call, t, reason, code, "requeued")
            self._requeue(call, t, s.queue, Trigger.REQUEUE)
        else:
            self._fail(call, t, reason, code, "ended")
            s.hangup_by = "system"
            self._send(s, p.Hangup(leg=s.caller_leg, code=200, reason="transfer failed"))

    def _back_to_agent(self, call: Call, t: Transfer) -> None:
        s = call.session
        s.playing = None
        self._send(s, p.Bridge(a=s.caller_leg, b=t.from_leg, linked=True))
        advance(s, Trigger.TRANSFERRED)

    def _agent_left(self, call: Call, t: Transfer) -> None:
        """The transferring agent hung up mid-transfer (a REFER's phone does so itself)."""
        self._release_agent(call, t, hang_up=False)
        if t.state is State.CONSULTING:
            self._connect_target(call, t)  # hanging up completes it, as on a desk phone

    def _caller_left(self, call: Call, t: Transfer) -> None:
        s = call.session
        self._hang_up_target(call, t, "caller left")
        if not t.agent_released:
            t.agent_released = True
            self._send(s, p.Hangup(leg=t.from_leg, code=200, reason="caller left"))
            self.host.feed_acd(ev.ConversationEnded(call_id=s.call_id))
        self._fail(call, t, "caller hung up", None, "ended")

    def _hang_up_target(self, call: Call, t: Transfer, reason: str) -> None:
        s = call.session
        leg = s.agent_legs.get(t.leg or "")
        if leg is not None and leg.state is not AgentLegState.ENDED:
            leg.state = AgentLegState.CANCELLING
            self._send(s, p.Hangup(leg=leg.leg, code=487, reason=reason))

    @staticmethod
    def _agent_up(s: CallSession, t: Transfer) -> bool:
        old = s.agent_legs.get(t.from_leg)
        return old is not None and old.state is AgentLegState.ANSWERED

    # ------------------------------------------------------------------ outcomes
    def _finish(self, call: Call, t: Transfer, state: State) -> None:
        s = call.session
        t.state = state
        self._close(t)
        last = s.segments[-1] if s.segments else None
        segment = last.index if last is not None and last.transfer_id == t.id else None
        done = ce.TransferCompleted(t.id, s.call_id, s.queue, t.flow.value, t.target.kind.value,
                                    t.target.value, t.from_agent, segment)  # fmt: skip
        self._emit(s, done)

    def _fail(
        self, call: Call, t: Transfer, reason: str, code: int | None,
        outcome: str, state: State = State.FAILED,
    ) -> None:  # fmt: skip
        s = call.session
        t.state, t.reason = state, reason
        self._close(t)
        assert outcome in ("back-to-agent", "requeued", "ended")
        failed = ce.TransferFailed(
            t.id, s.call_id, s.queue, t.flow.value, t.target.kind.value, t.target.value,
            t.from_agent, reason, code, outcome,  # type: ignore[arg-type]
        )  # fmt: skip
        self._emit(s, failed)
        log.info("call %s: transfer %s failed (%s): %s", s.call_id, t.id, outcome,
                 printable(reason))  # fmt: skip

    def _close(self, t: Transfer) -> None:
        if self._live.get(t.call_id) is t:
            del self._live[t.call_id]
            self._calls.pop(t.call_id, None)
        if t.leg is not None:
            self._by_leg.pop(t.leg, None)

    def _refer_target(self, refer_to: str) -> Target | None:
        user = uri_user(refer_to)
        if not user:
            return None
        engine, prefix = self.host.engine, self.settings.queue_prefix
        if user.startswith(prefix) and user[len(prefix) :] in engine.queue_ids():
            return Target(TargetKind.QUEUE, user[len(prefix) :])
        if user in engine.agent_ids():
            return Target(TargetKind.AGENT, user)
        try:
            return Target.parse("number", user)
        except InvalidRequest:
            return None

    def _music(self, s: CallSession) -> str:
        settings = self.host.settings
        return str(self.host.prompts.path(settings.media_for(s.queue).music))

    def _send(self, s: CallSession, command: p.Command) -> None:
        self.host.emit(fx.Send(s.call_id, s.worker_id, command))

    def _emit(self, s: CallSession, event: ce.Event) -> None:
        self.host.emit(fx.Emit(s.call_id, (event,), self.host.now.wall))
