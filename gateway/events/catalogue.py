"""The one module that builds events for the ticketing side (see docs/events.md).

Every event type is a frozen dataclass here: its CloudEvents `type`, its schema
`VERSION`, which field is the CloudEvents `subject`, and its payload fields. `build()`
turns one into an `OutboxMessage` for the outbox (written in the same transaction as
the state change it reports; `sequence` is assigned per subject by the store). The
JSON Schemas in docs/events/ are generated from these classes, so the payload, the
schema and the AsyncAPI document cannot drift apart. Consumers must ignore fields
they do not know, and treat an enumeration value they do not know as "other": a new
field or a new enumeration value is not a version change; a removed or re-typed field
is (VERSION + 1, and a new schema file).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Literal, Protocol

from gateway.store.records import Disposition, OutboxMessage

PREFIX = "io.contactgw."

RouteKind = Literal["queue", "closed", "voicemail", "unknown"]
OfferFailureReason = Literal["no-answer", "busy", "rejected", "unreachable", "cancelled"]
HangupParty = Literal["caller", "agent", "system"]
AlertLevel = Literal["warning", "critical", "cleared"]
RecordingRole = Literal["caller", "agent", "stereo", "voicemail"]
RecordingFailureReason = Literal["disk_full", "io_error", "bad_format", "missing", "encoding"]
AgentStateName = Literal["logged-out", "available", "offered", "on-call", "wrap-up", "paused"]
TransferFlowName = Literal["blind", "attended"]
TransferTargetKind = Literal["agent", "queue", "number"]
TransferOrigin = Literal["api", "refer"]  # the API, or a REFER from the agent's phone
QueueKpi = Literal[
    "waiting", "longest_wait", "service_level", "service_level_30m", "asa", "aht", "abandon_rate"
]


class EventData(Protocol):
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    SUBJECT: ClassVar[str]  # the field that is the CloudEvents subject
    DESCRIPTION: ClassVar[str]


# --------------------------------------------------------------------------- calls
@dataclass(frozen=True, slots=True)
class CallReceived:
    TYPE: ClassVar[str] = PREFIX + "call.received"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "An INVITE from a trunk was routed (first event of a call)."
    call_id: str
    sip_call_id: str
    did: str | None
    caller: str | None
    trunk: str | None
    worker: str
    route: RouteKind
    queue: str | None
    arrived_at: datetime


@dataclass(frozen=True, slots=True)
class CallQueued:
    TYPE: ClassVar[str] = PREFIX + "call.queued"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The call entered a queue (again, after an overflow)."
    call_id: str
    queue: str
    position: int
    priority: int


@dataclass(frozen=True, slots=True)
class CallOffered:
    TYPE: ClassVar[str] = PREFIX + "call.offered"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "An agent's phone is being rung for the call."
    call_id: str
    queue: str
    agent: str
    ring_timeout_seconds: float
    attempt: int  # 1 for the first agent rung for this call


@dataclass(frozen=True, slots=True)
class CallOfferFailed:
    TYPE: ClassVar[str] = PREFIX + "call.offer_failed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "An offer ended without the agent taking the call."
    call_id: str
    queue: str
    agent: str
    reason: OfferFailureReason
    sip_code: int | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    TYPE: ClassVar[str] = PREFIX + "call.answered"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "An agent answered: caller and agent are bridged."
    call_id: str
    queue: str
    agent: str
    wait_seconds: float  # from arrival


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    TYPE: ClassVar[str] = PREFIX + "call.abandoned"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The caller hung up while waiting in a queue."
    call_id: str
    queue: str
    position: int | None  # when the caller left (None: unknown)
    original_position: int | None  # on entering the first queue
    wait_seconds: float
    while_ringing: bool


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    TYPE: ClassVar[str] = PREFIX + "call.overflowed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The call moved to another queue (max wait, full, empty...)."
    call_id: str
    queue: str  # the queue it moved to
    from_queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    TYPE: ClassVar[str] = PREFIX + "call.ended"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The caller's leg is gone (the agent, if any, enters wrap-up)."
    call_id: str
    queue: str | None
    agent: str | None
    disposition: Disposition
    hangup_by: HangupParty | None
    caller_sip_code: int | None
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class RtpSummary:
    rx_packets: int
    rx_loss: int
    rx_jitter_ms: float
    tx_packets: int
    tx_loss: int


@dataclass(frozen=True, slots=True)
class AgentWrapup:
    """One agent's after-call work on the call: the first agent's and, after a transfer,
    each target's (asterisk issue 607)."""

    agent: str
    seconds: float | None  # its wrap-up time; null: it posted a code but never wrapped up
    code: str | None  # one of the queue's wrapup_codes
    notes: str | None


@dataclass(frozen=True, slots=True)
class CallCompleted:
    TYPE: ClassVar[str] = PREFIX + "call.completed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "Last event of a call: the full summary, after the agent's wrap-up (ended by the "
        "wrap-up time or by the agent submitting its wrap-up code and notes)."
    )
    call_id: str
    sip_call_id: str
    caller: str | None
    did: str | None
    trunk: str | None
    queue: str | None
    agent: str | None
    disposition: Disposition
    hangup_by: HangupParty | None
    arrived_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    wait_seconds: float | None
    talk_seconds: float | None
    wrapup_seconds: float | None
    caller_sip_code: int | None
    agent_sip_code: int | None
    rtp_caller: RtpSummary | None
    rtp_agent: RtpSummary | None
    recording_id: str | None  # the call id when the call was recorded
    wrapup_code: str | None = None  # the agent's wrap-up code (one of the queue's wrapup_codes)
    wrapup_notes: str | None = None  # the agent's free-text notes on the call
    # every agent's wrap-up, in the order they took the call (a transfer adds its target);
    # wrapup_seconds is their sum, wrapup_code/notes the last agent's (`agent`)
    wrapups: tuple[AgentWrapup, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordingFile:
    role: RecordingRole
    path: str
    bytes: int
    duration_seconds: float
    sha256: str


@dataclass(frozen=True, slots=True)
class RecordingReady:
    TYPE: ClassVar[str] = PREFIX + "recording.ready"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A call's recordings are closed, mixed and checksummed: one event per `segment` "
        "(1, then one per transfer's agent connection; `segments` is how many the call "
        "has), each with that segment's files and `url`."
    )
    call_id: str
    queue: str | None
    recording_id: str
    files: tuple[RecordingFile, ...]
    url: str  # the API path that serves the segment's stereo (or only) file
    segment: int = 1  # which agent connection (docs/transfer.md "Segments")
    segments: int = 1  # how many the call has: one recording.ready each


@dataclass(frozen=True, slots=True)
class RecordingFailed:
    TYPE: ClassVar[str] = PREFIX + "recording.failed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A call's recording could not be finished (full disk, unreadable or missing leg, "
        "encoding); the call itself went on. `files` lists what was still finished."
    )
    call_id: str
    queue: str | None
    reason: RecordingFailureReason
    detail: str  # the error, e.g. "[Errno 28] No space left on device"
    files: tuple[RecordingFile, ...]


@dataclass(frozen=True, slots=True)
class VoicemailLeft:
    TYPE: ClassVar[str] = PREFIX + "voicemail.left"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A caller left a voicemail message in `box` (the routing action's box, else the "
        "queue's name). `audio_url` plays it through the API (and marks it listened); "
        "`url` is the call's recording download."
    )
    call_id: str
    queue: str | None
    caller: str | None
    did: str | None
    duration_seconds: float
    path: str
    url: str
    box: str
    audio_url: str  # /api/v1/voicemail/{call_id}/audio


@dataclass(frozen=True, slots=True)
class VoicemailHandled:
    TYPE: ClassVar[str] = PREFIX + "voicemail.handled"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A user marked a voicemail message handled (POST /api/v1/voicemail/{call_id}/handled)."
    )
    call_id: str
    box: str
    handled_by: str
    note: str | None


# --------------------------------------------------------------------------- transfers
@dataclass(frozen=True, slots=True)
class TransferStarted:
    TYPE: ClassVar[str] = PREFIX + "transfer.started"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "An agent or supervisor started transferring a connected call."
    transfer_id: str
    call_id: str
    queue: str | None
    flow: TransferFlowName
    target_kind: TransferTargetKind
    target: str  # the agent id, queue name or number
    from_agent: str  # the agent the caller was talking to
    origin: TransferOrigin
    priority_bump: int  # added to the call's priority when it is re-queued


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    TYPE: ClassVar[str] = PREFIX + "transfer.completed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "The caller is with the transfer's target (or back in a queue); the transferring "
        "agent is in wrap-up."
    )
    transfer_id: str
    call_id: str
    queue: str | None
    flow: TransferFlowName
    target_kind: TransferTargetKind
    target: str
    from_agent: str
    # the record's segment the target's connection began (docs/transfer.md); null: a queue
    segment: int | None = None


@dataclass(frozen=True, slots=True)
class TransferFailed:
    TYPE: ClassVar[str] = PREFIX + "transfer.failed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A transfer did not reach its target (or was cancelled): the caller is back with "
        "the agent (attended) or back in the queue (blind), never left in silence."
    )
    transfer_id: str
    call_id: str
    queue: str | None
    flow: TransferFlowName
    target_kind: TransferTargetKind
    target: str
    from_agent: str
    reason: str  # e.g. "no-answer", "busy", "cancelled", "no free leg on worker w1"
    sip_code: int | None
    outcome: Literal["back-to-agent", "requeued", "ended"]


# --------------------------------------------------------------------------- callbacks
CallbackFailure = Literal["no-answer", "busy", "rejected", "unreachable", "agent-gone"]


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    TYPE: ClassVar[str] = PREFIX + "callback.requested"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A waiting caller confirmed a queued callback to `number`; it keeps the place of "
        "`call_id` (its arrival and priority) in `queue` (docs/callback.md)."
    )
    callback_id: str
    call_id: str  # the original call
    queue: str
    number: str
    position: int | None


@dataclass(frozen=True, slots=True)
class CallbackDialing:
    TYPE: ClassVar[str] = PREFIX + "callback.dialing"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "An agent took the callback (after its whisper) and the gateway dials the customer "
        "through the trunk; `outbound_call_id` is this attempt's call record."
    )
    callback_id: str
    call_id: str
    queue: str
    agent: str
    number: str
    attempt: int
    outbound_call_id: str


@dataclass(frozen=True, slots=True)
class CallbackCompleted:
    TYPE: ClassVar[str] = PREFIX + "callback.completed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The customer answered: bridged with the agent and recorded."
    callback_id: str
    call_id: str
    queue: str
    agent: str
    attempt: int
    outbound_call_id: str


@dataclass(frozen=True, slots=True)
class CallbackFailed:
    TYPE: ClassVar[str] = PREFIX + "callback.failed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "An attempt failed (`reason`, the SIP `code`); `retry_at` is when the next one may "
        "be dialled, null when the retries are used up (the callback is over)."
    )
    callback_id: str
    call_id: str
    queue: str
    attempt: int
    reason: CallbackFailure
    code: int | None
    retry_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallbackCancelled:
    TYPE: ClassVar[str] = PREFIX + "callback.cancelled"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "A supervisor cancelled a pending callback."
    callback_id: str
    call_id: str
    queue: str
    cancelled_by: str


# --------------------------------------------------------------------------- in-call control
InCallSource = Literal["api", "phone", "dtmf"]  # an API request, a re-INVITE, a DTMF code
MonitorModeName = Literal["listen", "whisper", "barge"]


@dataclass(frozen=True, slots=True)
class CallHeld:
    TYPE: ClassVar[str] = PREFIX + "call.held"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "The connected call was put on hold (the caller hears the queue's music, the agent "
        "is cut from the caller) by the agent's phone or the API (docs/in-call.md)."
    )
    call_id: str
    agent: str | None
    source: InCallSource
    by: str  # the API user, or the agent's phone
    hold_count: int  # holds of this call so far, this one included


@dataclass(frozen=True, slots=True)
class CallResumed:
    TYPE: ClassVar[str] = PREFIX + "call.resumed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The held call is bridged with its agent again."
    call_id: str
    agent: str | None
    source: InCallSource
    by: str
    held_seconds: float  # this hold
    hold_seconds: float  # every hold of the call so far


@dataclass(frozen=True, slots=True)
class MonitorStarted:
    TYPE: ClassVar[str] = PREFIX + "monitor.started"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "A supervisor's phone answered and monitors the call: listen (hears both, heard by "
        "none), whisper (heard by the agent only) or barge (three-way)."
    )
    call_id: str
    agent: str | None
    supervisor: str
    mode: MonitorModeName
    by: str  # the API user who started it


@dataclass(frozen=True, slots=True)
class MonitorChanged:
    TYPE: ClassVar[str] = PREFIX + "monitor.changed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The supervisor switched mode (API, or DTMF 4/5/6 from its phone)."
    call_id: str
    supervisor: str
    mode: MonitorModeName
    previous_mode: MonitorModeName
    source: InCallSource
    by: str


@dataclass(frozen=True, slots=True)
class MonitorEnded:
    TYPE: ClassVar[str] = PREFIX + "monitor.ended"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "Monitoring is over: ended by the API, the supervisor hung up (or never answered: "
        "`reason`), or the conversation ended."
    )
    call_id: str
    supervisor: str
    mode: MonitorModeName
    reason: str  # api, supervisor-hung-up, conversation-ended, no-answer, no-free-leg, ...
    code: int | None  # the supervisor leg's last SIP code


@dataclass(frozen=True, slots=True)
class RecordingPaused:
    TYPE: ClassVar[str] = PREFIX + "recording.paused"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = (
        "PCI pause: both channels of the recording hold silence from `offset_seconds` "
        "(into `segment`'s recording: 1 until a transfer) until recording.resumed or the "
        "end of the call."
    )
    call_id: str
    agent: str | None
    source: InCallSource
    by: str
    offset_seconds: float
    segment: int = 1  # the segment whose files hold the silence (docs/transfer.md)


@dataclass(frozen=True, slots=True)
class RecordingResumed:
    TYPE: ClassVar[str] = PREFIX + "recording.resumed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "call_id"
    DESCRIPTION: ClassVar[str] = "The PCI pause is over: the recording takes both parties again."
    call_id: str
    agent: str | None
    source: InCallSource
    by: str
    offset_seconds: float
    paused_seconds: float
    segment: int = 1  # the paused span's segment (offset_seconds is into its files)


# --------------------------------------------------------------------------- agents, queues
@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    TYPE: ClassVar[str] = PREFIX + "agent.state_changed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "agent"
    DESCRIPTION: ClassVar[str] = "An agent changed state (login, offer, talk, wrap-up, pause...)."
    agent: str
    state: AgentStateName
    previous_state: AgentStateName
    seconds_in_previous: float | None  # None: not known since this process started
    reason: str | None  # the pause reason, or what caused the change
    call_id: str | None


@dataclass(frozen=True, slots=True)
class QueueThresholdCrossed:
    TYPE: ClassVar[str] = PREFIX + "queue.threshold_crossed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "queue"
    DESCRIPTION: ClassVar[str] = "A queue KPI crossed an alert threshold (or went back)."
    queue: str
    kpi: QueueKpi
    level: AlertLevel
    value: float
    threshold: float | None  # the one crossed; None when cleared


# --------------------------------------------------------------------------- platform
@dataclass(frozen=True, slots=True)
class TrunkRegistrationChanged:
    TYPE: ClassVar[str] = PREFIX + "trunk.registration_changed"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "trunk"
    DESCRIPTION: ClassVar[str] = "A trunk registration succeeded, failed or went away."
    trunk: str
    registered: bool
    code: int | None
    reason: str
    worker: str | None


@dataclass(frozen=True, slots=True)
class WorkerUp:
    TYPE: ClassVar[str] = PREFIX + "worker.up"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "worker"
    DESCRIPTION: ClassVar[str] = "A media worker connected and takes calls."
    worker: str
    pid: int | None


@dataclass(frozen=True, slots=True)
class WorkerDown:
    TYPE: ClassVar[str] = PREFIX + "worker.down"
    VERSION: ClassVar[int] = 1
    SUBJECT: ClassVar[str] = "worker"
    DESCRIPTION: ClassVar[str] = "A media worker died or stopped; its calls were ended."
    worker: str
    exit_code: int | None
    legs_lost: int


Event = (
    CallReceived
    | CallQueued
    | CallOffered
    | CallOfferFailed
    | CallAnswered
    | CallAbandoned
    | CallOverflowed
    | CallEnded
    | CallCompleted
    | RecordingReady
    | RecordingFailed
    | VoicemailLeft
    | VoicemailHandled
    | CallbackRequested
    | CallbackDialing
    | CallbackCompleted
    | CallbackFailed
    | CallbackCancelled
    | TransferStarted
    | TransferCompleted
    | TransferFailed
    | CallHeld
    | CallResumed
    | MonitorStarted
    | MonitorChanged
    | MonitorEnded
    | RecordingPaused
    | RecordingResumed
    | AgentStateChanged
    | QueueThresholdCrossed
    | TrunkRegistrationChanged
    | WorkerUp
    | WorkerDown
)
CATALOGUE: tuple[type[EventData], ...] = (
    CallReceived,
    CallQueued,
    CallOffered,
    CallOfferFailed,
    CallAnswered,
    CallAbandoned,
    CallOverflowed,
    CallEnded,
    CallCompleted,
    RecordingReady,
    RecordingFailed,
    VoicemailLeft,
    VoicemailHandled,
    CallbackRequested,
    CallbackDialing,
    CallbackCompleted,
    CallbackFailed,
    CallbackCancelled,
    TransferStarted,
    TransferCompleted,
    TransferFailed,
    CallHeld,
    CallResumed,
    MonitorStarted,
    MonitorChanged,
    MonitorEnded,
    RecordingPaused,
    RecordingResumed,
    AgentStateChanged,
    QueueThresholdCrossed,
    TrunkRegistrationChanged,
    WorkerUp,
    WorkerDown,
)
BY_TYPE: dict[str, type[EventData]] = {cls.TYPE: cls for cls in CATALOGUE}
SCHEMA_VERSIONS: dict[str, int] = {cls.TYPE: cls.VERSION for cls in CATALOGUE}


def _json(value: object) -> object:
    if isinstance(value, datetime):  # RFC 3339, UTC; a naive time is taken as UTC
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def payload(data: Event) -> dict[str, object]:
    """The event's `data`, as JSON-ready values (times as RFC 3339 UTC)."""
    out = _json(data)
    assert isinstance(out, dict)
    return out


def build(data: Event, *, at: datetime) -> OutboxMessage:
    """The outbox row for `data`, happening at `at` (the CloudEvents `time`)."""
    subject = getattr(data, data.SUBJECT)
    queue = getattr(data, "queue", None)
    return OutboxMessage(
        type=data.TYPE,
        payload=payload(data),
        created_at=at,
        subject=str(subject),
        queue=queue if isinstance(queue, str) else None,
    )


__all__ = ["BY_TYPE", "CATALOGUE", "SCHEMA_VERSIONS", "Event", "build", "payload"]
