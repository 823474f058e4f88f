"""Response models of API v1's read side (the OpenAPI schema is derived from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.control.transfer_segments import segment_url
from gateway.store.records import CallRecord, Disposition, HangupBy, OfferRecord, OfferResult
from gateway.store.search import RecordingEntry, RecordingRole, recording_paths


class Offer(BaseModel):
    agent: str
    queue: str | None
    offered_at: datetime
    ended_at: datetime | None
    result: OfferResult | None
    sip_code: int | None

    @classmethod
    def of(cls, o: OfferRecord) -> Offer:
        return cls(
            agent=o.agent,
            queue=o.queue,
            offered_at=o.offered_at,
            ended_at=o.ended_at,
            result=o.result,
            sip_code=o.sip_code,
        )


class CallItem(BaseModel):
    """One call record; times in UTC, durations in seconds."""

    id: str
    arrived_at: datetime
    did: str | None
    caller: str | None
    trunk: str | None
    queue: str | None = Field(description="the last queue the call was in")
    agent: str | None = Field(description="the agent who answered")
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None = Field(description="null while the call is in progress")
    disposition: Disposition | None
    hangup_by: HangupBy | None
    wait_seconds: float | None = Field(description="arrival to answer (or to the end)")
    talk_seconds: float | None = Field(description="answer to end")
    recordings: list[RecordingRole] = Field(
        description="the roles `GET /api/v1/calls/{id}/recording?role=` serves"
    )

    @classmethod
    def of(cls, c: CallRecord) -> CallItem:
        return cls(
            id=str(c.id),
            arrived_at=c.arrived_at,
            did=c.did,
            caller=c.caller,
            trunk=c.trunk,
            queue=c.queue,
            agent=c.agent,
            offered_at=c.offered_at,
            answered_at=c.answered_at,
            ended_at=c.ended_at,
            disposition=c.disposition,
            hangup_by=c.hangup_by,
            wait_seconds=c.wait_seconds,
            talk_seconds=c.talk_seconds,
            recordings=list(recording_paths(c)),
        )


class SegmentFile(BaseModel):
    role: str = Field(description="caller, agent or stereo")
    bytes: int
    duration_seconds: float
    sha256: str


class Segment(BaseModel):
    """One agent connection of a call (Amazon Connect's contact chain, in one record)."""

    index: int = Field(description="1 for the first agent, then one more per transfer")
    initial_call_id: str = Field(description="the call (record) every segment belongs to")
    previous_segment: int | None = Field(description="the segment before; null for the first")
    agent: str | None = Field(description="that segment's agent (a number for an external one)")
    started_at: str | None = Field(description="when the caller was connected (ISO 8601)")
    transfer_id: str | None = Field(description="the transfer that began it; null for the first")
    # where the files are: read to make `audio_url`, never returned (no file paths in the API)
    recording_caller: str | None = Field(None, exclude=True)
    recording_agent: str | None = Field(None, exclude=True)
    recording_stereo: str | None = Field(None, exclude=True)
    audio_url: str | None = Field(
        None, description="GET it for the segment's audio (Range as the call's recording)"
    )
    duration_seconds: float | None = Field(None, description="the segment's stereo file's length")
    sha256: str | None = Field(None, description="checksum of the segment's stereo file")
    files: list[SegmentFile] = Field(
        default_factory=list, description="every file of the segment, with its checksum"
    )
    failure: str | None = Field(None, description="why its recording is incomplete, if it is")

    @classmethod
    def of(cls, row: dict[str, Any]) -> Segment:
        seg = cls.model_validate(row)
        if seg.recording_stereo or seg.recording_caller:
            seg.audio_url = segment_url(seg.initial_call_id, seg.index, base="/api/v1/calls")
        return seg


class CallDetail(CallItem):
    sip_call_id: str
    worker: str | None
    caller_sip_code: int | None
    agent_sip_code: int | None
    rtp_quality: dict[str, Any] | None
    recording_failure: str | None = Field(
        description="why the recording is incomplete (disk_full, io_error, bad_format, "
        "missing, encoding); null when it is complete or the call was not recorded"
    )
    caller_name: str | None = Field(description="the caller's From display name, if any")
    wrapup_code: str | None = Field(description="the agent's wrap-up code (docs/desktop.md)")
    wrapup_notes: str | None = Field(description="the agent's notes on the call")
    offers: list[Offer] = Field(description="every offer to an agent, oldest first")
    hold_count: int | None = Field(None, description="holds (docs/in-call.md)")
    hold_seconds: float | None = Field(None, description="time on hold, every hold")
    monitors: list[dict[str, Any]] | None = Field(
        None, description="supervisor monitoring sessions: who, modes, times, why it ended"
    )
    recording_pauses: list[dict[str, Any]] | None = Field(
        None, description="PCI-paused spans of the recording: start/end in s from its start"
    )
    wrapups: list[dict[str, Any]] = Field(
        default_factory=list,
        description="every agent's wrap-up, in the order they posted: agent, code, notes, at "
        "(after a transfer the transferring agent's and the target's; docs/transfer.md)",
    )
    segments: list[Segment] = Field(
        default_factory=list,
        description="after a transfer: one entry per agent connection, oldest first, each "
        "with its own recordings (docs/transfer.md); empty for a call that never changed agent",
    )

    @classmethod
    def with_offers(cls, c: CallRecord, offers: tuple[OfferRecord, ...]) -> CallDetail:
        return cls(
            **CallItem.of(c).model_dump(),
            sip_call_id=c.sip_call_id,
            worker=c.worker,
            caller_sip_code=c.caller_sip_code,
            agent_sip_code=c.agent_sip_code,
            rtp_quality=dict(c.rtp_quality) if c.rtp_quality is not None else None,
            recording_failure=c.recording_failure,
            caller_name=c.caller_name,
            wrapup_code=c.wrapup_code,
            wrapup_notes=c.wrapup_notes,
            offers=[Offer.of(o) for o in offers],
            hold_count=c.hold_count,
            hold_seconds=c.hold_seconds,
            monitors=c.monitors,
            recording_pauses=c.recording_pauses,
            segments=[Segment.of(row) for row in c.segments or ()],
            wrapups=list(c.wrapups or ()),
        )


class CallPageOut(BaseModel):
    items: list[CallItem]
    next_cursor: str | None = Field(description="`cursor` of the next page; null: no more")


class RecordingFileOut(BaseModel):
    role: RecordingRole
    size: int | None = Field(description="bytes; null if the file is missing on disk")


class RecordingItem(BaseModel):
    call_id: str
    queue: str | None
    agent: str | None
    start: datetime = Field(description="answer time (arrival for a voicemail)")
    duration_seconds: float | None = Field(
        description="talk time (the call's length if unanswered)"
    )
    files: list[RecordingFileOut]

    @classmethod
    def of(cls, e: RecordingEntry) -> RecordingItem:
        c = e.call
        start = c.answered_at or c.arrived_at
        duration = c.talk_seconds
        if duration is None and c.ended_at is not None:
            duration = (c.ended_at - start).total_seconds()
        return cls(
            call_id=str(c.id),
            queue=c.queue,
            agent=c.agent,
            start=start,
            duration_seconds=duration,
            files=[RecordingFileOut(role=f.role, size=f.size) for f in e.files],
        )


class RecordingPage(BaseModel):
    items: list[RecordingItem]
    next_cursor: str | None = Field(description="`cursor` of the next page; null: no more")
