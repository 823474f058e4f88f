"""Voicemail boxes: the messages callers left (calls with a `voicemail_box`) and their
state, `new -> listened -> handled` (reopen: back to `new`, or `listened` if it was).

The box is written with the call record (the write-behind's CloseCall); this module
reads the list and moves the state. Every step keeps who and when; "listened" is a
playback by a user (the audio route), "handled" an explicit action with an optional
note, written with a `voicemail.handled` event in the same transaction. The state moves
are pure (`listen`, `handle`, `reopen`) and take `now`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, select, tuple_

from gateway.events import catalogue as ce
from gateway.store.engine import Database
from gateway.store.models import AgentQueue, Call
from gateway.store.outbox import add_events
from gateway.store.records import NotFoundError
from gateway.store.search import InvalidQuery

State = Literal["new", "listened", "handled"]
STATES: tuple[State, ...] = ("new", "listened", "handled")


@dataclass(frozen=True, slots=True)
class Message:
    call_id: uuid.UUID
    box: str
    queue: str | None
    caller: str | None
    did: str | None
    arrived_at: datetime
    duration_seconds: float | None  # from the call's start to its end (the recording's span)
    recording: str | None
    state: State
    listened_by: str | None = None
    listened_at: datetime | None = None
    handled_by: str | None = None
    handled_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MessageFilter:
    box: str | None = None
    boxes: frozenset[str] | None = None  # None: every box; an agent user: its queues'
    state: State | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    items: tuple[Message, ...]
    next_cursor: str | None


# ------------------------------------------------------------------ the state machine (pure)
def listen(m: Message, user: str, now: datetime) -> Message:
    """A playback: the first one of a new message makes it listened (who and when)."""
    if m.state != "new":
        return m
    return replace(m, state="listened", listened_by=user, listened_at=now)


def handle(m: Message, user: str, note: str | None, now: datetime) -> Message:
    """Explicitly handled; handling a handled message again replaces who, when, note."""
    return replace(m, state="handled", handled_by=user, handled_at=now, note=note)


def reopen(m: Message) -> Message:
    """Back to the inbox: listened if someone had played it, else new."""
    state: State = "listened" if m.listened_at is not None else "new"
    return replace(m, state=state, handled_by=None, handled_at=None, note=None)


# ------------------------------------------------------------------ rows
def _message(row: Call) -> Message:
    assert row.voicemail_box is not None
    start = row.answered_at or row.arrived_at
    duration = None if row.ended_at is None else max(0.0, (row.ended_at - start).total_seconds())
    state: State = row.voicemail_state or "new"  # type: ignore[assignment]
    return Message(
        row.id, row.voicemail_box, row.queue, row.caller, row.did, row.arrived_at, duration,
        row.recording_caller, state, row.voicemail_listened_by, row.voicemail_listened_at,
        row.voicemail_handled_by, row.voicemail_handled_at, row.voicemail_note,
    )  # fmt: skip


def _store(row: Call, m: Message) -> None:
    row.voicemail_state = None if m.state == "new" else m.state
    row.voicemail_listened_by, row.voicemail_listened_at = m.listened_by, m.listened_at
    row.voicemail_handled_by, row.voicemail_handled_at = m.handled_by, m.handled_at
    row.voicemail_note = m.note


def _encode(at: datetime, call_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{call_id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, call_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(call_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidQuery("cursor: not a cursor of this list") from None


def _where(query: Select[Any], f: MessageFilter) -> Select[Any]:
    query = query.where(Call.voicemail_box.is_not(None))
    if f.box is not None:
        query = query.where(Call.voicemail_box == f.box)
    if f.boxes is not None:
        query = query.where(Call.voicemail_box.in_(sorted(f.boxes)))
    if f.state == "new":
        query = query.where(Call.voicemail_state.is_(None))
    elif f.state is not None:
        query = query.where(Call.voicemail_state == f.state)
    if f.since is not None:
        query = query.where(Call.arrived_at >= f.since)
    if f.until is not None:
        query = query.where(Call.arrived_at < f.until)
    return query


class VoicemailStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages(
        self, f: MessageFilter, *, limit: int = 50, cursor: str | None = None
    ) -> MessagePage:
        """Newest first, keyset-paged on (arrival, call id): a page stays valid while
        messages are added."""
        query = _where(select(Call), f)
        if cursor is not None:
            at, after = _decode(cursor)
            query = query.where(tuple_(Call.arrived_at, Call.id) < tuple_(at, after))
        query = query.order_by(Call.arrived_at.desc(), Call.id.desc()).limit(limit + 1)
        async with self._db.reading() as session:
            rows = list((await session.scalars(query)).all())
        items = tuple(_message(r) for r in rows[:limit])
        more = len(rows) > limit
        return MessagePage(
            items, _encode(rows[limit - 1].arrived_at, rows[limit - 1].id) if more else None
        )

    async def agent_boxes(self, agent: str) -> frozenset[str]:
        """The boxes an agent user may see: those named after the queues it belongs to."""
        async with self._db.reading() as session:
            rows = await session.scalars(select(AgentQueue.queue).where(AgentQueue.agent == agent))
            return frozenset(rows.all())

    async def message(self, call_id: uuid.UUID) -> Message:
        async with self._db.reading() as session:
            row = await session.get(Call, call_id)
            if row is None or row.voicemail_box is None:
                raise NotFoundError(f"no voicemail message {call_id}")
            return _message(row)

    async def listened(self, call_id: uuid.UUID, user: str, now: datetime) -> Message:
        return await self._move(call_id, lambda m: listen(m, user, now))

    async def handled(
        self, call_id: uuid.UUID, user: str, note: str | None, now: datetime
    ) -> Message:
        def step(m: Message) -> Message:
            return handle(m, user, note, now)

        return await self._move(call_id, step, event_at=now)

    async def reopened(self, call_id: uuid.UUID) -> Message:
        return await self._move(call_id, reopen)

    async def _move(
        self,
        call_id: uuid.UUID,
        step: object,
        *,
        event_at: datetime | None = None,
    ) -> Message:
        assert callable(step)
        async with self._db.transaction() as session:
            row = await session.get(Call, call_id, with_for_update=True)
            if row is None or row.voicemail_box is None:
                raise NotFoundError(f"no voicemail message {call_id}")
            before = _message(row)
            after: Message = step(before)
            if after != before:
                _store(row, after)
            if event_at is not None:
                assert after.handled_by is not None
                data = ce.VoicemailHandled(str(call_id), after.box, after.handled_by, after.note)
                await add_events(session, [ce.build(data, at=event_at)])
            return after
