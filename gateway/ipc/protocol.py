"""Messages between the control plane and a pjsua2 worker (protocol version 1).

Theory of operation
-------------------
Every message is a small frozen dataclass. On the wire it is one JSON object per
line (see ``codec.py`` and docs/ipc.md)::

    {"t": "cmd", "id": 7, "name": "dial", "args": {...}}       control plane -> worker
    {"t": "res", "id": 7, "ok": true, "data": {...}}           worker -> control plane
    {"t": "res", "id": 7, "ok": false, "error": {"code": ..., "message": ...}}
    {"t": "evt", "name": "leg_state", "data": {...}}           worker -> control plane
    {"t": "hello", ...} / {"t": "welcome", ...}                handshake

A command's class declares its wire ``NAME``; the same goes for events. Legs are
named by strings chosen by whoever creates them: the worker names incoming legs
(``"<worker>-in-<n>"``), the control plane may name the legs it dials (``Dial.leg``)
so that events for a new leg can never arrive before the name is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

PROTOCOL_VERSION = 1


# --------------------------------------------------------------------------- handshake
@dataclass(frozen=True, slots=True)
class Hello:
    """First line a worker sends after connecting."""

    version: int
    worker_id: str
    pid: int
    sip_address: str
    sip_port: int
    max_legs: int
    token: str = ""


@dataclass(frozen=True, slots=True)
class Welcome:
    """The control plane's answer to a valid Hello."""

    version: int


# --------------------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class Ping:
    NAME: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer an incoming leg. ``code`` 183 sends early media (SDP) without answering;
    ``prompt`` is played (looping if ``loop``) as soon as media is up."""

    NAME: ClassVar[str] = "answer"
    leg: str
    code: int = 200
    prompt: str | None = None
    loop: bool = False


@dataclass(frozen=True, slots=True)
class Play:
    """Play a WAV to a leg (replacing what was playing). ``loop`` for music on hold."""

    NAME: ClassVar[str] = "play"
    leg: str
    path: str
    loop: bool = False


@dataclass(frozen=True, slots=True)
class StopPlay:
    NAME: ClassVar[str] = "stop_play"
    leg: str


@dataclass(frozen=True, slots=True)
class Dial:
    """Place an outgoing leg. ``proxy`` is the next hop (e.g. the edge), used as the outbound proxy of a per-proxy account,
    ``caller_id`` the From URI, ``timeout`` seconds until it is cancelled (408)."""

    NAME: ClassVar[str] = "dial"
    uri: str
    leg: str | None = None
    proxy: str | None = None
    caller_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the audio of two legs both ways (stops their playback). ``linked``: when
    either leg ends, the worker hangs up the other (a conversation ends when a party
    leaves, without waiting for a control-plane round trip)."""

    NAME: ClassVar[str] = "bridge"
    a: str
    b: str
    linked: bool = True


@dataclass(frozen=True, slots=True)
class Unbridge:
    NAME: ClassVar[str] = "unbridge"
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class RecordStart:
    """Record what is received from ``leg`` into ``path`` (8 kHz mono WAV)."""

    NAME: ClassVar[str] = "record_start"
    leg: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordPause:
    NAME: ClassVar[str] = "record_pause"
    leg: str


@dataclass(frozen=True, slots=True)
class RecordResume:
    NAME: ClassVar[str] = "record_resume"
    leg: str


@dataclass(frozen=True, slots=True)
class RecordStop:
    NAME: ClassVar[str] = "record_stop"
    leg: str


@dataclass(frozen=True, slots=True)
class SendDtmf:
    """Send digits as RFC 2833 telephone-events."""

    NAME: ClassVar[str] = "send_dtmf"
    leg: str
    digits: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """Reject (code >= 300, before answer), cancel or BYE a leg."""

    NAME: ClassVar[str] = "hangup"
    leg: str
    code: int = 603
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Register:
    """Create (or replace) a registering account, e.g. the trunk registration.
    ``contact`` is forced as the Contact URI (the edge's address)."""

    NAME: ClassVar[str] = "register"
    account: str
    registrar: str
    id_uri: str
    username: str = ""
    password: str = ""
    realm: str = "*"
    contact: str | None = None
    proxy: str | None = None
    expires: int = 300


@dataclass(frozen=True, slots=True)
class Unregister:
    NAME: ClassVar[str] = "unregister"
    account: str


@dataclass(frozen=True, slots=True)
class Drain:
    """Refuse new incoming calls (503) from now on; existing legs carry on."""

    NAME: ClassVar[str] = "drain"


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Hang up what is left after ``grace`` seconds, destroy the library, exit 0."""

    NAME: ClassVar[str] = "shutdown"
    grace: float = 0.0


Command = (
    Ping
    | Answer
    | Play
    | StopPlay
    | Dial
    | Bridge
    | Unbridge
    | RecordStart
    | RecordPause
    | RecordResume
    | RecordStop
    | SendDtmf
    | Hangup
    | Register
    | Unregister
    | Drain
    | Shutdown
)
COMMANDS: dict[str, type] = {
    c.NAME: c
    for c in (
        Ping,
        Answer,
        Play,
        StopPlay,
        Dial,
        Bridge,
        Unbridge,
        RecordStart,
        RecordPause,
        RecordResume,
        RecordStop,
        SendDtmf,
        Hangup,
        Register,
        Unregister,
        Drain,
        Shutdown,
    )
}


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of one command. ``data`` carries e.g. ``{"leg": ...}`` for Dial."""

    id: int
    ok: bool
    data: dict[str, object] = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""


# Error codes a worker may return (transport-neutral, stable strings).
E_NO_SUCH_LEG = "no_such_leg"
E_CAPACITY = "capacity"
E_DRAINING = "draining"
E_BAD_STATE = "bad_state"
E_BAD_ARGS = "bad_args"
E_SIP = "sip_error"
E_INTERNAL = "internal"
E_WORKER_GONE = "worker_gone"  # produced by the supervisor, never on the wire


# --------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class IncomingCall:
    NAME: ClassVar[str] = "incoming_call"
    leg: str
    call_id: str
    request_uri: str
    from_uri: str
    to_uri: str
    source: str
    pai: str | None = None
    diversion: str | None = None
    trunk: str | None = None  # the edge's X-Contactgw-Trunk: which allow-list entry matched


@dataclass(frozen=True, slots=True)
class LegState:
    """``state``: calling, early, connecting, confirmed, disconnected."""

    NAME: ClassVar[str] = "leg_state"
    leg: str
    state: str
    code: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    NAME: ClassVar[str] = "dtmf"
    leg: str
    digit: str
    duration_ms: int = 0


@dataclass(frozen=True, slots=True)
class PlaybackDone:
    NAME: ClassVar[str] = "playback_done"
    leg: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordingClosed:
    NAME: ClassVar[str] = "recording_closed"
    leg: str
    path: str
    duration: float
    bytes: int


@dataclass(frozen=True, slots=True)
class RtpQuality:
    """Quality of a leg at hang-up from pjmedia's RTCP stats: packets and losses each
    way, and the mean receive interarrival jitter (RFC 3550) in ms."""

    NAME: ClassVar[str] = "rtp_quality"
    leg: str
    rx_packets: int
    rx_loss: int
    rx_jitter_ms: float
    tx_packets: int
    tx_loss: int


@dataclass(frozen=True, slots=True)
class Capacity:
    NAME: ClassVar[str] = "capacity"
    legs: int
    max_legs: int
    draining: bool


@dataclass(frozen=True, slots=True)
class RegistrationState:
    NAME: ClassVar[str] = "registration_state"
    account: str
    code: int
    reason: str
    registered: bool
    expires: int


@dataclass(frozen=True, slots=True)
class CallRejected:
    """pjsua refused an INVITE before any callback (e.g. 486 when all slots are full)."""

    NAME: ClassVar[str] = "call_rejected"
    call_id: str
    code: int
    reason: str
    from_uri: str = ""


Event = (
    IncomingCall
    | LegState
    | DtmfDigit
    | PlaybackDone
    | RecordingClosed
    | RtpQuality
    | Capacity
    | RegistrationState
    | CallRejected
)
EVENTS: dict[str, type] = {
    e.NAME: e
    for e in (
        IncomingCall,
        LegState,
        DtmfDigit,
        PlaybackDone,
        RecordingClosed,
        RtpQuality,
        Capacity,
        RegistrationState,
        CallRejected,
    )
}
