"""Supervisor monitoring of a connected call: the supervisor's leg and its mode.

The supervisor's softphone is dialled **on the caller's worker** (a bridge joins legs of
one process only), as `sip:<supervisor>@<domain>`: a supervisor is a user of the
edge's registrar, i.e. an entry of the routing's `agents` (it may belong to no queue).
Once it answers, it is bridged (unlinked: its leaving ends nothing else) to the caller
and to the agent, in the directions the mix matrix gives (`gateway/sip/mixing.py`);
switching the mode (API, or DTMF 4/5/6 from its phone) only changes those directions
(`Mix`). It is never recorded: the recorders take what caller and agent say.
Monitoring is a side relation of CONNECTED/HELD, not a phase: the call's phase table is
untouched by a supervisor coming and going.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from gateway.ipc import protocol as p
from gateway.sip.mixing import MonitorMode, Party, flows

if TYPE_CHECKING:  # session.py holds a Monitor
    from gateway.control.session import CallSession

MonitorState = Literal["dialing", "active", "ended"]
ChangeSource = Literal["api", "dtmf"]


@dataclass(slots=True)
class Monitor:
    supervisor: str
    leg: str
    mode: MonitorMode
    by: str  # the API user who started it
    requested_at: datetime
    state: MonitorState = "dialing"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None  # why it ended
    changes: list[dict[str, str]] = field(default_factory=list)  # mode history

    def record(self) -> dict[str, object]:
        """The call record's entry for this monitoring session."""
        return {
            "supervisor": self.supervisor,
            "by": self.by,
            "mode": self.mode.value,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "reason": self.reason,
            "changes": list(self.changes),
        }


def agent_leg(s: CallSession) -> str | None:
    return s.connected.leg if s.connected is not None else None


def mix_commands(s: CallSession, held: bool, monitor: Monitor | None) -> list[p.Command]:
    """`Mix` for every bridge of the conversation, from the matrix (idempotent)."""
    mode = monitor.mode if monitor is not None and monitor.state == "active" else None
    agent = agent_leg(s)
    legs = {Party.CALLER: s.caller_leg, Party.AGENT: agent}
    if mode is not None and monitor is not None:
        legs[Party.SUPERVISOR] = monitor.leg
    pairs = [(Party.CALLER, Party.AGENT), (Party.CALLER, Party.SUPERVISOR),
             (Party.AGENT, Party.SUPERVISOR)]  # fmt: skip
    out: list[p.Command] = []
    for a, b in pairs:
        leg_a, leg_b = legs.get(a), legs.get(b)
        if leg_a and leg_b:
            a_hears, b_hears = flows(held, mode, a, b)
            out.append(p.Mix(leg_a, leg_b, a_hears, b_hears))
    return out


def join_commands(s: CallSession, held: bool, monitor: Monitor) -> list[p.Command]:
    """Bridge the supervisor who answered to caller and agent, muted as its mode says."""
    out: list[p.Command] = []
    for party, leg in ((Party.CALLER, s.caller_leg), (Party.AGENT, agent_leg(s))):
        if leg:
            hears, heard = flows(held, monitor.mode, party, Party.SUPERVISOR)
            out.append(p.Bridge(leg, monitor.leg, linked=False, a_hears_b=hears,
                                b_hears_a=heard))  # fmt: skip
    return out
