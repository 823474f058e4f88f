"""What the switchboard asks the shell to do: frozen dataclasses, carried out in order.

The switchboard (`switchboard.py`) decides; `CallDriver` (`driver.py`) carries out.
Worker commands of one call run in order on that call's media chain; call-record
writes of one call in order on its record chain (retried while the database is
briefly away), so a slow database never delays a caller's audio. `CloseRecord` is the
last effect of a session: the stereo file is made, then the record is closed with
everything in one transaction.

Record effects carry the events (`gateway/events/catalogue.py`) that report the same
change: they are written to the outbox in the same transaction (`Emit` when there is
no record change to go with them), so an event is never lost, nor sent for a change
that was not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.store.callbacks import CallbackTask
from gateway.store.records import Disposition, HangupBy, OfferResult

Events = tuple[ce.Event, ...]


@dataclass(frozen=True, slots=True)
class Send:
    """A command for the worker that holds the call. If the worker refuses it, the
    driver reports back with `Switchboard.command_failed`."""

    call_id: str
    worker_id: str
    command: p.Command


@dataclass(frozen=True, slots=True)
class OpenRecord:
    call_id: str
    sip_call_id: str
    arrived_at: datetime
    did: str | None
    caller: str | None
    trunk: str | None
    worker: str
    queue: str | None
    events: Events = ()
    caller_name: str | None = None  # the From display name, for the screen-pop
    initiation: str | None = None  # "callback": the gateway dialled out (docs/callback.md)
    callback_of: str | None = None  # the call the caller asked to be called back from


@dataclass(frozen=True, slots=True)
class SetQueue:
    """The call overflowed into another queue (the record keeps the last)."""

    call_id: str
    queue: str
    at: datetime
    events: Events = ()


@dataclass(frozen=True, slots=True)
class StartOffer:
    call_id: str
    leg: str  # the driver keeps the store's offer id under this key
    agent: str
    queue: str
    at: datetime
    events: Events = ()


@dataclass(frozen=True, slots=True)
class EndOffer:
    call_id: str
    leg: str
    result: OfferResult
    at: datetime
    sip_code: int | None = None
    events: Events = ()


@dataclass(frozen=True, slots=True)
class MarkAnswered:
    call_id: str
    leg: str
    agent: str
    at: datetime
    events: Events = ()


@dataclass(frozen=True, slots=True)
class CloseRecord:
    """Finalise: make the stereo file, close the record with every fact, count it."""

    call_id: str
    ended_at: datetime
    disposition: Disposition
    queue: str | None
    caller: str | None
    did: str | None
    hangup_by: HangupBy | None
    caller_sip_code: int | None
    agent_sip_code: int | None
    rtp_quality: dict[str, dict[str, float | int]] | None
    recordings: dict[str, str] = field(default_factory=dict)  # role value -> path
    voicemail_box: str | None = None  # the box of a message left (docs/voicemail.md)
    hold_count: int | None = None  # in-call control (docs/in-call.md); None: never answered
    hold_seconds: float | None = None
    monitors: list[dict[str, object]] | None = None
    recording_pauses: list[dict[str, object]] | None = None
    segments: list[dict[str, Any]] | None = None  # after a transfer (transfer_segments.py)
    events: Events = ()  # the driver puts recording.ready / voicemail.left first
    last: bool = True  # False: a call.completed (after wrap-up) is still to come


@dataclass(frozen=True, slots=True)
class Emit:
    """Events about a call with no record change of their own (queued, ended, ...),
    written on the call's record chain so they keep their place in its order."""

    call_id: str
    events: Events
    at: datetime
    last: bool = False  # the call's final write (a call.completed after wrap-up)


@dataclass(frozen=True, slots=True)
class LogAgentState:
    agent: str
    state: str
    reason: str | None
    at: datetime
    events: Events = ()


@dataclass(frozen=True, slots=True)
class CountRefusedInvite:
    """A worker refused an INVITE before routing (e.g. 486, full): the edge fails it
    over to another worker, so it is not a call of its own."""

    worker_id: str
    code: int


@dataclass(frozen=True, slots=True)
class CallbackChange:
    """A queued callback's row (gateway/store/callbacks.py): `task` is a new one, else
    `step` moves the row `callback_id`; its `events` go in the same transaction.
    Changes run in order on one chain of their own."""

    callback_id: str
    at: datetime
    task: CallbackTask | None = None
    step: Callable[[CallbackTask], CallbackTask] | None = None
    events: Events = ()


RecordEffect = OpenRecord | SetQueue | StartOffer | EndOffer | MarkAnswered | CloseRecord | Emit
Effect = Send | RecordEffect | LogAgentState | CountRefusedInvite | CallbackChange
