"""The write operations the control plane hands to the write-behind (write_behind.py).

Each operation is self-contained (it names its rows by natural keys, not by ids the
database hands out), so it can be journaled as one JSON line, replayed after a
restart and applied twice without a second row: calls by ``id``, offers by
``(call_id, agent, offered_at)``, agent-state rows by ``(agent, state, at)``, events by
their CloudEvents ``id``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from gateway.store.records import Disposition, HangupBy, OfferResult, OutboxMessage

Events = tuple[OutboxMessage, ...]


@dataclass(frozen=True, slots=True)
class OpenCall:
    call_id: uuid.UUID
    sip_call_id: str
    arrived_at: datetime
    did: str | None = None
    caller: str | None = None
    trunk: str | None = None
    worker: str | None = None
    queue: str | None = None
    events: Events = ()
    caller_name: str | None = None
    initiation: str | None = None  # "callback" (gateway/store/callbacks.py)
    callback_of: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class SetQueue:
    call_id: uuid.UUID
    queue: str
    events: Events = ()


@dataclass(frozen=True, slots=True)
class StartOffer:
    call_id: uuid.UUID
    agent: str
    offered_at: datetime
    queue: str | None = None
    events: Events = ()


@dataclass(frozen=True, slots=True)
class EndOffer:
    call_id: uuid.UUID
    agent: str
    offered_at: datetime  # with call_id and agent: the offer's natural key
    result: OfferResult
    ended_at: datetime
    sip_code: int | None = None
    events: Events = ()


@dataclass(frozen=True, slots=True)
class Answered:
    call_id: uuid.UUID
    agent: str
    answered_at: datetime
    offered_at: datetime | None = None  # the offer that ends as answered, if any
    events: Events = ()


@dataclass(frozen=True, slots=True)
class CloseCall:
    """Close the record. Durations are derived when the write-behind saw the call's
    arrival and answer (``derived``); else the flush reads them from the row."""

    call_id: uuid.UUID
    ended_at: datetime
    disposition: Disposition
    hangup_by: HangupBy | None = None
    caller_sip_code: int | None = None
    agent_sip_code: int | None = None
    rtp_quality: Mapping[str, Any] | None = None
    recording_stereo: str | None = None
    recording_caller: str | None = None
    recording_agent: str | None = None
    voicemail_box: str | None = None  # the box of the message the caller left, if any
    hold_count: int | None = None  # in-call control (docs/in-call.md)
    hold_seconds: float | None = None
    monitors: list[Any] | None = None
    recording_pauses: list[Any] | None = None
    segments: list[Any] | None = None  # after a transfer (gateway/control/transfer_segments.py)
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    derived: bool = False
    events: Events = ()


@dataclass(frozen=True, slots=True)
class AgentState:
    agent: str
    state: str
    at: datetime
    reason: str | None = None
    events: Events = ()


@dataclass(frozen=True, slots=True)
class EmitEvents:
    """Events that go with no other change."""

    events: Events


WriteOp = (
    OpenCall | SetQueue | StartOffer | EndOffer | Answered | CloseCall | AgentState | EmitEvents
)

_KINDS: dict[str, type[WriteOp]] = {
    cls.__name__: cls
    for cls in (
        OpenCall,
        SetQueue,
        StartOffer,
        EndOffer,
        Answered,
        CloseCall,
        AgentState,
        EmitEvents,
    )
}


def durations(
    arrived_at: datetime, answered_at: datetime | None, queued: bool, ended_at: datetime
) -> tuple[float | None, float | None]:
    """(wait, talk) as CdrStore.record_ended derives them: wait is arrival to answer
    (or to the end, for a queued call never answered); talk is answer to end."""
    if answered_at is not None:
        return (answered_at - arrived_at).total_seconds(), (ended_at - answered_at).total_seconds()
    if queued:
        return (ended_at - arrived_at).total_seconds(), None
    return None, None


# ---------------------------------------------------------------- JSON (journal, dead letters)
def _default(value: object) -> object:
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$u": str(value)}
    if isinstance(value, OutboxMessage):
        return {"$e": {f.name: getattr(value, f.name) for f in fields(value)}}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot journal {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        if "$t" in obj:
            return datetime.fromisoformat(obj["$t"])
        if "$u" in obj:
            return uuid.UUID(obj["$u"])
        if "$e" in obj:
            return OutboxMessage(**obj["$e"])
    return obj


def as_dict(op: WriteOp) -> dict[str, Any]:
    """The op as a dict of its fields plus ``kind`` (serialise it with :func:`dumps`)."""
    data: dict[str, Any] = {"kind": type(op).__name__}
    data.update((f.name, getattr(op, f.name)) for f in fields(op))
    return data


def from_dict(data: Mapping[str, Any]) -> WriteOp:
    """The op back from :func:`as_dict` (as read back by :func:`parse`)."""
    values = dict(data)
    cls = _KINDS[values.pop("kind")]
    values["events"] = tuple(values.get("events", ()))
    return cls(**values)


def dumps(obj: object) -> str:
    """One JSON line: datetimes, UUIDs and events tagged so :func:`parse` restores them."""
    return json.dumps(obj, default=_default, separators=(",", ":"))


def parse(text: str) -> Any:
    """JSON with the tagged values turned back into datetimes, UUIDs and events."""
    return json.loads(text, object_hook=_hook)
