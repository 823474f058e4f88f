"""The transactional outbox: events are written with the change they describe, then
published at least once by gateway.events.publisher and served for replay by
gateway.events.replay.

Order: ``position`` (an autoincrement primary key) is assigned at insert. Writers are
one at a time on both backends (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the writer
advisory lock, see engine.py), and a row's position is drawn and committed while its
transaction holds that lock, so position order is commit order: a replay cursor never
steps over a row that commits a moment later.

Sequence: each subject's events are numbered 1, 2, 3... by :func:`add_events` in the
caller's transaction: one ``MAX(sequence)`` query for all the subjects of the batch, then
the rows go in as one multi-row INSERT. Writers are serialised (above), so no two rows get
the same number; the purge keeps each subject's newest row, so numbering never restarts.

Retention: rows stay until :meth:`OutboxStore.purge_published` deletes them (published,
older than the retention, not their subject's newest); replay serves every row still
here, published or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.engine import Database
from gateway.store.models import Outbox
from gateway.store.records import NotFoundError, OutboxMessage
from gateway.store.types import after as past


async def add_events(session: AsyncSession, events: Iterable[OutboxMessage]) -> None:
    """Stage ``events`` in the caller's transaction (in order: positions follow it),
    numbering each subject's events after the highest number it already has."""
    batch = list(events)
    if not batch:
        return
    subjects = {e.subject for e in batch if e.subject is not None and not e.sequence}
    highest: dict[str, int] = {}
    if subjects:
        query = (
            select(Outbox.subject, func.max(Outbox.sequence))
            .where(Outbox.subject.in_(subjects))
            .group_by(Outbox.subject)
        )
        highest = {str(s): int(n or 0) for s, n in (await session.execute(query)).all()}
    rows = []
    for e in batch:
        sequence = e.sequence
        if not sequence and e.subject is not None:
            sequence = highest[e.subject] = highest.get(e.subject, 0) + 1
        rows.append(
            Outbox(
                id=e.id,
                type=e.type,
                subject=e.subject,
                queue=e.queue,
                sequence=sequence,
                payload=dict(e.payload),
                created_at=e.created_at,
            )
        )
    session.add_all(rows)


_COLUMNS = (
    Outbox.type,
    Outbox.payload,
    Outbox.created_at,
    Outbox.subject,
    Outbox.id,
    Outbox.published_at,
    Outbox.sequence,
    Outbox.queue,
    Outbox.position,
)


def _message(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        type=row.type,
        payload=row.payload,
        created_at=row.created_at,
        subject=row.subject,
        id=row.id,
        published_at=row.published_at,
        sequence=row.sequence,
        queue=row.queue,
        position=row.position,
    )


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, events: Sequence[OutboxMessage]) -> None:
        """Store events that go with no other change (e.g. a periodic snapshot)."""
        async with self._db.transaction() as session:
            await add_events(session, events)

    async def pending(
        self, limit: int = 100, after: int | None = None
    ) -> tuple[OutboxMessage, ...]:
        """Unpublished events in position order (past position ``after``, if given:
        the publisher reads on while earlier rows await their acknowledgement)."""
        query = (
            select(*_COLUMNS)
            .where(Outbox.published_at.is_(None))
            .order_by(Outbox.position)
            .limit(limit)
        )
        if after is not None:
            query = query.where(past(Outbox.position, after))
        return await self._fetch(query)

    async def pending_through(
        self, limit: int, after: int | None
    ) -> tuple[tuple[OutboxMessage, ...], int]:
        """Unpublished events past ``after`` up to the highest position committed at the
        read, and that position (0 for an empty table): when fewer than ``limit`` come
        back, every row up to it has been seen (positions are commit order), so the
        publisher may take over from memory after it (gateway/events/handoff.py)."""
        async with self._db.reading() as session:
            high = int(await session.scalar(select(func.max(Outbox.position))) or 0)
            query = (
                select(*_COLUMNS)
                .where(Outbox.published_at.is_(None), Outbox.position <= high)
                .order_by(Outbox.position)
                .limit(limit)
            )
            if after is not None:
                query = query.where(past(Outbox.position, after))
            rows = (await session.execute(query)).all()
        return tuple(_message(r) for r in rows), high

    async def count_pending(self) -> int:
        query = select(func.count()).select_from(Outbox).where(Outbox.published_at.is_(None))
        async with self._db.reading() as session:
            return int((await session.execute(query)).scalar_one())

    async def mark_published(self, ids: Iterable[uuid.UUID], at: datetime) -> int:
        """Mark events as published; returns how many were still pending."""
        id_list = list(ids)
        if not id_list:
            return 0
        statement = (
            update(Outbox)
            .where(Outbox.id.in_(id_list), Outbox.published_at.is_(None))
            .values(published_at=at)
        )
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def purge_published(self, before: datetime) -> int:
        """Delete events published before ``before`` except each subject's newest (it
        carries the subject's sequence on); returns how many."""
        newest = select(func.max(Outbox.position)).group_by(Outbox.subject)
        statement = delete(Outbox).where(
            Outbox.published_at.is_not(None),
            Outbox.published_at < before,
            Outbox.position.not_in(newest.scalar_subquery()),
        )
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def page(
        self,
        after: uuid.UUID | int | None = None,
        type: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> tuple[list[OutboxMessage], int | None]:
        """Retained events after the cursor, in position order, and the next cursor.

        ``after`` is a position or an event id (the event itself is excluded); an id no
        longer retained raises :class:`NotFoundError`. The next cursor is the last
        position returned when the page is full, else None (caught up).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = select(*_COLUMNS).order_by(Outbox.position).limit(limit)
        if isinstance(after, uuid.UUID):
            query = query.where(Outbox.position > await self._position_of(after))
        elif after is not None:
            query = query.where(past(Outbox.position, after))
        if type is not None:
            query = query.where(Outbox.type == type)
        if subject is not None:
            query = query.where(Outbox.subject == subject)
        events = list(await self._fetch(query))
        last = events[-1].position if len(events) == limit else None
        return events, last

    async def _position_of(self, event_id: uuid.UUID) -> int:
        async with self._db.reading() as session:
            position = await session.scalar(select(Outbox.position).where(Outbox.id == event_id))
        if position is None:
            raise NotFoundError(f"event {event_id} is not retained (purged or never existed)")
        return int(position)

    async def _fetch(self, query: Select[Any]) -> tuple[OutboxMessage, ...]:
        """Plain rows, not ORM objects: this is the publisher's hot path."""
        async with self._db.reading() as session:
            rows = (await session.execute(query)).all()
        return tuple(_message(r) for r in rows)
