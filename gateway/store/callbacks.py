"""Queued callbacks in the database: one row per original call, its place and its state.

    pending --(an agent took it)--> dialing --(customer answered)--> completed
       ^  |                            |
       |  +--(supervisor)--> cancelled +--(no answer, busy...)--> pending (a retry, with
       +---------------------------------------------------------- not_before) or failed

The row is the truth a restarted gateway rebuilds its ACD entries from (`active()`):
`call_id` is unique, so a callback cannot be stored twice, and the ACD entry is named by
the row's id, so it cannot be queued twice either. A row found `dialing` at start-up was
cut off mid-attempt: it goes back in line (the attempt counts). Every move writes its
event in the same transaction (catalogue: callback.*). Moves are pure functions of the
row and `now`; the store refuses a move from the wrong state (`CallbackConflict`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from gateway.events import catalogue as ce
from gateway.store.engine import Database
from gateway.store.models import Callback
from gateway.store.outbox import add_events
from gateway.store.records import CallbackState, NotFoundError, StoreError

ACTIVE: tuple[CallbackState, ...] = ("pending", "dialing")


class CallbackConflict(StoreError):
    """The callback is not in a state that allows this (e.g. cancelling a finished one)."""


@dataclass(frozen=True, slots=True)
class CallbackTask:
    id: uuid.UUID
    call_id: uuid.UUID  # the original call
    queue: str
    number: str  # E.164
    did: str | None
    priority: int
    arrived_at: datetime  # the original arrival: the place in line
    requested_at: datetime
    state: CallbackState = "pending"
    not_before: datetime | None = None
    attempts: int = 0
    last_result: str | None = None
    outbound_call_id: uuid.UUID | None = None
    agent: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackFilter:
    states: tuple[CallbackState, ...] = ()  # empty: every state
    queue: str | None = None
    since: datetime | None = None  # requested at or after
    until: datetime | None = None


# ------------------------------------------------------------------ moves (pure)
def _need(task: CallbackTask, *states: CallbackState) -> None:
    if task.state not in states:
        raise CallbackConflict(f"callback {task.id} is {task.state}, not {' or '.join(states)}")


def cancel(task: CallbackTask, by: str, now: datetime) -> CallbackTask:
    _need(task, "pending")
    return replace(task, state="cancelled", updated_at=now, updated_by=by)


def reschedule(task: CallbackTask, at: datetime, by: str, now: datetime) -> CallbackTask:
    """Dial no earlier than `at`; the place in line (original arrival) is kept."""
    _need(task, "pending")
    return replace(task, not_before=at, updated_at=now, updated_by=by)


def dialing(task: CallbackTask, agent: str, outbound: uuid.UUID, now: datetime) -> CallbackTask:
    _need(task, "pending")
    return replace(task, state="dialing", attempts=task.attempts + 1, agent=agent,
                   outbound_call_id=outbound, updated_at=now, updated_by=None)  # fmt: skip


def completed(task: CallbackTask, now: datetime) -> CallbackTask:
    _need(task, "dialing")
    return replace(task, state="completed", last_result="answered", updated_at=now)


def attempt_failed(
    task: CallbackTask, result: str, retry_at: datetime | None, now: datetime
) -> CallbackTask:
    """Back in line for a retry at `retry_at`, or failed for good (None)."""
    _need(task, "dialing")
    state: CallbackState = "failed" if retry_at is None else "pending"
    return replace(task, state=state, last_result=result, not_before=retry_at, updated_at=now)


def interrupted(task: CallbackTask, now: datetime) -> CallbackTask:
    """Found dialing at start-up: that attempt was cut off; back in line."""
    if task.state != "dialing":
        return task
    return replace(task, state="pending", last_result="interrupted", updated_at=now)


# ------------------------------------------------------------------ rows
_FIELDS = tuple(CallbackTask.__dataclass_fields__)


def _task(row: Callback) -> CallbackTask:
    return CallbackTask(**{name: getattr(row, name) for name in _FIELDS})


def _store(row: Callback, task: CallbackTask) -> None:
    for name in _FIELDS:
        setattr(row, name, getattr(task, name))


def _where(query: Select[Any], f: CallbackFilter) -> Select[Any]:
    if f.states:
        query = query.where(Callback.state.in_(f.states))
    if f.queue is not None:
        query = query.where(Callback.queue == f.queue)
    if f.since is not None:
        query = query.where(Callback.requested_at >= f.since)
    if f.until is not None:
        query = query.where(Callback.requested_at < f.until)
    return query


Events = Callable[[CallbackTask], Sequence[ce.Event]]


class CallbackStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, task: CallbackTask, events: Sequence[ce.Event], at: datetime) -> None:
        """A new callback; refused (CallbackConflict) if its call already has one."""
        try:
            async with self._db.transaction() as session:
                row = Callback()
                _store(row, replace(task, updated_at=task.updated_at or at))
                session.add(row)
                await session.flush()
                await add_events(session, [ce.build(e, at=at) for e in events])
        except IntegrityError:
            raise CallbackConflict(f"call {task.call_id} has a callback already") from None

    async def get(self, callback_id: uuid.UUID) -> CallbackTask:
        async with self._db.reading() as session:
            row = await session.get(Callback, callback_id)
            if row is None:
                raise NotFoundError(f"no callback {callback_id}")
            return _task(row)

    async def search(self, f: CallbackFilter, *, limit: int = 100) -> list[CallbackTask]:
        """Oldest place first (the service order), then id."""
        query = _where(select(Callback), f).order_by(Callback.arrived_at, Callback.id)
        async with self._db.reading() as session:
            return [_task(r) for r in (await session.scalars(query.limit(limit))).all()]

    async def active(self, now: datetime) -> list[CallbackTask]:
        """Every callback still to be placed, for a starting gateway; `dialing` ones were
        interrupted by the restart and are put back to `pending`."""
        async with self._db.transaction() as session:
            query = select(Callback).where(Callback.state.in_(ACTIVE))
            rows = (await session.scalars(query.order_by(Callback.arrived_at))).all()
            out = []
            for row in rows:
                task = interrupted(_task(row), now)
                _store(row, task)
                out.append(task)
            return out

    async def move(
        self,
        callback_id: uuid.UUID,
        step: Callable[[CallbackTask], CallbackTask],
        events: Events,
        at: datetime,
    ) -> CallbackTask:
        """Apply one move and write its events, in one transaction."""
        async with self._db.transaction() as session:
            row = await session.get(Callback, callback_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no callback {callback_id}")
            after = step(_task(row))
            _store(row, after)
            await add_events(session, [ce.build(e, at=at) for e in events(after)])
            return after
