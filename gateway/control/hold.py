"""Hold: how long and how often a connected call was held (data and arithmetic only).

A call is held from the API (`POST /api/v1/calls/{id}/hold`) or from the agent's
softphone (a re-INVITE with a=sendonly / a=inactive, reported by the worker as
`LegHold`). While held (phase HELD) the caller hears the queue's music, the agent is
cut from the caller both ways, and the agent's recording channel holds silence (the
caller's channel keeps the caller: the timeline of both stays whole). `InCallDesk`
(`incall_desk` in hold_desk.py) decides; this module keeps the figures the call record
and the KPIs need. Times are monotonic seconds passed in: no clock is read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # session.py holds a HoldState
    from gateway.control.session import CallSession

HoldSource = Literal["api", "phone"]


@dataclass(slots=True)
class HoldState:
    since: float | None = None  # monotonic start of the current hold
    source: HoldSource | None = None  # who put it on hold (the phone's unhold ends only its own)
    by: str | None = None  # the API user or the agent's phone
    count: int = 0
    seconds: float = 0.0  # completed holds

    @property
    def held(self) -> bool:
        return self.since is not None

    def start(self, now: float, source: HoldSource, by: str) -> None:
        if self.since is not None:
            raise ValueError("already held")
        self.since, self.source, self.by = now, source, by
        self.count += 1

    def stop(self, now: float) -> float:
        """End the current hold; returns its length."""
        if self.since is None:
            raise ValueError("not held")
        span = max(0.0, now - self.since)
        self.seconds += span
        self.since = self.source = self.by = None
        return span

    def total(self, now: float) -> float:
        """Seconds held so far, the current hold included."""
        current = 0.0 if self.since is None else max(0.0, now - self.since)
        return round(self.seconds + current, 3)


def record_facts(s: CallSession, now: float) -> dict[str, Any]:
    """The call record's in-call columns (None for a call never connected to an agent)."""
    if s.answered_at is None:
        return {}
    return {
        "hold_count": s.hold.count,
        "hold_seconds": s.hold.total(now),
        "monitors": [m.record() for m in s.monitors] or None,
        "recording_pauses": [span.as_dict() for span in s.pci.spans] or None,
    }
