"""Segments of a call: one per agent connection, each with its own recording pair.

Theory of operation
-------------------
A caller who is transferred talks to several agents in one visit. The record stays one
row per visit (its `agent` is who answered first), and lists its **segments** like
Amazon Connect's contact chain: segment 1 is the first agent connection (its files are
the call's own `caller.wav`/`agent.wav`/`stereo.wav`, where they always were, so a call
without a transfer is unchanged), and every later connection (a transfer's target
answered: blind or attended, an agent or a number) opens segment N, recorded in
`segment-N/` of the call's folder: the caller's leg again (a new recorder; the worker
closes the previous file) and the new agent's leg, mixed into `segment-N/stereo.wav`
(caller left, that segment's agent right). Each segment names its `previous_segment`
and the `initial_call_id`, and the transfer that began it. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

CALLER, AGENT = "caller", "agent"


@dataclass(slots=True)
class Segment:
    """A later segment (index >= 2): segment 1 is the session's own recordings."""

    index: int
    agent: str
    leg: str
    started_at: datetime
    transfer_id: str
    previous_agent: str  # the agent of the segment before
    recordings: dict[str, str] = field(default_factory=dict)  # role -> path
    closed: set[str] = field(default_factory=set)

    def settled(self) -> bool:
        return set(self.recordings) <= self.closed


def open_segment(
    segments: list[Segment], *, agent: str, leg: str, at: datetime, transfer_id: str,
    previous_agent: str, folder: Path | None, caller_leg: str,
) -> list[tuple[str, str]]:  # fmt: skip
    """Append the next segment; returns (leg, path) to record (none when `folder` is None:
    the queue does not record)."""
    seg = Segment(len(segments) + 2, agent, leg, at, transfer_id, previous_agent)
    segments.append(seg)
    if folder is None:
        return []
    where = folder / f"segment-{seg.index}"
    seg.recordings = {CALLER: str(where / "caller.wav"), AGENT: str(where / "agent.wav")}
    return [(caller_leg, seg.recordings[CALLER]), (leg, seg.recordings[AGENT])]


def mark_closed(segments: list[Segment], path: str) -> bool:
    """A worker's recording_closed for a segment's file; True when it was one."""
    for seg in segments:
        for role, p in seg.recordings.items():
            if p == path:
                seg.closed.add(role)
                return True
    return False


def forget_file(segments: list[Segment], path: str) -> bool:
    """The worker could not start that recording: nothing will be written, do not wait."""
    for seg in segments:
        for role, p in list(seg.recordings.items()):
            if p == path:
                del seg.recordings[role]
                return True
    return False


def segment_records(
    call_id: str, answered_at: datetime | None, first: dict[str, str], segments: list[Segment]
) -> list[dict[str, Any]] | None:
    """The record's `segments` (recordings as the worker wrote them; the driver adds each
    segment's stereo file). None for a call that never changed agent."""
    if not segments:
        return None
    rows = [_row(call_id, 1, segments[0].previous_agent, answered_at, None, first)]
    for seg in segments:
        rows.append(_row(call_id, seg.index, seg.agent, seg.started_at, seg.transfer_id,
                         seg.recordings))  # fmt: skip
    return rows


def _row(
    call_id: str, index: int, agent: str | None, at: datetime | None,
    transfer_id: str | None, files: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    return {
        "index": index,
        "initial_call_id": call_id,
        "previous_segment": index - 1 if index > 1 else None,
        "agent": agent,
        "started_at": at.isoformat() if at is not None else None,
        "transfer_id": transfer_id,
        "recording_caller": files.get(CALLER),
        "recording_agent": files.get(AGENT),
        "recording_stereo": None,
    }


def current_segment(segments: list[Segment]) -> int:
    """The segment the caller is in now (1 until a transfer's target is connected)."""
    return segments[-1].index if segments else 1


def segment_start(
    answered_at: datetime | None, segments: list[Segment], index: int
) -> datetime | None:
    """When segment `index`'s recording began: the first agent's answer for segment 1,
    the target's connection for a later one."""
    if index == 1:
        return answered_at
    return next((seg.started_at for seg in segments if seg.index == index), None)


def offset_into(
    answered_at: datetime | None, segments: list[Segment], index: int, now: datetime
) -> float:
    """Seconds into segment `index`'s files at `now` (a PCI pause's span, per segment)."""
    start = segment_start(answered_at, segments, index) or now
    return round(max(0.0, (now - start).total_seconds()), 3)


def segment_url(call_id: str, index: int, base: str = "/calls") -> str:
    """The API path that serves a segment's stereo (or only) file; segment 1's is the
    call's own recording path, as before transfers had segments."""
    url = f"{base}/{call_id}/recording"
    return url if index == 1 else f"{url}?segment={index}"
