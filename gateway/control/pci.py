"""PCI pause: spans of a recording kept silent (card numbers), and the agent's DTMF codes.

While paused both recorders take their leg at level 0 (the worker's `RecordPause`), so
the stereo file keeps its timeline with silence for the span; the spans, in seconds
from the start of their segment's recording (`segment`: 1 until a transfer, then the
one whose `segment-N/` files were recording, see transfer_segments.py), are stored with
the call record and shown by the API.
The caller's DTMF during a pause is not in the recording either: RFC 2833 digits are
events, never audio, and in-band tones fall inside the silent span.

The agent's phone pauses and resumes with codes (`recordings.pci_pause_code`, default
`*1`, and `pci_resume_code`, `*2`): `DtmfCodes` matches digits as they come, each within
`DIGIT_GAP` seconds of the previous. The digits are RFC 2833 events the worker consumes:
the conference bridge carries audio only, so the caller never hears them as tones.
Pure: time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

PciAction = Literal["pause", "resume"]
DIGIT_GAP = 3.0  # seconds between two digits of one code


@dataclass(slots=True)
class PauseSpan:
    start: float  # seconds from the start of its segment's recording
    end: float | None
    by: str  # the API user, or "dtmf"
    at: datetime  # wall time the pause began
    segment: int = 1  # the segment whose files hold the silence (transfer_segments.py)

    def as_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "by": self.by, "at": self.at.isoformat(),
                "segment": self.segment}  # fmt: skip


@dataclass(slots=True)
class PciState:
    spans: list[PauseSpan] = field(default_factory=list)

    @property
    def paused(self) -> bool:
        return bool(self.spans) and self.spans[-1].end is None

    def pause(self, offset: float, by: str, at: datetime, segment: int = 1) -> PauseSpan:
        if self.paused:
            raise ValueError("already paused")
        span = PauseSpan(round(max(0.0, offset), 3), None, by, at, segment)
        self.spans.append(span)
        return span

    def resume(self, offset: float) -> PauseSpan:
        if not self.paused:
            raise ValueError("not paused")
        span = self.spans[-1]
        span.end = round(max(span.start, offset), 3)
        return span

    def carry_over(self, end_offset: float, segment: int, at: datetime) -> PauseSpan:
        """A transfer opened `segment` while paused: the span ends with the old segment's
        files (at `end_offset`) and goes on from 0 in the new segment's, by the same user."""
        by = self.resume(end_offset).by
        return self.pause(0.0, by, at, segment)

    def close(self, offset: float) -> None:
        """The call ended while paused: the span ends with the recording."""
        if self.paused:
            self.resume(offset)


@dataclass(slots=True)
class DtmfCodes:
    pause: str = "*1"
    resume: str = "*2"
    _typed: str = ""
    _last: float = float("-inf")

    def feed(self, digit: str, now: float) -> PciAction | None:
        """A digit from the agent's phone; the action once a whole code is typed."""
        if now - self._last > DIGIT_GAP:
            self._typed = ""
        self._last = now
        self._typed = (self._typed + digit)[-max(len(self.pause), len(self.resume)) :]
        actions: tuple[tuple[str, PciAction], ...] = (
            (self.pause, "pause"),
            (self.resume, "resume"),
        )
        for code, action in actions:
            if code and self._typed.endswith(code):
                self._typed = ""
                return action
        return None
