"""Hold, monitoring and PCI pause as the API sees them: find the call, let the desk
decide inside one switchboard step (`CallDriver.act`), answer with the call's view.

`own` is an agent user's agent id (None: admin or supervisor): such a user acts only on
a call it is connected to; any other call is a 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gateway.control.call import Call
from gateway.control.driver import CallDriver
from gateway.control.errors import InvalidRequest, NotFound
from gateway.control.hold_desk import InCallDesk
from gateway.control.session import CallSession
from gateway.sip.mixing import MonitorMode


@dataclass(frozen=True, slots=True)
class MonitorView:
    supervisor: str
    mode: str
    state: str  # dialing, active, ended
    by: str
    started_at: str | None
    ended_at: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class PauseView:
    start: float
    end: float | None
    by: str
    segment: int = 1  # start/end are into this segment's files (transfer_segments.py)


@dataclass(frozen=True, slots=True)
class InCallView:
    call_id: str
    phase: str
    agent: str | None
    held: bool
    hold_count: int
    hold_seconds: float
    monitor: MonitorView | None
    recording_paused: bool
    recording_pauses: list[PauseView]


def _monitor_view(s: CallSession) -> MonitorView | None:
    m = s.monitor or (s.monitors[-1] if s.monitors else None)
    if m is None:
        return None
    return MonitorView(m.supervisor, m.mode.value, m.state, m.by, _iso(m.started_at),
                       _iso(m.ended_at), m.reason)  # fmt: skip


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


class InCallService:
    def __init__(self, driver: CallDriver, agents: Callable[[], Mapping[str, str]]) -> None:
        """`agents`: the routing's agents now (id -> name); a supervisor must be one."""
        self._driver = driver
        self._agents = agents

    @property
    def _desk(self) -> InCallDesk:
        return self._driver.board.incall

    def view(self, call_id: str, own: str | None) -> InCallView:
        s = self._call(call_id, own).session
        now = self._driver.board.now.mono
        pauses = [PauseView(x.start, x.end, x.by, x.segment) for x in s.pci.spans]
        return InCallView(
            s.call_id, s.phase.value, s.connected.agent_id if s.connected else None,
            s.hold.held, s.hold.count, s.hold.total(now), _monitor_view(s), s.pci.paused, pauses,
        )  # fmt: skip

    def hold(self, call_id: str, by: str, own: str | None) -> InCallView:
        return self._act(call_id, own, lambda desk, call: desk.hold(call, "api", by))

    def resume(self, call_id: str, by: str, own: str | None) -> InCallView:
        return self._act(call_id, own, lambda desk, call: desk.resume(call, "api", by))

    def pause_recording(self, call_id: str, by: str, own: str | None) -> InCallView:
        return self._act(call_id, own, lambda desk, call: desk.pause_recording(call, "api", by))

    def resume_recording(self, call_id: str, by: str, own: str | None) -> InCallView:
        return self._act(call_id, own, lambda desk, call: desk.resume_recording(call, "api", by))

    def _act(self, call_id: str, own: str | None,
             decide: Callable[[InCallDesk, Call], object]) -> InCallView:  # fmt: skip
        """Decide inside one switchboard step; answer with the call's view after it."""
        call = self._call(call_id, own)
        self._driver.act(lambda: decide(self._desk, call))
        return self.view(call_id, own)

    def monitor(self, call_id: str, supervisor: str, mode: MonitorMode, by: str) -> InCallView:
        if supervisor not in self._agents():
            raise InvalidRequest(
                f"supervisor: no user {supervisor!r} among the agents (a supervisor's phone "
                "registers at the edge as an agent entry)"
            )
        return self._act(call_id, None, lambda desk, call: desk.monitor(call, supervisor, mode, by))

    def set_mode(self, call_id: str, mode: MonitorMode, by: str) -> InCallView:
        return self._act(call_id, None, lambda desk, call: desk.set_mode(call, mode, "api", by))

    def end_monitor(self, call_id: str, by: str) -> InCallView:
        return self._act(call_id, None, lambda desk, call: desk.end_monitor(call, by))

    def _call(self, call_id: str, own: str | None) -> Call:
        call = self._driver.board.calls.by_call(call_id)
        if call is None:
            raise NotFound(f"no live call {call_id!r}")
        connected = call.session.connected
        if own is not None and (connected is None or connected.agent_id != own):
            raise NotFound(f"no live call {call_id!r}")
        return call
