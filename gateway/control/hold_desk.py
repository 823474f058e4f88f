"""The in-call desk: hold / resume, supervisor monitoring and PCI pause of connected calls.

Theory of operation
-------------------
Requests come from the API (inside one switchboard step, `Switchboard.act`) and from
the worker: a far-end hold on the agent's leg (`LegHold`), DTMF (the agent's PCI codes,
the supervisor's 4/5/6) and the supervisor leg's states. Every change is turned into
worker commands from the same three facts -- held?, the monitor's mode, PCI paused? --
so the audio never depends on the order the changes came in:

* audio: `Mix` of each bridge from the matrix (`gateway/sip/mixing.py`), music to the
  caller while held;
* recordings: the caller's channel is silent while PCI-paused, the agent's while paused
  or held (`RecordPause` keeps the timeline with silence).

Hold is a phase (CONNECTED <-> HELD); a held conversation that ends is resumed first
(its hold time closed) so the call flow sees the CONNECTED it knows. The supervisor is a
side relation (`session.monitor`), placed on the caller's worker: it needs a free leg
there (the worker's last capacity report; none free is a 409, and the caller's audio is
untouched). Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from gateway.control import effects as fx
from gateway.control.announcements import PromptSet
from gateway.control.call import Call
from gateway.control.clock import Instant
from gateway.control.errors import Conflict
from gateway.control.flow_settings import FlowSettings
from gateway.control.hold import HoldSource
from gateway.control.monitor import Monitor, join_commands, mix_commands
from gateway.control.pci import DtmfCodes
from gateway.control.phases import Phase, Trigger, advance
from gateway.control.session import CallSession, Role
from gateway.control.transfer_segments import current_segment, offset_into
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.logsafe import printable
from gateway.sip.mixing import DTMF_MODES, MonitorMode

log = logging.getLogger(__name__)

SUPERVISOR_RING = 30.0  # the supervisor's phone rings this long
TALKING = (Phase.CONNECTED, Phase.HELD)


class InCallHost(Protocol):
    settings: FlowSettings
    prompts: PromptSet

    @property
    def now(self) -> Instant: ...

    def emit(self, effect: fx.Effect, *, closing: bool = False) -> None: ...

    def bind_leg(self, leg: str, call: Call) -> None: ...


def _silence(s: CallSession) -> dict[Role, bool]:
    """Which recording channels hold silence now."""
    return {Role.CALLER: s.pci.paused, Role.AGENT: s.pci.paused or s.hold.held}


@dataclass(slots=True)
class InCallDesk:
    host: InCallHost
    pci_codes: tuple[str, str] = ("*1", "*2")  # the agent's pause / resume codes
    _capacity: dict[str, tuple[int, int]] = field(default_factory=dict)  # worker -> legs
    _codes: dict[str, DtmfCodes] = field(default_factory=dict)  # by agent leg

    # ------------------------------------------------------------------ hold
    def hold(self, call: Call, source: HoldSource, by: str) -> None:
        s = call.session
        if s.phase is Phase.HELD:
            raise Conflict(f"call {s.call_id} is already on hold")
        self._talking(s)
        before = _silence(s)
        advance(s, Trigger.HOLD)
        s.hold.start(self.host.now.mono, source, by)
        music = str(self.host.prompts.path(self.host.settings.media_for(s.queue).music))
        for command in mix_commands(s, True, s.monitor):
            self._send(s, command)
        self._send(s, p.Play(leg=s.caller_leg, path=music, loop=True))
        self._recording(s, before)
        agent = s.connected.agent_id if s.connected else None
        self._emit(s, ce.CallHeld(s.call_id, agent, source, by, s.hold.count))

    def resume(self, call: Call, source: HoldSource, by: str) -> None:
        s = call.session
        if s.phase is not Phase.HELD:
            raise Conflict(f"call {s.call_id} is not on hold (it is {s.phase.value})")
        before = _silence(s)
        held = self._unhold(s)
        self._send(s, p.StopPlay(leg=s.caller_leg))
        for command in mix_commands(s, False, s.monitor):
            self._send(s, command)
        self._recording(s, before)
        agent = s.connected.agent_id if s.connected else None
        self._emit(s, ce.CallResumed(s.call_id, agent, source, by, round(held, 3),
                                     s.hold.total(self.host.now.mono)))  # fmt: skip

    def _unhold(self, s: CallSession) -> float:
        advance(s, Trigger.RESUME)
        return s.hold.stop(self.host.now.mono)

    # ------------------------------------------------------------------ monitoring
    def monitor(self, call: Call, supervisor: str, mode: MonitorMode, by: str) -> Monitor:
        s, settings = call.session, self.host.settings
        self._talking(s)
        if s.monitor is not None:
            raise Conflict(f"call {s.call_id} is already monitored by {s.monitor.supervisor}")
        if s.connected is not None and s.connected.agent_id == supervisor:
            raise Conflict(f"{supervisor} is the call's agent: it cannot monitor its own call")
        legs, most = self._capacity.get(s.worker_id, (0, 1 << 30))
        if legs >= most:
            raise Conflict(
                f"no free leg on worker {s.worker_id} ({legs} of {most} in use): the "
                "supervisor's leg must be on the caller's worker; try again when a call ends"
            )
        m = Monitor(supervisor, f"{s.call_id}-s{len(s.monitors) + 1}", mode, by,
                    self.host.now.wall)  # fmt: skip
        s.monitor = m
        s.monitors.append(m)
        self.host.bind_leg(m.leg, call)
        self._send(s, p.Dial(
            uri=settings.agent_uri(supervisor), leg=m.leg, proxy=settings.edge_proxy,
            caller_id=f"sip:{s.caller or 'anonymous'}@{settings.domain}",
            headers={"X-Contactgw-Call": s.call_id, "X-Contactgw-Monitor": mode.value},
            timeout=SUPERVISOR_RING,
        ))  # fmt: skip
        return m

    def set_mode(self, call: Call, mode: MonitorMode, source: ce.InCallSource, by: str) -> Monitor:
        s = call.session
        m = s.monitor
        if m is None:
            raise Conflict(f"call {s.call_id} is not monitored")
        if m.mode is mode:
            return m
        previous, m.mode = m.mode, mode
        m.changes.append({"mode": mode.value, "at": self.host.now.wall.isoformat(),
                          "source": source, "by": by})  # fmt: skip
        if m.state == "active":
            for command in mix_commands(s, s.hold.held, m):
                self._send(s, command)
        self._emit(s, ce.MonitorChanged(s.call_id, m.supervisor, mode.value, previous.value,
                                        source, by))  # fmt: skip
        return m

    def end_monitor(self, call: Call, by: str) -> Monitor:
        s = call.session
        m = s.monitor
        if m is None:
            raise Conflict(f"call {s.call_id} is not monitored")
        self._stop_monitor(s, m, "api")
        return m

    def _stop_monitor(self, s: CallSession, m: Monitor, reason: str, code: int | None = None,
                      hang_up: bool = True) -> None:  # fmt: skip
        """Over at once (the record and the event need not wait for the BYE)."""
        m.state, m.ended_at, m.reason = "ended", self.host.now.wall, reason
        s.monitor = None
        if hang_up:
            self._send(s, p.Hangup(leg=m.leg, code=487, reason=f"monitoring ended: {reason}"))
        self._emit(s, ce.MonitorEnded(s.call_id, m.supervisor, m.mode.value, reason, code))

    # ------------------------------------------------------------------ PCI pause
    def pause_recording(self, call: Call, source: ce.InCallSource, by: str) -> None:
        s = call.session
        self._recorded(s)
        if s.pci.paused:
            raise Conflict(f"the recording of call {s.call_id} is already paused")
        before = _silence(s)
        span = s.pci.pause(self._offset(s), by, self.host.now.wall, current_segment(s.segments))
        self._recording(s, before)
        agent = s.connected.agent_id if s.connected else None
        self._emit(s, ce.RecordingPaused(s.call_id, agent, source, by, span.start, span.segment))

    def resume_recording(self, call: Call, source: ce.InCallSource, by: str) -> None:
        s = call.session
        self._recorded(s)
        if not s.pci.paused:
            raise Conflict(f"the recording of call {s.call_id} is not paused")
        before = _silence(s)
        span = s.pci.resume(self._offset(s))
        self._recording(s, before)
        agent = s.connected.agent_id if s.connected else None
        assert span.end is not None  # just resumed
        self._emit(s, ce.RecordingResumed(s.call_id, agent, source, by, span.end,
                                          round(span.end - span.start, 3), span.segment))  # fmt: skip

    # ------------------------------------------------------------------ worker reports
    def capacity(self, worker_id: str, report: p.Capacity) -> None:
        self._capacity[worker_id] = (report.legs, report.max_legs)

    def leg_hold(self, call: Call, e: p.LegHold) -> None:
        """The agent's phone held or unheld (a caller's hold is the carrier's business)."""
        s = call.session
        if s.connected is None or e.leg != s.connected.leg:
            return
        agent = s.connected.agent_id
        try:
            if e.held and s.phase is Phase.CONNECTED:
                self.hold(call, "phone", agent)
            elif not e.held and s.phase is Phase.HELD:
                self.resume(call, "phone", agent)
        except Conflict as exc:
            log.info("call %s: phone hold ignored: %s", s.call_id, exc)

    def dtmf(self, call: Call, e: p.DtmfDigit) -> None:
        s, m = call.session, call.session.monitor
        if m is not None and e.leg == m.leg:
            mode = DTMF_MODES.get(e.digit)
            if mode is not None:
                self.set_mode(call, mode, "dtmf", m.supervisor)
            return
        if s.connected is None or e.leg != s.connected.leg or s.phase not in TALKING:
            return
        codes = self._codes.setdefault(e.leg, DtmfCodes(*self.pci_codes))
        action = codes.feed(e.digit, self.host.now.mono)
        try:
            if action == "pause":
                self.pause_recording(call, "dtmf", s.connected.agent_id)
            elif action == "resume":
                self.resume_recording(call, "dtmf", s.connected.agent_id)
        except Conflict as exc:
            log.info("call %s: PCI code ignored: %s", s.call_id, exc)

    def leg_changed(self, call: Call, e: p.LegStateChanged) -> bool:
        """True when the leg is the supervisor's (the call flow need not see it)."""
        s = call.session
        m = next((x for x in s.monitors if x.leg == e.leg), None)
        if m is not None:
            self._supervisor_leg(s, m, e)
            return True
        ending = e.state is p.LegState.DISCONNECTED and (
            e.leg == s.caller_leg or (s.connected is not None and e.leg == s.connected.leg)
        )
        if ending and s.phase in TALKING:
            self._conversation_over(s)
        return False

    def command_failed(self, call: Call, command: p.Command, error: WorkerError) -> bool:
        """True for this desk's commands (the call flow must not take a supervisor's bridge
        for the conversation's)."""
        s = call.session
        legs = {m.leg for m in s.monitors}
        match command:
            case p.Dial(leg=str(leg)) if leg in legs:
                if s.monitor is not None and s.monitor.leg == leg:
                    reason = "no-free-leg" if error.code in ("capacity", "draining") else "failed"
                    self._stop_monitor(s, s.monitor, reason, hang_up=False)
                return True
            case p.Bridge(b=str(leg)) if leg in legs:
                if s.monitor is not None and s.monitor.leg == leg:
                    self._stop_monitor(s, s.monitor, "bridge-failed")
                return True
            case p.Mix() | p.RecordPause() | p.RecordResume():
                log.warning("call %s: %s failed: %s", s.call_id, type(command).__name__,
                            printable(error))  # fmt: skip
                return True
        return False

    # ------------------------------------------------------------------ inside
    def _supervisor_leg(self, s: CallSession, m: Monitor, e: p.LegStateChanged) -> None:
        if e.state is p.LegState.CONFIRMED and m.state == "dialing":
            if s.phase not in TALKING:  # the conversation ended while it rang
                self._send(s, p.Hangup(leg=m.leg, code=200, reason="conversation over"))
                return
            m.state, m.started_at = "active", self.host.now.wall
            for command in join_commands(s, s.hold.held, m):
                self._send(s, command)
            agent = s.connected.agent_id if s.connected else None
            self._emit(s, ce.MonitorStarted(s.call_id, agent, m.supervisor, m.mode.value, m.by))
        elif e.state is p.LegState.DISCONNECTED and m.state != "ended":
            reason = "supervisor-hung-up" if m.state == "active" else "no-answer"
            self._stop_monitor(s, m, reason, e.code, hang_up=False)

    def _conversation_over(self, s: CallSession) -> None:
        """The caller or the agent left: close the hold, the pause and the monitoring."""
        if s.phase is Phase.HELD:
            self._unhold(s)
        s.pci.close(self._offset(s))
        if s.monitor is not None:
            self._stop_monitor(s, s.monitor, "conversation-ended")
        if s.connected is not None:
            self._codes.pop(s.connected.leg, None)

    def _recording(self, s: CallSession, before: dict[Role, bool]) -> None:
        """Pause or resume each recorded channel whose silence changed."""
        after = _silence(s)
        legs = {Role.CALLER: s.caller_leg, Role.AGENT: s.connected.leg if s.connected else None}
        for role, silent in after.items():
            leg = legs[role]
            if silent != before[role] and leg and role in s.recordings:
                self._send(s, p.RecordPause(leg) if silent else p.RecordResume(leg))

    def _talking(self, s: CallSession) -> None:
        if s.phase not in TALKING or s.connected is None:
            raise Conflict(f"call {s.call_id} is not connected to an agent ({s.phase.value})")

    def _recorded(self, s: CallSession) -> None:
        self._talking(s)
        if not ({Role.CALLER, Role.AGENT} & set(s.recordings)):
            raise Conflict(f"call {s.call_id} is not being recorded")

    def _offset(self, s: CallSession) -> float:
        """Seconds into a segment's recording (it starts when its agent is connected): the
        paused span's segment while paused, else the current one (transfer_segments.py)."""
        segment = s.pci.spans[-1].segment if s.pci.paused else current_segment(s.segments)
        return offset_into(s.answered_at, s.segments, segment, self.host.now.wall)

    def _send(self, s: CallSession, command: p.Command) -> None:
        self.host.emit(fx.Send(s.call_id, s.worker_id, command))

    def _emit(self, s: CallSession, event: ce.Event) -> None:
        self.host.emit(fx.Emit(s.call_id, (event,), self.host.now.wall))
