"""The transactional outbox: events are written with the change they describe, then
published at least once by the events publisher (a later issue), which reads
:meth:`OutboxStore.pending` and calls :meth:`OutboxStore.mark_published`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.engine import Database
from gateway.store.models import Outbox
from gateway.store.records import OutboxMessage


def add_events(session: AsyncSession, events: Iterable[OutboxMessage]) -> None:
    """Stage ``events`` in the caller's transaction."""
    session.add_all(
        Outbox(
            id=e.id,
            type=e.type,
            subject=e.subject,
            payload=dict(e.payload),
            created_at=e.created_at,
        )
        for e in events
    )


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, events: Sequence[OutboxMessage]) -> None:
        """Store events that go with no other change (e.g. a periodic snapshot)."""
        async with self._db.transaction() as session:
            add_events(session, events)

    async def pending(self, limit: int = 100) -> tuple[OutboxMessage, ...]:
        """Unpublished events, oldest first."""
        query = (
            select(Outbox)
            .where(Outbox.published_at.is_(None))
            .order_by(Outbox.created_at, Outbox.id)
            .limit(limit)
        )
        async with self._db.transaction() as session:
            rows = (await session.scalars(query)).all()
        return tuple(
            OutboxMessage(
                type=r.type, subject=r.subject, payload=r.payload, created_at=r.created_at, id=r.id
            )
            for r in rows
        )

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
        """Delete events published before ``before``; returns how many."""
        statement = delete(Outbox).where(
            Outbox.published_at.is_not(None), Outbox.published_at < before
        )
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]
