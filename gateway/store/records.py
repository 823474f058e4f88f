"""What the store hands out and takes in: frozen dataclasses, never ORM rows.

::

    StoreError
    └── NotFoundError      a call / offer id the database does not know
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

Disposition = Literal[
    "answered",
    "abandoned",
    "abandoned_ringing",
    "overflow",
    "closed",
    "unknown_did",
    "voicemail",
    "failed",
    "callback",  # the caller asked to be called back (docs/callback.md)
]
OfferResult = Literal["answered", "no_answer", "rejected", "cancelled", "failed"]
DISPOSITIONS: tuple[str, ...] = get_args(Disposition)
OFFER_RESULTS: tuple[str, ...] = get_args(OfferResult)
CallbackState = Literal["pending", "dialing", "completed", "failed", "cancelled"]
CALLBACK_STATES: tuple[str, ...] = get_args(CallbackState)
HangupBy = Literal["caller", "agent", "system"]


class StoreError(Exception):
    """Base class of the store's own errors (database errors pass through as SQLAlchemy's)."""


class NotFoundError(StoreError, LookupError):
    """No row with that id."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An event to publish (CloudEvents ``type``/``subject``/``data``), stored in the same
    transaction as the change it reports; ``id`` is the CloudEvents id consumers dedupe on.

    ``created_at`` becomes the CloudEvents ``time``; ``sequence`` (0 = let the store
    number it) and ``position`` are set when the row is stored (see gateway/store/outbox.py).
    """

    type: str
    payload: Mapping[str, Any]
    created_at: datetime
    subject: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    published_at: datetime | None = None
    sequence: int = 0  # per subject, 1, 2, 3...; assigned by the store on insert
    queue: str | None = None  # for the topic (subscribe by queue)
    position: int | None = None  # global order, assigned by the database on insert


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One row of the CDR. Times are aware UTC datetimes; durations are seconds."""

    id: uuid.UUID
    sip_call_id: str
    arrived_at: datetime
    trunk: str | None = None
    did: str | None = None
    caller: str | None = None
    queue: str | None = None
    agent: str | None = None
    worker: str | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    disposition: Disposition | None = None
    hangup_by: HangupBy | None = None
    caller_sip_code: int | None = None
    agent_sip_code: int | None = None
    recording_stereo: str | None = None
    recording_caller: str | None = None
    recording_agent: str | None = None
    rtp_quality: Mapping[str, Any] | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    recording_failure: str | None = None  # why the recording is incomplete (null: it is not)
    caller_name: str | None = None  # the From display name (agent desktop)
    wrapup_code: str | None = None  # the agent's wrap-up (gateway/store/wrapup.py)
    wrapup_notes: str | None = None
    wrapup_by: str | None = None
    wrapup_at: datetime | None = None
    # in-call control (docs/in-call.md)
    hold_count: int | None = None
    hold_seconds: float | None = None
    monitors: list[Any] | None = None  # supervisor monitoring sessions
    recording_pauses: list[Any] | None = None  # PCI-paused spans, s from the recording's start
    segments: list[Any] | None = None  # agent connections after a transfer, with the chain
    wrapups: list[Any] | None = None  # every agent's wrap-up: {agent, code, notes, at}


@dataclass(frozen=True, slots=True)
class OfferRecord:
    id: int
    call_id: uuid.UUID
    agent: str
    queue: str | None
    offered_at: datetime
    ended_at: datetime | None = None
    result: OfferResult | None = None
    sip_code: int | None = None


@dataclass(frozen=True, slots=True)
class AgentStateRecord:
    agent: str
    state: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RoutingVersion:
    """One applied routing configuration: who, when, from where, and what changed."""

    version: int
    applied_at: datetime
    source: str
    author: str | None
    content_hash: str
    summary: str
    changes: tuple[Mapping[str, Any], ...] = ()
