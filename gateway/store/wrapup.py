"""The agent desktop's reads and writes of call records: a call's wrap-up (code and
notes, who and when) and a caller's history for the screen-pop.

The wrap-up columns (migrations 0008 and 0012) belong to this module alone: the write-behind
never touches them, so a wrap-up saved while the call is still being written is not
overwritten. Each agent that took the call (the first, and a transfer's target) has
its own wrap-up. Whether an agent may write a call is decided by the caller of `save`
(the API, from the live call), or here from the row (`agent`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.store.cdr import _call_record
from gateway.store.engine import Database
from gateway.store.models import Call
from gateway.store.records import CallRecord, NotFoundError

NOTES_MAX = 2000  # characters of free text per call


def record_agents(agent: str | None, segments: list[Any] | None) -> list[str]:
    """Who took a recorded call: the answering agent, then each transfer segment's."""
    found = [agent] if agent else []
    found += [str(seg["agent"]) for seg in segments or () if seg.get("agent")]
    return list(dict.fromkeys(found))


def wrapup_of(record: CallRecord, agent: str | None) -> tuple[str | None, str | None]:
    """(code, notes) of `agent`'s wrap-up on the record: its entry in `wrapups`, else the
    record's columns when it is the first agent (or no agent is named)."""
    for w in record.wrapups or ():
        if w.get("agent") == agent:
            return w.get("code"), w.get("notes")
    if agent is None or agent == record.agent:
        return record.wrapup_code, record.wrapup_notes
    return None, None


class WrapupStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def call(self, call_id: uuid.UUID) -> CallRecord | None:
        async with self._db.reading() as session:
            row = await session.get(Call, call_id)
            return None if row is None else _call_record(row)

    async def save(
        self,
        call_id: uuid.UUID,
        code: str | None,
        notes: str | None,
        by: str,
        at: datetime,
        *,
        agent: str | None,
    ) -> CallRecord:
        """Set `by`'s wrap-up of the call (a second save of the same agent replaces its
        own): kept per agent in `wrapups`, the first (answering) agent's also in the
        `wrapup_*` columns. `agent`: the row must be a call that agent took, first or
        after a transfer (None: no check). NotFoundError when there is no such row."""
        async with self._db.transaction() as session:
            row = await session.get(Call, call_id)
            if row is None or (
                agent is not None and agent not in record_agents(row.agent, row.segments)
            ):
                raise NotFoundError(f"no call {call_id}")
            if by == row.agent or row.agent is None:
                row.wrapup_code, row.wrapup_notes = code, notes
                row.wrapup_by, row.wrapup_at = by, at
            entry = {"agent": by, "code": code, "notes": notes, "at": at.isoformat()}
            others = [w for w in row.wrapups or () if w.get("agent") != by]
            row.wrapups = [*others, entry]  # a new list: the JSON column sees the change
            await session.flush()
            return _call_record(row)

    async def history(
        self, caller: str, since: datetime, *, exclude: uuid.UUID | None = None, limit: int = 10
    ) -> tuple[CallRecord, ...]:
        """The caller's calls that arrived at or after `since`, newest first."""
        query = select(Call).where(Call.caller == caller, Call.arrived_at >= since)
        if exclude is not None:
            query = query.where(Call.id != exclude)
        query = query.order_by(Call.arrived_at.desc(), Call.id.desc()).limit(limit)
        async with self._db.reading() as session:
            return tuple(_call_record(r) for r in (await session.scalars(query)).all())

    async def known_name(self, caller: str) -> str | None:
        """The display name the caller's latest call that had one came with."""
        query = (
            select(Call.caller_name)
            .where(Call.caller == caller, Call.caller_name.is_not(None))
            .order_by(Call.arrived_at.desc())
            .limit(1)
        )
        async with self._db.reading() as session:
            name: str | None = await session.scalar(query)
            return name
