"""Call search and the recordings list: filtered, sorted, keyset-paged reads of `calls`.

Theory of operation: a page is ordered by ``(key, id)`` where ``key`` is the sort
column (``arrived_at``, or ``wait_seconds`` / ``talk_seconds`` with NULL read as -1 so
unanswered calls sort first ascending) and ``id`` breaks ties. The cursor is the last
row's ``(sort, key, id)``, base64url-encoded JSON: the next page is the rows strictly
after it in that order. Rows inserted meanwhile land before or after the cursor, never
shift a page (no OFFSET), so paging is stable under inserts. SQL is SQLAlchemy Core
expressions only (``coalesce``, row comparisons spelled out as OR/AND), the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select

from gateway.store.cdr import _call_record, _offer_record
from gateway.store.engine import Database
from gateway.store.evaluations import evaluation_condition
from gateway.store.models import Call, CallOffer
from gateway.store.records import CallRecord, Disposition, OfferRecord

Sort = Literal["arrived_at", "-arrived_at", "wait", "-wait", "talk", "-talk"]
SORTS: tuple[str, ...] = get_args(Sort)
RecordingRole = Literal["stereo", "caller", "agent", "voicemail"]
RECORDING_ROLES: tuple[str, ...] = get_args(RecordingRole)


class InvalidQuery(ValueError):
    """A search the store cannot serve (a cursor it did not issue, an empty range)."""


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Every field optional; `since` inclusive, `until` exclusive (on `arrived_at`).

    `min_talk`/`max_talk`: the call's duration as talked (answer to end, seconds),
    both inclusive; a bound leaves out unanswered calls (they have no talk time).
    `min_score`/`max_score`: some submitted QA evaluation scores in that range
    (percent, inclusive); `not_evaluated`: no submitted evaluation yet (see
    gateway.store.evaluations.evaluation_condition)."""

    since: datetime | None = None
    until: datetime | None = None
    did: str | None = None
    caller: str | None = None
    queue: str | None = None
    agent: str | None = None
    disposition: Disposition | None = None
    with_recording: bool = False
    min_talk: float | None = None
    max_talk: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    not_evaluated: bool = False


@dataclass(frozen=True, slots=True)
class CallPage:
    calls: tuple[CallRecord, ...]
    next_cursor: str | None  # None: this was the last page (for now)


@dataclass(frozen=True, slots=True)
class RecordingFile:
    role: RecordingRole
    size: int | None  # bytes; None: the file is gone from disk


@dataclass(frozen=True, slots=True)
class RecordingEntry:
    call: CallRecord
    files: tuple[RecordingFile, ...]


def recording_paths(call: CallRecord) -> dict[RecordingRole, str]:
    """The recording files of a call by role (a voicemail is the caller's file)."""
    voicemail = call.disposition in ("voicemail", "closed")
    paths: dict[RecordingRole, str | None] = {
        "stereo": call.recording_stereo,
        "caller": call.recording_caller,
        "agent": call.recording_agent,
        "voicemail": call.recording_caller if voicemail else None,
    }
    return {role: path for role, path in paths.items() if path}


def _sort_key(sort: str) -> tuple[ColumnElement[Any], bool]:
    key: ColumnElement[Any]
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name == "arrived_at":
        key = Call.arrived_at.expression
    else:
        column = Call.wait_seconds if name == "wait" else Call.talk_seconds
        key = func.coalesce(column, literal(-1.0))
    return key, descending


def _encode(sort: str, key: Any, call_id: uuid.UUID) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([sort, value, call_id.hex]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, hex_id = json.loads(raw)
        call_id = uuid.UUID(hex_id)
        if cursor_sort != sort:
            raise InvalidQuery(f"the cursor is for sort={cursor_sort}, not sort={sort}")
        if sort.lstrip("-") == "arrived_at":
            return datetime.fromisoformat(value).astimezone(UTC), call_id
        return float(value), call_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        if isinstance(exc, InvalidQuery):
            raise
        raise InvalidQuery("invalid cursor: pass the next_cursor of a previous page") from None


def _where(query: Select[Any], f: CallFilter) -> Select[Any]:
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise InvalidQuery("`from` must be before `to`")
    if f.min_talk is not None and f.max_talk is not None and f.min_talk > f.max_talk:
        raise InvalidQuery("the minimum duration must not be above the maximum")
    if f.min_score is not None and f.max_score is not None and f.min_score > f.max_score:
        raise InvalidQuery("the minimum score must not be above the maximum")
    equal = {
        Call.did: f.did,
        Call.caller: f.caller,
        Call.queue: f.queue,
        Call.agent: f.agent,
        Call.disposition: f.disposition,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(Call.arrived_at >= f.since)
    if f.until is not None:
        query = query.where(Call.arrived_at < f.until)
    if f.with_recording:
        query = query.where(
            or_(
                Call.recording_stereo.is_not(None),
                Call.recording_caller.is_not(None),
                Call.recording_agent.is_not(None),
            )
        )
    if f.min_talk is not None:
        query = query.where(Call.talk_seconds >= f.min_talk)
    if f.max_talk is not None:
        query = query.where(Call.talk_seconds <= f.max_talk)
    scored = evaluation_condition(
        min_score=f.min_score, max_score=f.max_score, not_evaluated=f.not_evaluated
    )
    if scored is not None:
        query = query.where(scored)
    return query


class CallSearch:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        """The call records' database (voicemail messages are call records too)."""
        return self._db

    async def search(
        self,
        f: CallFilter,
        *,
        sort: Sort = "-arrived_at",
        limit: int = 50,
        cursor: str | None = None,
    ) -> CallPage:
        key, descending = _sort_key(sort)
        query = _where(select(Call), f)
        if cursor is not None:
            value, after_id = _decode(cursor, sort)
            if descending:
                query = query.where(or_(key < value, and_(key == value, Call.id < after_id)))
            else:
                query = query.where(or_(key > value, and_(key == value, Call.id > after_id)))
        order = (key.desc(), Call.id.desc()) if descending else (key.asc(), Call.id.asc())
        query = query.order_by(*order).limit(limit + 1)
        async with self._db.reading() as session:
            rows = [_call_record(r) for r in (await session.scalars(query)).all()]
        more, rows = len(rows) > limit, rows[:limit]
        next_cursor = _encode(sort, _key_of(rows[-1], sort), rows[-1].id) if more else None
        return CallPage(tuple(rows), next_cursor)

    async def call(self, call_id: uuid.UUID) -> tuple[CallRecord, tuple[OfferRecord, ...]] | None:
        """A call record with its offers, oldest offer first."""
        offers = select(CallOffer).where(CallOffer.call_id == call_id).order_by(CallOffer.id)
        async with self._db.reading() as session:
            row = await session.get(Call, call_id)
            if row is None:
                return None
            found = (await session.scalars(offers)).all()
            return _call_record(row), tuple(_offer_record(o) for o in found)

    async def recordings(
        self, f: CallFilter, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[tuple[RecordingEntry, ...], str | None]:
        """Calls with a recording, newest first, with each file's role and size."""
        page = await self.search(
            CallFilter(**{**_fields(f), "with_recording": True}),
            sort="-arrived_at",
            limit=limit,
            cursor=cursor,
        )
        entries = tuple(
            RecordingEntry(
                call,
                tuple(
                    RecordingFile(role, _size(path)) for role, path in recording_paths(call).items()
                ),
            )
            for call in page.calls
        )
        return entries, page.next_cursor


def _fields(f: CallFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in CallFilter.__slots__}


def _key_of(call: CallRecord, sort: str) -> Any:
    name = sort.lstrip("-")
    if name == "arrived_at":
        return call.arrived_at
    value = call.wait_seconds if name == "wait" else call.talk_seconds
    return -1.0 if value is None else value


def _size(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None
