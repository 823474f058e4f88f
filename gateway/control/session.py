"""One caller's visit as the control plane knows it (the data; `call.py` decides).

The worker owns the legs (it is the only one that can say what a leg is doing); a
session keeps only what the call flow decides on — which phase, which agent legs it
dialled and how each ended, what is playing, which recordings it started and which
its worker has closed, and the facts the call record needs at finalisation. The
supervisor keeps its own list of a worker's legs for one purpose only: reporting them
lost when the worker dies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from gateway.control.hold import HoldState
from gateway.control.monitor import Monitor
from gateway.control.pci import PciState
from gateway.control.phases import Phase
from gateway.control.transfer_segments import Segment
from gateway.store.records import Disposition, HangupBy

RtpStats = dict[str, float | int]


class AgentLegState(enum.Enum):
    """An agent leg dialled for one offer."""

    RINGING = "ringing"  # dialled, not answered
    ANSWERED = "answered"  # the agent picked up (bridged, or about to be)
    CANCELLING = "cancelling"  # we hung it up (offer withdrawn); its end is no news
    ENDED = "ended"


class Role(enum.Enum):
    """Which recording of a call a file is."""

    CALLER = "caller"
    AGENT = "agent"
    VOICEMAIL = "voicemail"


@dataclass(slots=True)
class AgentLeg:
    leg: str
    agent_id: str
    queue_id: str
    state: AgentLegState = AgentLegState.RINGING
    answered: bool = False  # it reached ANSWERED at some point


@dataclass(slots=True)
class CallSession:
    call_id: str
    sip_call_id: str
    worker_id: str
    caller_leg: str
    did: str
    caller: str
    trunk: str | None
    arrived_at: datetime
    queue: str | None = None
    priority: int = 0
    first_position: int | None = None  # on entering the first queue
    phase: Phase = Phase.ROUTING
    disposition: Disposition | None = None
    voicemail_box: str | None = None  # the box of the message being left
    agent_legs: dict[str, AgentLeg] = field(default_factory=dict)  # by leg name
    connected: AgentLeg | None = None
    playing: str | None = None  # the prompt/music now playing to the caller
    final_code: int = 200  # the answer to send once an announcement ends
    hangup_by: HangupBy | None = None
    caller_sip_code: int | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None  # when the caller's leg went
    agent_sip_code: int | None = None  # the connected agent's 200, or the last failure
    recordings: dict[Role, str] = field(default_factory=dict)
    recordings_closed: set[Role] = field(default_factory=set)
    rtp: dict[Role, RtpStats] = field(default_factory=dict)  # CALLER / AGENT
    segments: list[Segment] = field(default_factory=list)  # after transfers (segment 2...)
    requeued_by: tuple[str, str] | None = None  # (transfer id, agent) of a blind re-queue
    dialled: int = 0
    # in-call control (docs/in-call.md): hold figures, the supervisor (a side relation of
    # CONNECTED/HELD, not a phase) and those who came before, the PCI-paused spans
    hold: HoldState = field(default_factory=HoldState)
    monitor: Monitor | None = None
    monitors: list[Monitor] = field(default_factory=list)  # every one, the current included
    pci: PciState = field(default_factory=PciState)
    caller_name: str | None = None  # the From display name (gateway/control/caller_name.py)

    def next_agent_leg_name(self) -> str:
        self.dialled += 1
        return f"{self.call_id}-a{self.dialled}"

    def ringing(self) -> list[AgentLeg]:
        return [a for a in self.agent_legs.values() if a.state is AgentLegState.RINGING]

    def settled(self) -> bool:
        """Everything the call record needs has arrived."""
        return (
            all(a.state is AgentLegState.ENDED for a in self.agent_legs.values())
            and (set(self.recordings) <= self.recordings_closed)
            and all(seg.settled() for seg in self.segments)
        )
