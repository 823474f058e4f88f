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

The registry is the two unions, ``Command`` and ``Event``: the codec's name tables
(``COMMANDS``, ``EVENTS``), the worker's handler table (checked by a test) and the
message tables in docs/ipc.md (``python -m gateway.ipc.doc``) are all derived from
them. A command's ``RESULT`` names the keys of its result data. Failures are the
exception types of ``errors.py``; on the wire, their ``code``.
"""

from __future__ import annotations

import enum
import typing
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
    # True when the worker lost its control plane and reconnects with live legs: after
    # Welcome it sends one LegSnapshot per leg it had then, SnapshotDone, then every event
    # since, in order (docs/reliability.md, "Control-plane restart")
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class Welcome:
    """The control plane's answer to a valid Hello."""

    version: int


# --------------------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class Ping:
    """Health check; reports the worker's load."""

    NAME: ClassVar[str] = "ping"
    RESULT: ClassVar[tuple[str, ...]] = ("legs", "max_legs", "draining")


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer an incoming leg. ``code`` 183 sends early media (SDP) without answering;
    ``prompt`` is played (looping if ``loop``) as soon as media is up."""

    NAME: ClassVar[str] = "answer"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str
    code: int = 200
    prompt: str | None = None
    loop: bool = False


@dataclass(frozen=True, slots=True)
class Play:
    """Play a WAV on the worker host to a leg (replacing what was playing). ``loop``
    for music on hold; a prompt that ends by itself is reported as ``playback_done``."""

    NAME: ClassVar[str] = "play"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str
    path: str
    loop: bool = False


@dataclass(frozen=True, slots=True)
class StopPlay:
    """Stop what is playing to a leg."""

    NAME: ClassVar[str] = "stop_play"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str


@dataclass(frozen=True, slots=True)
class Dial:
    """Place an outgoing leg to ``uri``. ``leg`` names it (default: the worker picks
    ``<worker>-out-<n>``). ``proxy`` is the next hop (e.g. the edge): the call is placed
    from a local account whose outbound proxy it is, so pjsip routes through it.
    ``caller_id`` is the From URI, ``timeout`` seconds until it is cancelled (the leg
    ends 408), ``account`` a registered account to place the call from."""

    NAME: ClassVar[str] = "dial"
    RESULT: ClassVar[tuple[str, ...]] = ("leg",)
    uri: str
    leg: str | None = None
    proxy: str | None = None
    caller_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the audio of two legs both ways (stops the playback of a leg that hears
    the other). ``linked``: when either leg ends, the worker hangs up the other (a
    conversation ends when a party leaves, without waiting for a control-plane round
    trip). ``a_hears_b`` / ``b_hears_a`` false mute one direction (a listening
    supervisor, see ``Mix``)."""

    NAME: ClassVar[str] = "bridge"
    RESULT: ClassVar[tuple[str, ...]] = ()
    a: str
    b: str
    linked: bool = True
    a_hears_b: bool = True
    b_hears_a: bool = True


@dataclass(frozen=True, slots=True)
class Mix:
    """Change which way the audio of a bridge flows (hold, supervisor modes); the
    bridge, its link and any playback stay. ``bad_state`` if the legs are not bridged."""

    NAME: ClassVar[str] = "mix"
    RESULT: ClassVar[tuple[str, ...]] = ()
    a: str
    b: str
    a_hears_b: bool
    b_hears_a: bool


@dataclass(frozen=True, slots=True)
class Unbridge:
    """Disconnect the audio of two bridged legs (and unlink them)."""

    NAME: ClassVar[str] = "unbridge"
    RESULT: ClassVar[tuple[str, ...]] = ()
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class RecordStart:
    """Record what is *received* from ``leg`` into ``path`` (8 kHz 16-bit mono WAV on
    the worker host); ``recording_closed`` reports the file once its header is final."""

    NAME: ClassVar[str] = "record_start"
    RESULT: ClassVar[tuple[str, ...]] = ("path",)
    leg: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordPause:
    """Pause the leg's recording: silence is written meanwhile, so the file keeps the
    call's timeline (PCI pause, the agent's side on hold)."""

    NAME: ClassVar[str] = "record_pause"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str


@dataclass(frozen=True, slots=True)
class RecordResume:
    """Resume a paused recording."""

    NAME: ClassVar[str] = "record_resume"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str


@dataclass(frozen=True, slots=True)
class RecordStop:
    """Stop the leg's recording."""

    NAME: ClassVar[str] = "record_stop"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str


@dataclass(frozen=True, slots=True)
class SendDtmf:
    """Send digits as RFC 2833 telephone-events (the leg must be answered)."""

    NAME: ClassVar[str] = "send_dtmf"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str
    digits: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """Reject (``code`` is the final response while an incoming leg is not answered),
    cancel or BYE a leg."""

    NAME: ClassVar[str] = "hangup"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str
    code: int = 603
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Register:
    """Create (or replace) a registering account, e.g. the trunk registration.
    ``contact`` is forced as the Contact URI (the edge's address)."""

    NAME: ClassVar[str] = "register"
    RESULT: ClassVar[tuple[str, ...]] = ("account", "replaced")
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
    """Remove a registering account (sends REGISTER with Expires: 0)."""

    NAME: ClassVar[str] = "unregister"
    RESULT: ClassVar[tuple[str, ...]] = ()
    account: str


@dataclass(frozen=True, slots=True)
class Drain:
    """Refuse new incoming calls (503) and new dials from now on; existing legs carry on."""

    NAME: ClassVar[str] = "drain"
    RESULT: ClassVar[tuple[str, ...]] = ("legs",)


@dataclass(frozen=True, slots=True)
class Annotate:
    """Keep ``note`` with ``leg``, replacing the last one: the control plane's own record
    of what the leg is for (its session, as JSON). The worker never reads it; it hands
    it back in ``LegSnapshot`` to a control plane that adopts it after a restart."""

    NAME: ClassVar[str] = "annotate"
    RESULT: ClassVar[tuple[str, ...]] = ()
    leg: str
    note: dict[str, object]


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Hang up what is left after ``grace`` seconds, free media, ``libDestroy``, exit 0."""

    NAME: ClassVar[str] = "shutdown"
    RESULT: ClassVar[tuple[str, ...]] = ("legs",)
    grace: float = 0.0


Command = (
    Ping
    | Answer
    | Play
    | StopPlay
    | Dial
    | Bridge
    | Mix
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
    | Annotate
    | Shutdown
)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of one command. ``data`` carries e.g. ``{"leg": ...}`` for Dial; a
    failure carries the ``code`` of an ``errors.WorkerError`` subclass."""

    id: int
    ok: bool
    data: dict[str, object] = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""


# --------------------------------------------------------------------------- events
class LegState(enum.Enum):
    """What a leg reports (pjsip's invite states; an incoming leg's first report is
    ``incoming_call``). On the wire: the value."""

    CALLING = "calling"
    EARLY = "early"
    CONNECTING = "connecting"
    CONFIRMED = "confirmed"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A new incoming leg (the INVITE's headers). ``source`` is ip:port; ``trunk`` the
    edge's ``X-Contactgw-Trunk``: the allow-list entry that admitted the call."""

    NAME: ClassVar[str] = "incoming_call"
    leg: str
    call_id: str
    request_uri: str
    from_uri: str
    to_uri: str
    source: str
    pai: str | None = None
    diversion: str | None = None
    trunk: str | None = None


@dataclass(frozen=True, slots=True)
class LegStateChanged:
    """A leg changed state; ``code``/``reason`` are the last SIP status. A leg is
    reported ``disconnected`` exactly once, after which its name is free."""

    NAME: ClassVar[str] = "leg_state"
    leg: str
    state: LegState
    code: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """A digit received from the leg; ``duration_ms`` 0 when unknown."""

    NAME: ClassVar[str] = "dtmf"
    leg: str
    digit: str
    duration_ms: int = 0


@dataclass(frozen=True, slots=True)
class LegHold:
    """The far end put the leg on hold (a re-INVITE with a=sendonly or a=inactive:
    ``held``) or took it off hold. The worker changes no audio: the control plane does."""

    NAME: ClassVar[str] = "leg_hold"
    leg: str
    held: bool


@dataclass(frozen=True, slots=True)
class PlaybackDone:
    """A non-looping prompt played to its end."""

    NAME: ClassVar[str] = "playback_done"
    leg: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordingClosed:
    """A recording is complete: sent once the WAV header is final. ``duration`` in s."""

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
    """The worker's load, on every change."""

    NAME: ClassVar[str] = "capacity"
    legs: int
    max_legs: int
    draining: bool


@dataclass(frozen=True, slots=True)
class RegistrationState:
    """A registering account's state after each REGISTER transaction."""

    NAME: ClassVar[str] = "registration_state"
    account: str
    code: int
    reason: str
    registered: bool
    expires: int


@dataclass(frozen=True, slots=True)
class CallRejected:
    """pjsua refused an INVITE before any callback (486 when all slots are in use)."""

    NAME: ClassVar[str] = "call_rejected"
    call_id: str
    code: int
    reason: str
    from_uri: str = ""


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """The agent's phone sent REFER on ``leg`` (docs/transfer.md). The worker accepted it
    the RFC 3515 way (202, NOTIFYs of the new call's progress) and dialled ``refer_to``
    as the new leg ``new_leg`` (with the Replaces header of an attended transfer); the
    control plane decides what that leg becomes. ``new_leg`` is "" and ``code`` the
    failure when no leg could be placed (the phone got a failure NOTIFY or response)."""

    NAME: ClassVar[str] = "transfer_requested"
    leg: str
    new_leg: str
    refer_to: str
    replaces: bool = False
    code: int = 202


@dataclass(frozen=True, slots=True)
class LegSnapshot:
    """After a resumed ``Hello``: one leg as it was when the worker lost its control
    plane (the events since follow ``SnapshotDone``). ``direction`` is "in" (an INVITE
    to the worker) or "out" (dialled by it); ``bridged_to`` the legs whose audio it
    hears through a Bridge or Mix ("" none, else comma-separated); ``recording`` the
    path of its open recording; ``playing`` the prompt or music it hears."""

    NAME: ClassVar[str] = "leg_snapshot"
    leg: str
    sip_call_id: str
    direction: str
    state: LegState
    remote: str
    note: dict[str, object] = field(default_factory=dict)
    bridged_to: str = ""
    recording: str = ""
    recording_paused: bool = False
    playing: str = ""
    playing_loop: bool = False
    held: bool = False


@dataclass(frozen=True, slots=True)
class SnapshotDone:
    """The end of a resumed worker's snapshot: ``legs`` snapshots were sent, the worker
    was without a control plane for ``orphaned_s`` seconds, and ``events`` buffered
    events follow (the worker gives up and ends its calls rather than drop one)."""

    NAME: ClassVar[str] = "snapshot_done"
    legs: int
    orphaned_s: float
    events: int


Event = (
    IncomingCall
    | LegStateChanged
    | TransferRequested
    | DtmfDigit
    | LegHold
    | PlaybackDone
    | RecordingClosed
    | RtpQuality
    | Capacity
    | RegistrationState
    | CallRejected
    | LegSnapshot
    | SnapshotDone
)


# --------------------------------------------------------------------------- registry
def _by_name(union: object) -> dict[str, type]:
    table: dict[str, type] = {}
    for cls in typing.get_args(union):
        if cls.NAME in table:
            raise TypeError(f"{cls.__name__} and {table[cls.NAME].__name__} share {cls.NAME!r}")
        table[cls.NAME] = cls
    return table


COMMANDS: dict[str, type[Command]] = _by_name(Command)
EVENTS: dict[str, type[Event]] = _by_name(Event)
